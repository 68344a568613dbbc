"""``RecordView.from_dict`` reads every stored record (tests/data/records), a record the pipeline
writes, and records of older versions, value for value."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipelines.analytics.emotion import EmotionOptions, escalation
from pipelines.analytics.metrics import call_metrics
from pipelines.analytics.stage import AnalyticsStages, run_analytics
from pipelines.analytics.topics import TopicScore
from pipelines.compliance.checker import ScriptComplianceChecker
from pipelines.compliance.policy import load_policy
from pipelines.core.types import (
    Audio,
    AudioSource,
    CallAudio,
    Diarization,
    Emotion,
    ModelInfo,
    Participant,
    Role,
    Segment,
    SpeakerTurn,
    SpeechRegion,
    Translation,
)
from pipelines.pii.redactor import default_redactor
from pipelines.record.schema import InteractionRecord, Provenance, record_to_dict
from pipelines.record.view import RecordView, SpeechCoverageView
from pipelines.transcribe.coverage import speech_coverage

ROOT = Path(__file__).resolve().parents[3]
RECORDS = ROOT / "tests" / "data" / "records"
POLICY = ROOT / "samples" / "policies" / "ecommerce-aftersales.yaml"
NAMES = sorted(path.stem for path in RECORDS.glob("*.json"))
NOT_READ = {"schema", "provenance", "integrity", "words"}  # no reader needs them


def load(name: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((RECORDS / f"{name}.json").read_text(encoding="utf-8"))
    return record


def assert_reads(view: Any, stored: Mapping[str, Any], path: str = "record") -> None:
    """Every key of ``stored`` is a field of ``view`` holding the stored value, type and all."""
    if isinstance(view, SpeechCoverageView):  # {channel_N: {...}, min_coverage, gaps}
        channels = {k: v for k, v in stored.items() if isinstance(v, Mapping)}
        assert set(view.channels) == set(channels), path
        for key, entry in channels.items():
            assert_reads(view.channels[key], entry, f"{path}.{key}")
        stored = {k: v for k, v in stored.items() if k not in channels}
    names = {f.name for f in dataclasses.fields(view)}
    assert set(stored) - NOT_READ <= names, f"{path}: {sorted(set(stored) - names)} not read"
    for key, value in stored.items():
        if key not in NOT_READ:
            assert_value(getattr(view, key), value, f"{path}.{key}")


def assert_value(read: Any, stored: Any, path: str) -> None:
    if dataclasses.is_dataclass(read):
        assert isinstance(stored, Mapping), path
        assert_reads(read, stored, path)
    elif isinstance(read, tuple) and isinstance(stored, Mapping):  # metrics.holds: (start, end)
        assert read == (stored["start"], stored["end"]), path
    elif isinstance(read, tuple):
        assert isinstance(stored, list) and len(read) == len(stored), path
        for i, (item, value) in enumerate(zip(read, stored, strict=True)):
            assert_value(item, value, f"{path}[{i}]")
    else:
        assert read == stored and type(read) is type(stored), f"{path}: {read!r} != {stored!r}"


@pytest.mark.parametrize("name", NAMES)
def test_every_stored_record_reads_value_for_value(name: str) -> None:
    record = load(name)
    view = RecordView.from_dict(record)
    assert_reads(view, record)
    assert len(view.segments) == len(record["segments"]) > 0
    assert view.metrics.duration_s == record["metrics"]["duration_s"]


def test_the_stored_scorecards_read_as_scored() -> None:
    angry = RecordView.from_dict(load("angry-customer"))
    assert angry.compliance is not None and angry.compliance.score == 60.0
    assert angry.compliance.passed is False and angry.compliance.policy.version == "2025.1"
    check = angry.compliance.check("recording_disclosure")
    assert check is not None and check.passed is False and check.weight == 10.0
    assert check.evidence[0].segment_id == 0 and check.evidence[0].start == 0.14
    assert angry.compliance.check("no_such_rule") is None
    escalated = angry.metrics.escalation
    assert escalated is not None and escalated.detected and escalated.reason == "anger"
    assert [t.label for t in angry.topics] == ["other"] and angry.pii is not None
    assert RecordView.from_dict(load("greeting-mono")).compliance is None


def pipeline_record() -> dict[str, Any]:
    """A record as ``CallPipeline`` writes it: real redaction, compliance (by spelling), metrics,
    escalation and coverage on a short stereo call; JSON and back, as the store keeps it."""
    angry = Emotion("angry", -0.7, 0.8, 0.9, "voice", raw_label="anger")
    said: list[tuple[float, float, str, Role, int, str]] = [
        (0.2, 3.0, "SPEAKER_00", "agent", 0, "Thank you for calling Northwind, this is Anna."),
        (3.4, 6.0, "SPEAKER_01", "customer", 1, "My card is 4111 1111 1111 1111 and I am upset."),
        (6.2, 8.0, "SPEAKER_01", "customer", 1, "This is the third time I call about it."),
        (8.4, 10.0, "SPEAKER_01", "customer", 1, "Nobody ever calls me back."),
        (10.5, 12.0, "SPEAKER_00", "agent", 0, "Let me check your order."),
    ]
    segments = tuple(
        Segment(
            i, start, end, text, (), "en", 0.8, channel, speaker, role,
            translation=Translation("es", "hola") if i == 4 else None,
            emotion=angry if role == "customer" else None,
        )
        for i, (start, end, speaker, role, channel, text) in enumerate(said)
    )  # fmt: skip
    silent = np.zeros(12 * 16000, dtype=np.float32)
    source = AudioSource("a" * 64, "wav", 8000, 2, 12.0)
    call = CallAudio(source, (Audio(silent, 16000, 0), Audio(silent, 16000, 1)))
    stages = AnalyticsStages(
        redactor=default_redactor(),
        compliance=ScriptComplianceChecker(None),
        policy=load_policy(POLICY),
    )
    analytics = run_analytics(segments, call, stages)
    turns = tuple(SpeakerTurn(s.start, s.end, str(s.speaker)) for s in segments)
    participants = (Participant("SPEAKER_00", "agent", 0), Participant("SPEAKER_01", "customer", 1))
    metrics = call_metrics(analytics.segments, turns, participants, call.duration)
    metrics["escalation"] = escalation(analytics.segments, EmotionOptions())
    regions = {
        channel: [SpeechRegion(s.start, s.end, channel) for s in segments if s.channel == channel]
        for channel in (0, 1)
    }
    metrics["speech_coverage"] = speech_coverage(regions, analytics.segments)
    record = InteractionRecord(
        id="f" * 32, created_at="2025-01-02T10:00:00.000Z", tenant="acme", audio=source,
        layout="stereo-agent-left", languages=("en",), participants=participants,
        segments=analytics.segments, diarization=Diarization("channels", turns), metrics=metrics,
        topics=(TopicScore("returns", 0.75).to_dict(), TopicScore("billing", 0.25).to_dict()),
        pii=analytics.pii, compliance=analytics.compliance,
        redacted_audio_sha256=analytics.redacted_audio_sha256,
        provenance=Provenance("test", (ModelInfo("asr", "fake", "1", "0" * 64),)),
    )  # fmt: skip
    written: dict[str, Any] = json.loads(json.dumps(record_to_dict(record)))
    return written


def test_a_record_the_pipeline_writes_reads_value_for_value() -> None:
    record = pipeline_record()
    view = RecordView.from_dict(record)
    assert_reads(view, record)
    assert view.pii is not None and [e.type for e in view.pii.entities] == ["CARD"]
    assert view.pii.entities[0].segment_id == 1 and view.segments[1].text is not None
    assert "[CARD]" in view.segments[1].text
    assert view.compliance is not None and len(view.compliance.checks) == len(
        record["compliance"]["checks"]
    )
    greeting = view.compliance.check("greeting")
    assert greeting is not None and greeting.passed is True and greeting.evidence
    coverage = view.metrics.speech_coverage
    assert coverage is not None and set(coverage.channels) == {"channel_0", "channel_1"}
    assert view.metrics.escalation is not None and view.metrics.escalation.turns == 3
    assert view.metrics.talk_s == record["metrics"]["talk_s"] and view.topics[0].label == "returns"
    assert view.segments[4].translation is not None and view.segments[4].translation.text == "hola"
    assert view.segments[1].emotion is not None and view.segments[1].emotion.raw_label == "anger"


def test_older_records_read_with_their_parts_and_keys_missing() -> None:
    record = load("angry-customer")
    for key in ("metrics", "topics", "pii", "diarization", "review"):
        del record[key]
    record["metrics"] = {"duration_s": 27.851, "talk_s": {"SPEAKER_00": 12.152}}
    for check in record["compliance"]["checks"]:
        del check["weight"], check["detail"]
    del record["compliance"]["checks"][0]["evidence"], record["audio"]["redacted_sha256"]
    for segment in record["segments"]:
        del segment["channel"]
        if segment["emotion"]:
            segment["emotion"].pop("raw_label", None)
    view = RecordView.from_dict(record)
    assert_reads(view, record)
    assert view.pii is None and view.diarization is None and view.review is None
    assert view.topics == () and view.metrics.escalation is None
    assert view.metrics.speech_coverage is None and view.metrics.interruptions == {}
    assert view.metrics.agent_response_latency_s is None and view.metrics.holds == ()
    assert view.compliance is not None and view.compliance.checks[0].evidence == ()
    assert {(c.weight, c.detail) for c in view.compliance.checks} == {(None, None)}
    assert view.audio.redacted_sha256 is None and view.audio.duration_s == 27.851
    assert {s.channel for s in view.segments} == {None}


def test_empty_parts_read_as_none_and_stored_turns_as_stored() -> None:
    view = RecordView.from_dict(
        {"compliance": {}, "pii": None, "review": {}, "diarization": {"method": "pyannote"}}
    )
    assert view.compliance is None and view.pii is None and view.review is None
    assert view.diarization is not None and view.diarization.turns is None  # segments tell
    assert view.segments == () and view.audio.duration_s is None and view.metrics.talk_s == {}
    assert RecordView.from_dict({"diarization": {"turns": []}}).diarization is not None
    assert RecordView.from_dict({}).id is None


def test_numbers_keep_their_type_and_wrong_types_read_as_none() -> None:
    view = RecordView.from_dict(
        {
            "audio": {"duration_s": True, "channels": 2},
            "compliance": {
                "score": 60,
                "passed": 1,
                "checks": [{"rule_id": 5, "passed": True, "evidence": ["x", {"start": math.nan}]}],
            },
            "review": {"overrides": [{"score": True, "value": 70}, {"rule_id": "a", "value": 1.5}]},
        }
    )
    assert view.audio.duration_s is None and view.audio.channels == 2
    assert view.compliance is not None and repr(view.compliance.score) == "60"
    assert view.compliance.passed is None
    check = view.compliance.checks[0]
    assert check.rule_id is None and check.passed is True
    assert len(check.evidence) == 1 and check.evidence[0].start is None
    assert view.review is not None
    assert [(o.score, o.value) for o in view.review.overrides] == [(True, 70), (False, 1.5)]
    assert repr(view.review.overrides[0].value) == "70"
