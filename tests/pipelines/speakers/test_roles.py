"""Word-level speaker assignment and agent/customer roles on labelled test calls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipelines.batch import CallPipeline
from pipelines.core.settings import Settings
from pipelines.core.types import Segment, SpeakerTurn, Word
from pipelines.registry import analyze_file
from pipelines.speakers.roles import identify_roles
from pipelines.speakers.words import assign_speakers, speaker_at

CALLS = ["greeting-mono", "caller-first-mono"]


def label(data_dir: Path, name: str) -> dict[str, Any]:
    return dict(json.loads((data_dir / "calls" / f"{name}.json").read_text()))


def reference_turns(call: dict[str, Any]) -> tuple[SpeakerTurn, ...]:
    speaker = {"agent": "SPEAKER_A", "customer": "SPEAKER_C"}
    return tuple(SpeakerTurn(t["start"], t["end"], speaker[t["role"]]) for t in call["turns"])


def test_word_between_turns_takes_the_nearest() -> None:
    turns = (SpeakerTurn(0.0, 2.0, "A"), SpeakerTurn(5.0, 6.0, "B"))
    assert speaker_at(2.5, 2.8, turns) == "A"
    assert speaker_at(4.4, 4.8, turns) == "B"
    assert speaker_at(1.5, 5.5, turns) == "A"
    assert speaker_at(0.0, 1.0, ()) is None


def test_segment_spanning_two_speakers_is_split() -> None:
    words = tuple(
        Word(start, start + 0.3, f" {text}", 0.9)
        for start, text in [
            (0.0, "in"),
            (0.3, "this"),
            (0.6, "regard"),
            (1.5, "I"),
            (1.8, "can"),
            (2.1, "help"),
        ]
    )
    segment = Segment(0, 0.0, 2.4, "in this regard I can help", words, "en", 0.9)
    turns = (SpeakerTurn(0.0, 1.0, "C"), SpeakerTurn(1.4, 2.5, "A"))
    parts = assign_speakers((segment,), turns)
    assert [(p.speaker, p.text) for p in parts] == [("C", "in this regard"), ("A", "I can help")]
    assert [p.id for p in parts] == [0, 1]
    assert parts[1].start == pytest.approx(1.5)


@pytest.mark.parametrize("name", CALLS)
def test_roles_from_what_each_speaker_says(
    name: str, base_pipeline: CallPipeline, data_dir: Path
) -> None:
    """Transcribed for real; diarization from the label, so only roles are under test."""
    call = label(data_dir, name)
    record = analyze_file(base_pipeline, data_dir / "calls" / call["file"], settings=Settings())
    segments = assign_speakers(record.segments, reference_turns(call))
    participants = {p.speaker: p for p in identify_roles(segments)}
    assert participants["SPEAKER_A"].role == "agent"
    assert participants["SPEAKER_C"].role == "customer"
    assert participants["SPEAKER_A"].confidence >= 0.9


def test_no_cues_means_unknown_roles() -> None:
    segments = (
        Segment(
            0,
            0.0,
            1.0,
            "It was the first great sorrow of his life.",
            (),
            "en",
            0.9,
            speaker="SPEAKER_00",
        ),
        Segment(
            1,
            1.5,
            3.0,
            "Mr. Quilter is the apostle of the middle classes.",
            (),
            "en",
            0.9,
            speaker="SPEAKER_01",
        ),
    )
    assert {p.role for p in identify_roles(segments)} == {"unknown"}


@pytest.mark.parametrize("name", CALLS)
def test_mono_call_end_to_end_roles(name: str, data_dir: Path) -> None:
    """Real diarization of a mono call, then roles: each word's role matches the label's."""
    from pipelines.registry import build_pipeline

    call = label(data_dir, name)
    pipeline = build_pipeline(Settings())
    record = analyze_file(pipeline, data_dir / "calls" / call["file"], settings=Settings())
    assert record.diarization is not None and record.diarization.method == "callqa-cluster"
    agents = [p for p in record.participants if p.role == "agent"]
    assert len(agents) == 1 and agents[0].confidence >= 0.9
    truth = reference_turns(call)
    right = total = 0
    for segment in record.segments:
        for word in segment.words:
            expected = speaker_at(word.start, word.end, truth)
            total += 1
            right += (expected == "SPEAKER_A") == (segment.role == "agent")
    assert right / total >= 0.95
