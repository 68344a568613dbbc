"""The whole batch pipeline (``callqa analyze``) against bare faster-whisper, side by side.

Audio (bench/pipeline_audio.py): calls of 1, 5 and 30 minutes built from one company's corpus
calls (``make corpus``), stereo (agent left) and its mono mix-down, in ``var/pipeline/audio``.

- **Bare**: ``WhisperModel.transcribe`` with the pipeline's model directory, int8, its
  ``cpu_threads``, ``models.asr.DecodingOptions().transcribe_kwargs()`` and sampling seed, the
  segments consumed. A **stereo** call is transcribed one channel after the other (faster-whisper's
  ``decode_audio(split_stereo=True)``): transcribing a two-party stereo call without losing
  overtalk takes both channels, so that is the fair baseline (a mix-down would be half the work
  and lose the party who talks over the other).
- **Pipeline**: everything ``callqa analyze`` does, with the company's policy and vocabulary
  (``samples/corpus/{policies,vocabulary}/COMPANY.yaml`` of this checkout), the layout (``mono``
  or ``stereo-agent-left``) and, with ``--translate``, ``--translate-to en``.
- **Cold**: a new process per run: ``callqa analyze FILE ... --json --out`` against
  ``python bench/pipeline.py --child bare FILE``; wall time, and peak RSS from ``os.wait4``.
- **Warm**: one child per side (``--child warm-bare`` / ``warm-pipeline``) loads once, runs a
  warm-up pass on the 0.5-minute call, then runs the file when the parent says so; the parent
  alternates (bare, ours, bare, ours ...). The pipeline child reports per-stage seconds (a
  ``TimingHook``; ``decode`` until its first report) and the analytics stages' own seconds.

    .venv/bin/python bench/pipeline.py [--lengths 1 5 30] [--layouts mono stereo] [--repeats 3]
        [--long-repeats 1] [--translate] [--company harbor-home] [--root CHECKOUT] [--name NAME]
        [--modes cold warm]

Output: var/pipeline/NAME/{summary.json,report.md,logs/,records/}. ``--root`` measures another
checkout on the same audio: its ``.venv`` (else this one with PYTHONPATH=CHECKOUT) for the cold
runs and the children, which import ``pipelines`` and ``models`` from ``CALLQA_BENCH_ROOT``.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import logging
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
ROOT = Path(os.environ.get("CALLQA_BENCH_ROOT") or HERE).resolve()
sys.path.insert(0, str(ROOT))  # a child measuring another checkout imports its code

logger = logging.getLogger("bench.pipeline")
LAYOUTS = {"mono": "mono", "stereo": "stereo-agent-left"}
LONG_MIN = 30.0  # calls this long get --long-repeats
ANALYTICS = {  # AnalyticsStages field: the name its own seconds are reported under
    "redactor": "pii",
    "acoustic_emotion": "emotion-voice",
    "text_sentiment": "emotion-text",
    "compliance": "compliance",
    "topics": "topics",
    "summarizer": "summary",
}

# --- children: our modules are imported inside functions, so the bare child loads only
# faster-whisper (and the small models.asr), and its peak memory is the baseline's own.


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bare_runner(args: argparse.Namespace) -> Callable[[str], dict[str, Any]]:
    """Plain faster-whisper: each channel of a stereo call in turn, a mono call as it is."""
    import ctranslate2
    from faster_whisper import WhisperModel, decode_audio

    import models.asr as asr

    seed = getattr(asr, "SAMPLING_SEED", None)
    if seed is not None:
        ctranslate2.set_random_seed(seed)
    model = WhisperModel(
        args.model_dir, device="cpu", compute_type="int8", cpu_threads=args.cpu_threads
    )
    kwargs = asr.DecodingOptions().transcribe_kwargs()

    def run(path: str) -> dict[str, Any]:
        inputs: Any = [path]
        if args.layout == "stereo":
            inputs = decode_audio(path, sampling_rate=16000, split_stereo=True)
        return {"segments": [sum(1 for _ in model.transcribe(a, **kwargs)[0]) for a in inputs]}

    return run


class Timed:
    """Forwards to a stage, adding the seconds of each public method call to ``times[name]``."""

    def __init__(self, target: object, name: str, times: dict[str, float]) -> None:
        self._target, self._name, self._times = target, name, times

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._target, attr)
        if attr.startswith("_") or not callable(value):
            return value

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return value(*args, **kwargs)
            finally:
                spent = time.perf_counter() - started
                self._times[self._name] = self._times.get(self._name, 0.0) + spent

        return timed


def accepted(function: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
    """The keyword arguments ``function`` takes (an older checkout may lack some)."""
    known = inspect.signature(function).parameters
    return {k: v for k, v in kwargs.items() if k in known}


def policy_and_words(args: argparse.Namespace) -> tuple[Any, Any]:
    """The policy and vocabulary as ``callqa analyze`` loads them (its ``_analyze``: no helper)."""
    from pipelines.compliance.policy import load_policy

    policy = load_policy(Path(args.policy)) if args.policy else None
    try:
        from pipelines.compliance.vocabulary import load_vocabulary, with_vocabulary
    except ImportError:
        return policy, None
    words = load_vocabulary(Path(args.vocabulary)) if args.vocabulary else None
    if policy is not None and words is not None:
        policy = with_vocabulary(policy, words)
    return policy, words


def stage_seconds(hook: Any, started: float) -> dict[str, float]:
    """Seconds per progress step; the time before the first report counts as ``decode``."""
    stages: dict[str, float] = dict(hook.durations())
    marks: dict[str, float] = getattr(hook, "started", {})
    if marks:
        first = min(marks, key=lambda step: marks[step])
        stages["decode"] = stages.get("decode", 0.0) + marks[first] - started
    return stages


def pipeline_runner(
    args: argparse.Namespace, built: list[Any] | None = None
) -> Callable[[str], dict[str, Any]]:
    """The batch pipeline built as ``callqa analyze`` builds it; runs through ``analyze_file``.
    ``built`` gets the pipeline (bench/transcribe_steps.py instruments it)."""
    from pipelines.core.settings import get_settings
    from pipelines.registry import analyze_file, build_pipeline

    try:
        from pipelines.core.progress import TimingHook
    except ImportError:
        TimingHook = None  # type: ignore[assignment,misc]
    try:
        from pipelines.record.schema import record_to_dict
    except ImportError:
        record_to_dict = None  # type: ignore[assignment]
    settings = get_settings()
    policy, words = policy_and_words(args)
    options = accepted(
        build_pipeline,
        language="auto",
        policy=policy,
        translate_to="en" if args.translate else None,
    )
    pipeline = build_pipeline(settings, **options)
    if built is not None:
        built.append(pipeline)
    if words is not None:
        pipeline.vocabulary = (*words.words, *pipeline.vocabulary)
    times: dict[str, float] = {}
    stages: Any = getattr(pipeline, "analytics", None)
    if dataclasses.is_dataclass(stages) and not isinstance(stages, type):
        known = {f.name for f in dataclasses.fields(stages)}
        used = [f for f in ANALYTICS if f in known and getattr(stages, f) is not None]
        timed: Any = dataclasses.replace(
            stages, **{f: Timed(getattr(stages, f), ANALYTICS[f], times) for f in used}
        )
        pipeline.analytics = timed
    analyze: Callable[..., Any] = analyze_file  # an older checkout's may take no hook
    hooked = TimingHook is not None and "hook" in inspect.signature(analyze).parameters

    def run(path: str) -> dict[str, Any]:
        times.clear()
        hook = TimingHook() if hooked and TimingHook is not None else None
        started = time.perf_counter()
        more = {"hook": hook} if hook is not None else {}
        layout = LAYOUTS[args.layout]
        record = analyze(pipeline, path, settings=settings, layout=layout, **more)
        if record_to_dict is not None:  # the CLI writes the record as JSON: part of "record"
            json.dumps(record_to_dict(record), ensure_ascii=False, indent=2)
        if hook is None:
            return {"stages": {}, "analytics": dict(times)}
        hook.stop()
        return {"stages": stage_seconds(hook, started), "analytics": dict(times)}

    return run


def worker_process_settings() -> None:
    """What ``callqa`` sets for its own process before loading models (its malloc arenas), as
    the measured checkout does it; bare whisper's process is left as a user's would be."""
    try:
        from models.device import limit_malloc_arenas
    except ImportError:  # a checkout from before
        return
    limit_malloc_arenas()


def child(args: argparse.Namespace) -> None:
    """A child process: one cold bare run, or a warm side driven through stdin/stdout."""
    if args.child == "bare":
        result = bare_runner(args)(args.audio)
        print(json.dumps({**result, "peak_mib": peak_mib()}), flush=True)
        return
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # a library's stray print goes to the log, not into the protocol

    def send(body: dict[str, Any]) -> None:
        protocol.write(json.dumps(body) + "\n")

    if args.child == "warm-pipeline":
        worker_process_settings()
    started = time.perf_counter()
    run = pipeline_runner(args) if args.child == "warm-pipeline" else bare_runner(args)
    loaded = time.perf_counter()
    first = run(args.warmup)  # the first pass pays the lazy loads: its stages show where
    send({"load_s": loaded - started, "warmup_s": time.perf_counter() - loaded, "warmup": first})
    for _ in sys.stdin:  # one line: one timed run of the file
        started = time.perf_counter()
        extra = run(args.audio)
        send({"wall_s": time.perf_counter() - started, **extra})
    send({"peak_mib": peak_mib()})


# --- parent


@dataclasses.dataclass(frozen=True)
class Checkout:
    """How to run a checkout: its interpreter and CLI, environment, and the analyze options
    its CLI knows."""

    root: Path
    python: str
    callqa: str
    env: dict[str, str]
    options: frozenset[str]

    @classmethod
    def of(cls, root: Path) -> Checkout:
        venv = root / ".venv" / "bin"
        python = str(venv / "python") if (venv / "python").exists() else sys.executable
        own = Path(sys.executable).with_name("callqa")
        callqa = str(venv / "callqa") if (venv / "callqa").exists() else str(own)
        env = os.environ | {"PYTHONPATH": str(root), "CALLQA_BENCH_ROOT": str(root)}
        env |= {"HF_HUB_OFFLINE": "1", "PYANNOTE_METRICS_ENABLED": "0"}
        env.setdefault("CALLQA_MODEL_CACHE", str(HERE / ".venv" / "callqa-models"))
        shown = subprocess.run(
            [callqa, "analyze", "--help"], env=env, cwd=root, capture_output=True, text=True
        ).stdout
        known = {o for o in ("--policy", "--vocabulary", "--translate-to") if o in shown}
        return cls(root, python, callqa, env, frozenset(known))


def measure(
    checkout: Checkout,
    audio: Path,
    warmup: Path,
    layout: str,
    repeats: int,
    args: argparse.Namespace,
    out: Path,
) -> dict[str, Any]:
    """Cold then warm runs of one call, bare and pipeline alternating."""
    from bench.pipeline_audio import WarmChild, run_measured

    logs, records = out / "logs", out / "records"
    logs.mkdir(parents=True, exist_ok=True)
    records.mkdir(parents=True, exist_ok=True)
    log, record = logs / f"{audio.stem}.log", records / f"{audio.stem}.json"
    given: list[str] = []  # the company's policy and words, if the checkout's CLI takes them
    for option, value in (("--policy", args.policy), ("--vocabulary", args.vocabulary)):
        if value is not None and option in checkout.options:
            given += [option, str(value)]
    side = ["--layout", layout, "--model-dir", args.model_dir, "--cpu-threads"]
    side += [str(args.cpu_threads), *given]
    analyze = [checkout.callqa, "analyze", str(audio), "--json", "--out", str(record)]
    analyze += ["--layout", LAYOUTS[layout], *given]
    if args.translate:
        if "--translate-to" not in checkout.options:
            logger.warning("%s's callqa analyze has no --translate-to", checkout.root)
        analyze += ["--translate-to", "en"]
        side.append("--translate")
    bare = [checkout.python, str(Path(__file__).resolve()), "--child", "bare", str(audio), *side]
    cold: dict[str, list[dict[str, Any]]] = {"bare": [], "pipeline": []}
    for repeat in range(repeats if "cold" in args.modes else 0):
        for name, command in (("bare", bare), ("pipeline", analyze)):
            result = run_measured(command, checkout.env, checkout.root, log)
            if result["exit"] != 0:
                logger.error("%s cold exit %d; see %s", name, result["exit"], log)
            cold[name].append(result)
            logger.info("cold %s %s #%d: %.1f s", name, audio.name, repeat + 1, result["wall_s"])
    warm: dict[str, Any] = {}
    children: list[WarmChild] = []
    if "warm" not in args.modes:
        return {"cold": cold, "warm": warm, "record": str(record)}
    try:
        for name in ("bare", "pipeline"):
            command = [*bare[:3], f"warm-{name}", str(audio), "--warmup", str(warmup), *side]
            children.append(WarmChild(command, checkout.env, checkout.root, log))
            children[-1].wait_ready()  # one load at a time
        runs: dict[str, list[dict[str, Any]]] = {"bare": [], "pipeline": []}
        for repeat in range(repeats):
            for name, warm_child in zip(runs, children, strict=True):
                runs[name].append(warm_child.run())
                logger.info(
                    "warm %s %s #%d: %.1f s", name, audio.name, repeat + 1, runs[name][-1]["wall_s"]
                )
        for name, warm_child in zip(runs, children, strict=True):
            warm[name] = {**warm_child.finish(), "runs": runs[name]}
    except RuntimeError as exc:
        logger.error("warm runs of %s failed: %s", audio.name, exc)
        warm["error"] = str(exc)
    finally:
        for warm_child in children:
            warm_child.close()
    return {"cold": cold, "warm": warm, "record": str(record)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lengths", type=float, nargs="+", default=[1.0, 5.0, 30.0])
    parser.add_argument("--layouts", nargs="+", choices=tuple(LAYOUTS), default=list(LAYOUTS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--long-repeats", type=int, default=1, help=f"calls >= {LONG_MIN:g} min")
    parser.add_argument("--translate", action="store_true", help="the pipeline translates to en")
    parser.add_argument("--company", default="harbor-home")
    parser.add_argument("--corpus", type=Path, default=HERE / "var" / "corpus")
    parser.add_argument("--root", type=Path, default=HERE, help="the checkout to measure")
    parser.add_argument("--name", default="latest")
    parser.add_argument(
        "--modes",
        nargs="+",
        choices=("cold", "warm"),
        default=["cold", "warm"],
        help="warm alone on long calls: their cold runs add only the load (seconds)",
    )
    # the children's own options
    parser.add_argument("--child", choices=("bare", "warm-bare", "warm-pipeline"))
    parser.add_argument("audio", nargs="?")
    parser.add_argument("--warmup")
    parser.add_argument("--layout", choices=tuple(LAYOUTS))
    parser.add_argument("--model-dir")
    parser.add_argument("--cpu-threads", type=int, default=0)
    parser.add_argument("--policy")
    parser.add_argument("--vocabulary")
    args = parser.parse_args()
    if args.child:
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
        child(args)
        return
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from bench.pipeline_audio import (
        WARMUP_MIN,
        build_calls,
        company_calls,
        parties,
        render,
        row_figures,
    )
    from models.whisper import resolve_whisper
    from pipelines.core.settings import get_settings

    models = get_settings().models
    args.model_dir = resolve_whisper(
        models.whisper, cache_dir=models.cache_dir, allow_hub=models.allow_hub
    ).location
    args.cpu_threads = models.cpu_threads
    sources, company = company_calls(args.corpus, args.company)
    if company:
        args.policy = HERE / "samples" / "corpus" / "policies" / f"{company}.yaml"
        args.vocabulary = HERE / "samples" / "corpus" / "vocabulary" / f"{company}.yaml"
    lengths = sorted({*args.lengths, WARMUP_MIN})
    files = build_calls(sources, company, lengths, HERE / "var" / "pipeline" / "audio")
    out = HERE / "var" / "pipeline" / args.name
    out.mkdir(parents=True, exist_ok=True)
    checkout = Checkout.of(args.root.resolve())
    summary: dict[str, Any] = {
        "name": args.name,
        "root": str(checkout.root),
        "python": checkout.python,
        "callqa": checkout.callqa,
        "cli_options": sorted(checkout.options),
        "company": company or "(all)",
        "sources": [s.path.name for s in sources],
        "model_dir": args.model_dir,
        "cpu_threads": args.cpu_threads,
        "cpu_count": os.cpu_count(),
        "translate": args.translate,
        "rows": [],
    }
    for minutes in args.lengths:
        for layout in args.layouts:
            repeats = args.long_repeats if minutes >= LONG_MIN else args.repeats
            audio, warmup = files[(minutes, layout)], files[(WARMUP_MIN, layout)]
            row = {"minutes": minutes, "layout": layout, "audio": audio.name}
            row |= {"audio_s": minutes * 60, "repeats": repeats}
            row |= measure(checkout, audio, warmup, layout, repeats, args, out)
            row["parties"] = parties(Path(row["record"]))
            summary["rows"].append(row | {"figures": row_figures(row)})
            text = (
                json.dumps(summary, indent=2) + "\n"
            )  # after each call: a long run keeps its rows
            (out / "summary.json").write_text(text, encoding="utf-8")
    report = render(summary)
    (out / "report.md").write_text(report + "\n", encoding="utf-8")
    logger.info("%s", report)


if __name__ == "__main__":
    main()
