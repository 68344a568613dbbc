"""Call metrics on hand-made turns (arithmetic) and on a real two-channel call."""

from __future__ import annotations

import pytest

from pipelines.analytics.metrics import call_metrics, interruptions, response_latencies, silences
from pipelines.core.types import Participant, Segment, SpeakerTurn, Word

A, C = "SPEAKER_00", "SPEAKER_01"
TURNS = (
    SpeakerTurn(0.5, 4.0, A),  # greeting
    SpeakerTurn(4.8, 9.0, C),  # customer, agent answers 0.8 s later
    SpeakerTurn(9.8, 12.0, A),
    SpeakerTurn(11.2, 14.0, C),  # customer cuts in (0.8 s of overtalk)
    SpeakerTurn(18.0, 20.0, A),  # 4 s of dead air before it
    SpeakerTurn(40.0, 45.0, A),  # 20 s hold before it
)
PARTICIPANTS = (Participant(A, "agent", None), Participant(C, "customer", None))


def test_silence_dead_air_and_hold() -> None:
    metrics = call_metrics((), TURNS, PARTICIPANTS, duration=46.0)
    assert metrics["silence_s"] == pytest.approx(0.5 + 0.8 + 0.8 + 4.0 + 20.0 + 1.0)
    assert metrics["dead_air_s"] == pytest.approx(4.0) and metrics["dead_air_events"] == 1
    assert metrics["hold_s"] == pytest.approx(20.0)
    assert metrics["holds"] == [{"start": 20.0, "end": 40.0}]
    assert metrics["overtalk_s"] == pytest.approx(0.8)
    assert metrics["talk_s"] == {A: pytest.approx(3.5 + 2.2 + 2 + 5), C: pytest.approx(7.0)}
    assert metrics["turns"] == {A: 4, C: 2}


def test_interruptions_by_whom() -> None:
    assert interruptions(TURNS, 0.5) == {C: 1}
    assert interruptions(TURNS, 1.0) == {}


def test_agent_response_latency() -> None:
    assert response_latencies(TURNS, {A}, 10.0) == pytest.approx([0.8, 4.0])
    metrics = call_metrics((), TURNS, PARTICIPANTS, duration=46.0)
    assert metrics["agent_response_latency_s"] == pytest.approx(2.4)


def test_silences_include_the_edges() -> None:
    assert silences((SpeakerTurn(1.0, 2.0, A),), 3.0) == [(0.0, 1.0), (2.0, 3.0)]


def test_speaking_rate_from_words() -> None:
    words = tuple(Word(i * 0.5, i * 0.5 + 0.4, " w", 0.9) for i in range(10))
    segment = Segment(0, 0.0, 5.0, "w " * 10, words, "en", 0.9, speaker=A)
    metrics = call_metrics((segment,), (SpeakerTurn(0.0, 5.0, A),), PARTICIPANTS, 5.0)
    assert metrics["speaking_rate_wpm"] == {A: pytest.approx(120.0)}


def test_without_turns_segments_stand_in() -> None:
    segment = Segment(0, 1.0, 3.0, "hello there", (), "en", 0.9)
    metrics = call_metrics((segment,), (), (), 4.0)
    assert metrics["talk_s"] == {"unknown": 2.0} and metrics["agent_response_latency_s"] is None
