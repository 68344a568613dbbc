"""Golden records of the test calls: what the batch pipeline made of them before a change
meant to make it cheaper, to show that nothing in a record changed but its timing.

    .venv/bin/python tests/pipelines/golden.py [--root CHECKOUT]
    # writes tests/data/calls/golden/NAME.json and NAME.transcript.json

The records of every test call (tests/data/calls/*.wav, stereo and mono) are made as
``test_labelled_calls`` makes them (the e-commerce policy, default settings) by the code of
``--root`` (the checkout whose records are the reference). Beside each record: the raw
transcript whisper gave that code (before redaction), which the test replays. Whisper's int8
decoding differs from one CPU to another (MKL's integer kernels saturate differently with and
without VNNI), so a whole record made on one machine cannot be expected on another; the test
gives the pipeline the golden transcript and expects the rest of the record (speakers, roles,
emotion, PII, compliance, topics, summary, metrics) exactly. Changes to transcription itself
are checked on the machine that runs them (``tests/models/test_encoder_cache.py``).

``differences`` compares two records: the record's own identity (``id``, ``created_at``,
``integrity``) is left out; numbers may differ by ``tolerance`` (scores are rounded to three
decimals, so a float32 difference far below that can move the last digit); everything else
must be equal.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CALLS = ROOT / "tests" / "data" / "calls"
GOLDEN = CALLS / "golden"
POLICY = ROOT / "samples" / "policies" / "ecommerce-aftersales.yaml"
IDENTITY = frozenset({"id", "created_at", "integrity"})
TOLERANCE = 2e-3


def names() -> list[str]:
    """Every test call (stereo and mono)."""
    return sorted(path.stem for path in CALLS.glob("*.wav"))


def comparable(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in IDENTITY}


def differences(
    actual: Any, expected: Any, where: str = "", tolerance: float = TOLERANCE
) -> Iterator[str]:
    """Where ``actual`` differs from ``expected`` (paths like ``segments[3].text``)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual)):
            if key not in actual or key not in expected:
                yield f"{where}.{key}: only in {'golden' if key in expected else 'actual'}"
            else:
                yield from differences(actual[key], expected[key], f"{where}.{key}", tolerance)
    elif isinstance(expected, list) and isinstance(actual, list):
        if len(actual) != len(expected):
            yield f"{where}: {len(actual)} items, golden {len(expected)}"
        for index, (a, e) in enumerate(zip(actual, expected, strict=False)):
            yield from differences(a, e, f"{where}[{index}]", tolerance)
    elif isinstance(expected, float) and isinstance(actual, int | float):
        if not math.isclose(actual, expected, abs_tol=tolerance):
            yield f"{where}: {actual} != golden {expected}"
    elif actual != expected or type(actual) is not type(expected):
        yield f"{where}: {actual!r} != golden {expected!r}"


class RecordingTranscriber:
    """A transcriber that keeps what it gave (golden.py's capture of the raw transcripts)."""

    def __init__(self, transcriber: Any) -> None:
        self.transcriber = transcriber
        self.transcripts: list[Any] = []

    @property
    def model(self) -> Any:
        return self.transcriber.model

    def transcribe(self, call: Any, **kwargs: Any) -> Any:
        transcript = self.transcriber.transcribe(call, **kwargs)
        self.transcripts.append(transcript)
        return transcript


class ReplayTranscriber:
    """A transcriber that gives a stored transcript whatever the audio (the golden test's)."""

    def __init__(self, transcript: Any) -> None:
        self.transcript = transcript

    @property
    def model(self) -> Any:
        return self.transcript.model

    def transcribe(self, call: Any, **kwargs: Any) -> Any:
        return self.transcript


def transcript_to_dict(transcript: Any) -> dict[str, Any]:
    return dataclasses.asdict(transcript) | {"options": dict(transcript.options)}


def load_transcript(path: Path) -> Any:
    """A ``Transcript`` from its golden JSON (``transcript_to_dict``)."""
    from pipelines.core.types import ModelInfo, Segment, Transcript, Word

    data = json.loads(path.read_text(encoding="utf-8"))
    segments = tuple(
        Segment(**(s | {"words": tuple(Word(**w) for w in s["words"])})) for s in data["segments"]
    )
    return Transcript(
        segments=segments,
        languages=tuple(data["languages"]),
        model=ModelInfo(**data["model"]),
        options=data["options"],
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the reference checkout")
    root = parser.parse_args().root.resolve()
    sys.path.insert(0, str(root))
    from pipelines.compliance.policy import load_policy
    from pipelines.core.settings import Settings
    from pipelines.record.schema import record_to_dict
    from pipelines.registry import analyze_file, build_pipeline

    pipeline = build_pipeline(Settings(), policy=load_policy(POLICY))
    recording = RecordingTranscriber(pipeline.transcriber)
    pipeline.transcriber = recording
    GOLDEN.mkdir(exist_ok=True)
    for name in names():
        record = record_to_dict(analyze_file(pipeline, CALLS / f"{name}.wav", settings=Settings()))
        text = json.dumps(comparable(record), indent=1, sort_keys=True, ensure_ascii=False)
        (GOLDEN / f"{name}.json").write_text(text + "\n", encoding="utf-8")
        heard = transcript_to_dict(recording.transcripts.pop())
        text = json.dumps(heard, indent=1, sort_keys=True, ensure_ascii=False)
        (GOLDEN / f"{name}.transcript.json").write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
