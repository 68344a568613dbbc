"""callqa's clustering diarizer vs. the naive baseline, side by side, on real recordings.

Files: the two-party phone call that ships in the pyannote.audio wheel, two 4-speaker AMI meeting
excerpts (scored inside their UEM) and the two-speaker stereo clip downmixed to mono (reference
built from Silero speech regions of each channel). Prints DER with overlap scored at collars
0.25 s and 0 s, the estimated vs. true number of speakers, and the median time per audio minute
over alternating runs (one embedder shared by both, loaded before timing). In the same runs the
transcription stage (whisper base) is timed on each file, and the diarizer's cost is reported
as a ratio of it.

Then two-channel calls, diarized the stereo way (one party per channel, leakage suppressed):
the shared stereo clip (reference from its manifest) and a call built from four real clips with
hybrid leakage at -20 dB (``bench/stereo_calls.py``).

    python bench/diarization.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import importlib.resources
import logging
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import numpy.typing as npt
import soundfile as sf
from pyannote.core import Annotation, Segment, Timeline

from models.speaker_embedding import SpeakerEmbedder
from models.vad import SileroVad, silero_info
from pipelines.core.types import Audio, Diarization
from pipelines.speakers.clustering import MEETING_OPTIONS, ClusteringDiarizer
from pipelines.speakers.diarizer import Diarizer, NaiveDiarizer
from pipelines.speakers.rttm import der, diarization_to_annotation, read_rttm, read_uem

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


@dataclass(frozen=True, slots=True)
class EvalFile:
    name: str
    audio: Audio
    reference: Annotation
    uem: Timeline | None


def _read(path: Path) -> tuple[npt.NDArray[np.float32], int]:
    samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return samples, int(rate)


def pyannote_sample() -> EvalFile:
    """The 30 s two-party telephone call shipped in ``pyannote/audio/sample``."""
    folder = importlib.resources.files("pyannote.audio") / "sample"
    samples, rate = _read(Path(str(folder / "sample.wav")))
    reference = read_rttm(Path(str(folder / "sample.rttm")))["sample"]
    return EvalFile("sample", Audio(samples[:, 0].copy(), rate), reference, None)


def ami(name: str) -> EvalFile:
    samples, rate = _read(DATA / "meeting" / f"{name}.wav")
    reference = read_rttm(DATA / "meeting" / "ami.rttm")[name]
    uem = read_uem(DATA / "meeting" / "ami.uem")[name]
    return EvalFile(name, Audio(samples[:, 0].copy(), rate), reference, uem)


def stereo_downmix(vad: SileroVad | None = None) -> EvalFile:
    """The stereo clip averaged to mono; each channel's Silero speech is one reference speaker."""
    samples, rate = _read(DATA / "stereo" / "two-speakers-stereo.wav")
    vad = vad or SileroVad()
    reference = Annotation(uri="stereo")
    for channel, speaker in ((0, "LEFT"), (1, "RIGHT")):
        for index, region in enumerate(vad.regions(Audio(samples[:, channel].copy(), rate))):
            reference[Segment(region.start, region.end), f"{speaker}{index}"] = speaker
    mono = samples.mean(axis=1).astype(np.float32)
    return EvalFile("stereo-downmix", Audio(mono, rate), reference, None)


def eval_files() -> list[EvalFile]:
    return [pyannote_sample(), ami("ami-tst00"), ami("ami-tst01"), stereo_downmix()]


