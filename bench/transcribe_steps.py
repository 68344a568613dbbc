"""Where the transcription stage's time goes: whisper's work counted and timed per step.

The transcription stage (``pipelines.transcribe.stage``) decodes each channel once, then may
judge and re-decode parts of it: language switches (``repair``), outlier languages
(``outliers``) and missed speech (``recovery``). Each step costs whisper encoder passes (one per
30 s window of features), decodes (``generate``: beam search, temperature fallbacks) and word
alignments (``align``). This bench runs the pipeline (as ``bench/pipeline.py``'s warm child
builds it: the company's policy and vocabulary) on the calls of ``var/pipeline/audio`` and counts
and times those three calls of CTranslate2's whisper model per step, plus the encoder passes a
cache answered (``encode-cached``, when the recognizer has one), and the tokens each decode
generated (``tokens``: their sum, the longest, how many reached their limit, each decode's).

    .venv/bin/python bench/transcribe_steps.py [--lengths 1 5] [--layouts mono stereo]
        [--warmup-minutes 0.5] [--calls A.wav ...] [--company harbor-home] [--name NAME]
    .venv/bin/python bench/transcribe_steps.py --compare NAME_A NAME_B

Output: var/transcribe_steps/NAME.json (per call: wall time, stages, steps, the transcript's
segments) and a table in the log. The first run of each call is a warm-up (models loaded); the
second is measured (``--warmup-minutes M``: the warm-up is the call of M minutes instead, for
long calls). ``--calls`` adds other calls (the test calls: stereo ones agent-left).
``--compare`` lists the calls whose transcripts differ between two runs, and how. With
``CALLQA_BENCH_ROOT=CHECKOUT`` the pipeline is another checkout's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

logger = logging.getLogger("bench.transcribe_steps")
STEPS = {  # pipelines.transcribe.stage's names of the steps: the name they are reported under
    "repair_language_switches": "repair",
    "settle_outlier_languages": "outliers",
    "recover_missed_speech": "recovery",
}
MODEL_CALLS = ("encode", "generate", "align", "detect_language")


class StepCounter:
    """Counts and times CTranslate2 whisper calls under the step that is running."""

    def __init__(self) -> None:
        self.step = "decode"
        self.counts: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.seconds: defaultdict[tuple[str, str], float] = defaultdict(float)
        self.tokens: defaultdict[str, list[int]] = defaultdict(list)  # per generate, per step
        self.runaway: defaultdict[str, int] = defaultdict(int)  # generates cut at their limit

    @contextlib.contextmanager
    def within(self, step: str) -> Iterator[None]:
        outer, self.step = self.step, step
        try:
            yield
        finally:
            self.step = outer

    def timed(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                result = function(*args, **kwargs)
                if name == "generate":
                    self.tokens[self.step].extend(len(r.sequences_ids[0]) for r in result)
                    # generated up to max_length (the prompt and the end token included) or to
                    # whisper's 224 tokens a window
                    room = min(kwargs.get("max_length", 448) - len(args[1][0]), 224) - 1
                    self.runaway[self.step] += sum(len(r.sequences_ids[0]) >= room for r in result)
                return result
            finally:
                self.counts[(self.step, name)] += 1
                self.seconds[(self.step, name)] += time.perf_counter() - started

        return call

    def stepped(self, step: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            with self.within(step):
                return self.timed("step", function)(*args, **kwargs)

        call.counted = True  # type: ignore[attr-defined]
        return call

    def table(self) -> dict[str, dict[str, Any]]:
        steps: dict[str, dict[str, Any]] = {}
        for (step, name), count in sorted(self.counts.items()):
            steps.setdefault(step, {})[name] = {
                "count": count,
                "seconds": round(self.seconds[(step, name)], 3),
            }
        for step, counts in self.tokens.items():
            steps.setdefault(step, {})["tokens"] = {
                "count": sum(counts),
                "longest": max(counts),
                "runaway": self.runaway[step],
                "per_generate": list(counts),
            }
        return steps

    def clear(self) -> None:
        self.counts.clear()
        self.seconds.clear()
        self.tokens.clear()
        self.runaway.clear()


class CountingModel:
    """CTranslate2's ``Whisper`` with its calls counted (faster-whisper calls it ``model``)."""

    def __init__(self, model: Any, counter: StepCounter) -> None:
        self._model = model
        self._counter = counter

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._model, attr)
        return self._counter.timed(attr, value) if attr in MODEL_CALLS else value


class KeptTranscripts:
    """The pipeline's transcriber, keeping the transcripts it gives."""

    def __init__(self, transcriber: Any) -> None:
        self.transcriber = transcriber
        self.transcripts: list[Any] = []

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.transcriber, attr)

    def transcribe(self, call: Any, **kwargs: Any) -> Any:
        transcript = self.transcriber.transcribe(call, **kwargs)
        self.transcripts.append(transcript)
        return transcript


