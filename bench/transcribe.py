"""callqa ``analyze`` vs. bare ``faster_whisper.WhisperModel.transcribe``, side by side.

Same model files, compute type, decoding options and audio for both. Prints per clip the
median time of each (alternating runs), the time ratio, and WER of both; then peak resident
memory of each measured in fresh child processes (load + one run), and the ratio.

    python bench/transcribe.py [--repeats 5] [--model base]
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.clips import Clip, manifest

# Our modules are imported inside functions, so that the bare child process loads only
# faster-whisper and its peak memory is the baseline's own.


def bare_model(model: str):  # type: ignore[no-untyped-def]
    """A plain faster-whisper model from the same weights directory and compute type."""
    from faster_whisper import WhisperModel

    from models.whisper import resolve_whisper

    return WhisperModel(resolve_whisper(model).location, device="cpu", compute_type="int8")


def run_bare(whisper, clip: Clip) -> str:  # type: ignore[no-untyped-def]
    from models.asr import DecodingOptions

    segments, _ = whisper.transcribe(str(clip.path), **DecodingOptions().transcribe_kwargs())
    return "".join(s.text for s in segments)


def our_pipeline(model: str):  # type: ignore[no-untyped-def]
    """The batch pipeline's transcription stages: decoding, VAD, whisper, language repair,
    guards and the record (diarization and analytics have benchmarks of their own)."""
    from pipelines.core.settings import get_settings
    from pipelines.registry import build_pipeline

    return build_pipeline(get_settings(), model=model, diarize=False, analytics=False)


def run_ours(pipeline, clip: Clip) -> str:  # type: ignore[no-untyped-def]
    from pipelines.core.settings import get_settings
    from pipelines.registry import analyze_file

    record = analyze_file(pipeline, clip.path, settings=get_settings())
    return " ".join(s.text for s in record.segments)


def child(mode: str, model: str, paths: list[str]) -> None:
    """Load one side, run every clip once, report peak RSS (MiB) as JSON."""
    clips = [c for c in manifest() if str(c.path) in paths]
    if mode == "bare":
        whisper = bare_model(model)
        for clip in clips:
            run_bare(whisper, clip)
    else:
        pipeline = our_pipeline(model)
        for clip in clips:
            run_ours(pipeline, clip)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"mode": mode, "peak_mib": peak}))


def peak_memory(mode: str, model: str, clips: list[Clip]) -> float:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            mode,
            "--model",
            model,
            *[str(c.path) for c in clips],
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(json.loads(out.strip().splitlines()[-1])["peak_mib"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--model", default="base")
    parser.add_argument("--memory-runs", type=int, default=3)
    parser.add_argument("--child", choices=("ours", "bare"))
    parser.add_argument("paths", nargs="*")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.child:
        child(args.child, args.model, args.paths)
        return

    from pipelines.transcribe.evaluation import error_rate

    clips = manifest()
    whisper = bare_model(args.model)
    pipeline = our_pipeline(args.model)
    for clip in clips:  # warm-up: first calls pay one-off costs
        run_bare(whisper, clip), run_ours(pipeline, clip)

    print(f"model {args.model}; median of {args.repeats} alternating runs per clip")
    print(f"{'clip':44} {'ours s':>7} {'bare s':>7} {'ratio':>6} {'WER ours':>9} {'WER bare':>9}")
    ours_total: list[float] = [0.0] * args.repeats
    bare_total: list[float] = [0.0] * args.repeats
    for clip in clips:
        ours_t, bare_t = [], []
        for repeat in range(args.repeats):
            start = time.perf_counter()
            ours_text = run_ours(pipeline, clip)
            ours_t.append(time.perf_counter() - start)
            start = time.perf_counter()
            bare_text = run_bare(whisper, clip)
            bare_t.append(time.perf_counter() - start)
            ours_total[repeat] += ours_t[-1]
            bare_total[repeat] += bare_t[-1]
        o, b = statistics.median(ours_t), statistics.median(bare_t)
        name = clip.path.relative_to(clip.path.parents[1])
        print(
            f"{name!s:44} {o:7.2f} {b:7.2f} {o / b:6.2f} "
            f"{error_rate(clip.reference, ours_text, clip.language):9.3f} "
            f"{error_rate(clip.reference, bare_text, clip.language):9.3f}"
        )
    ratios = [o / b for o, b in zip(ours_total, bare_total, strict=True)]
    print(
        f"all clips: ours {statistics.median(ours_total):.2f} s, bare "
        f"{statistics.median(bare_total):.2f} s, time ratio median {statistics.median(ratios):.3f}"
    )
    ours_mem = [peak_memory("ours", args.model, clips) for _ in range(args.memory_runs)]
    bare_mem = [peak_memory("bare", args.model, clips) for _ in range(args.memory_runs)]
    om, bm = statistics.median(ours_mem), statistics.median(bare_mem)
    print(f"peak RSS: ours {om:.0f} MiB, bare {bm:.0f} MiB, ratio {om / bm:.3f}")


if __name__ == "__main__":
    main()