def score(file: EvalFile, result: Diarization, collar: float) -> float:
    return der(file.reference, diarization_to_annotation(result, file.name), collar, file.uem)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    embedder = SpeakerEmbedder()
    diarizers: dict[str, Diarizer] = {
        "ours": ClusteringDiarizer(embedder=embedder),
        "naive": NaiveDiarizer(embedder, SileroVad(), silero_info()),
        "ours+overlap": ClusteringDiarizer(MEETING_OPTIONS, embedder=embedder),
    }
    from models.asr import DecodingOptions
    from pipelines.core.settings import get_settings
    from pipelines.registry import build_recognizer

    recognizer = build_recognizer(get_settings())
    transcription: list[float] = [0.0] * args.repeats
    files = eval_files()
    for file in files:  # warm-up: first calls pay one-off costs (ONNX session, torch kernels)
        for diarizer in diarizers.values():
            diarizer.diarize(file.audio)

    print(
        f"median of {args.repeats} alternating runs; DER with overlap scored; est = speakers found"
    )
    head = f"{'DER .25':>7} {'DER 0':>6} {'est':>3} {'s/min':>6}"
    print(f"{'':24}" + "".join(f" | {key:^24}" for key in diarizers))
    print(f"{'file':15} {'speakers':>8}" + f" | {head}" * len(diarizers))
    totals: dict[str, list[float]] = {key: [0.0] * args.repeats for key in diarizers}
    minutes = 0.0
    for file in files:
        times: dict[str, list[float]] = {key: [] for key in diarizers}
        results: dict[str, Diarization] = {}
        for repeat in range(args.repeats):
            start = time.perf_counter()
            recognizer.recognize(file.audio.samples, DecodingOptions())
            transcription[repeat] += time.perf_counter() - start
            for key, diarizer in diarizers.items():
                start = time.perf_counter()
                results[key] = diarizer.diarize(file.audio)
                times[key].append(time.perf_counter() - start)
                totals[key][repeat] += times[key][-1]
        file_minutes = file.audio.duration / 60
        minutes += file_minutes
        cells = []
        for key in diarizers:
            result = results[key]
            cells.append(
                f"{score(file, result, 0.25):7.3f} {score(file, result, 0.0):6.3f} "
                f"{len(result.speakers):3d} {statistics.median(times[key]) / file_minutes:6.2f}"
            )
        true = len(file.reference.labels())
        print(f"{file.name:15} {true:8d}" + "".join(f" | {cell}" for cell in cells))
    per_minute = ", ".join(
        f"{key} {statistics.median(t) / minutes:.2f} s/min" for key, t in totals.items()
    )
    print(f"all files ({minutes:.1f} audio min): {per_minute}")
    ratios = [ours / asr for ours, asr in zip(totals["ours"], transcription, strict=True)]
    print(
        f"transcription (whisper base) {statistics.median(transcription) / minutes:.2f} s/min; "
        f"diarization adds {statistics.median(ratios):.3f}x the transcription time (median)"
    )
    stereo_section()


def stereo_section() -> None:
    """Channel diarization of two-channel calls through the batch pipeline."""
    from bench.stereo_calls import PLACEMENTS, two_channel_call
    from pipelines.core.settings import get_settings
    from pipelines.registry import analyze_file, build_pipeline

    settings = get_settings()
    pipeline = build_pipeline(settings, analytics=False)
    clip = analyze_file(pipeline, DATA / "stereo" / "two-speakers-stereo.wav", settings=settings)
    built, reference = two_channel_call(DATA, PLACEMENTS, leak_db=-20.0)
    leaky = pipeline.analyze(built, layout="stereo-agent-left")
    clip_reference = Annotation()
    clip_reference[Segment(0.0, 4.9)] = "SPEAKER_00"
    clip_reference[Segment(0.36, 2.46)] = "SPEAKER_01"
    built_reference = Annotation()
    for start, end, speaker in reference:
        built_reference[Segment(start, end), len(built_reference)] = "SPEAKER_0" + speaker[-1]
    print("stereo (channel diarization, overlap scored): DER .25 / DER 0")
    for name, record, truth in (
        ("stereo clip", clip, clip_reference),
        ("4-clip call, -20 dB leak", leaky, built_reference),
    ):
        assert record.diarization is not None
        hypothesis = diarization_to_annotation(record.diarization, name)
        print(f"  {name:26} {der(truth, hypothesis, 0.25):.3f} / {der(truth, hypothesis, 0.0):.3f}")


if __name__ == "__main__":
    main()