def instrument(pipeline: Any, counter: StepCounter) -> KeptTranscripts:
    """Count the pipeline's whisper calls per transcription step; keep its transcripts."""
    import pipelines.transcribe.stage as stage

    for name, step in STEPS.items():
        function = getattr(stage, name)
        if not hasattr(function, "counted"):  # once per process: the models are shared
            setattr(stage, name, counter.stepped(step, function))
    recognizer = pipeline.transcriber.recognizer
    if not isinstance(recognizer.model.model, CountingModel):
        recognizer.model.model = CountingModel(recognizer.model.model, counter)
    kept = KeptTranscripts(pipeline.transcriber)
    pipeline.transcriber = kept
    return kept


def layout_of(path: Path) -> str:
    import soundfile

    return "stereo" if soundfile.info(str(path)).channels == 2 else "mono"


def segments_of(transcript: Any) -> list[list[Any]]:
    return [
        [s.channel, round(s.start, 2), round(s.end, 2), s.language, s.text]
        for s in transcript.segments
    ]


def compare(first: Path, second: Path) -> None:
    """Log the calls whose transcripts differ between two runs' outputs."""
    a = {c["audio"]: c for c in json.loads(first.read_text(encoding="utf-8"))}
    b = {c["audio"]: c for c in json.loads(second.read_text(encoding="utf-8"))}
    for name in sorted(set(a) & set(b)):
        left, right = a[name]["segments"], b[name]["segments"]
        if left == right:
            logger.info("%s: same transcript (%d segments)", name, len(left))
            continue
        logger.info("%s: %d segments against %d", name, len(left), len(right))
        only_a = [s for s in left if s not in right]
        only_b = [s for s in right if s not in left]
        for side, rows in (("-", only_a), ("+", only_b)):
            for row in rows:
                logger.info("  %s %s", side, row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lengths", type=float, nargs="+", default=[1.0, 5.0])
    parser.add_argument("--layouts", nargs="+", choices=("mono", "stereo"), default=["mono"])
    parser.add_argument("--company", default="harbor-home")
    parser.add_argument("--corpus", type=Path, default=HERE / "var" / "corpus")
    parser.add_argument("--calls", type=Path, nargs="*", default=[])
    parser.add_argument("--name", default="latest")
    parser.add_argument(
        "--warmup-minutes",
        type=float,
        default=None,
        help="warm up on the call of this length (e.g. 0.5 before a 30-minute call), not the call",
    )
    parser.add_argument("--compare", nargs=2, metavar="NAME")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = HERE / "var" / "transcribe_steps"
    if args.compare:
        compare(*(out / f"{name}.json" for name in args.compare))
        return
    for noisy in ("faster_whisper", "pipelines", "models", "presidio-analyzer"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from bench.pipeline import pipeline_runner
    from bench.pipeline_audio import build_calls, company_calls

    sources, company = company_calls(args.corpus, args.company)
    lengths = [*args.lengths, *([args.warmup_minutes] if args.warmup_minutes else [])]
    files = build_calls(sources, company, lengths, HERE / "var" / "pipeline" / "audio")
    corpus = HERE / "samples" / "corpus"
    results: list[dict[str, Any]] = []
    counter = StepCounter()
    for layout in args.layouts:
        options = argparse.Namespace(
            policy=corpus / "policies" / f"{company}.yaml" if company else None,
            vocabulary=corpus / "vocabulary" / f"{company}.yaml" if company else None,
            translate=False,
            layout=layout,
        )
        built: list[Any] = []
        run = pipeline_runner(options, built=built)
        kept = instrument(built[0], counter)
        calls = [files[(minutes, layout)] for minutes in args.lengths]
        calls += [c for c in args.calls if layout_of(c) == layout]
        for audio in calls:
            warmup = files[(args.warmup_minutes, layout)] if args.warmup_minutes else audio
            run(str(warmup))  # models loaded, lazy loads done
            counter.clear()
            started = time.perf_counter()
            figures = run(str(audio))
            wall = time.perf_counter() - started
            steps = counter.table()
            results.append(
                {
                    "audio": audio.name,
                    "wall_s": round(wall, 2),
                    "stages": figures["stages"],
                    "steps": steps,
                    "segments": segments_of(kept.transcripts[-1]),
                }
            )
            logger.info("%s: %.1f s", audio.name, wall)
            for step, made in steps.items():
                logger.info(
                    "  %-9s %s",
                    step,
                    "  ".join(
                        f"{n} {c['count']} (longest {c['longest']}, {c['runaway']} at the limit)"
                        if n == "tokens"
                        else f"{n} {c['count']}x {c['seconds']:.2f}s"
                        for n, c in made.items()
                    ),
                )
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=2) + "\n"
    (out / f"{args.name}.json").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
