"""A stored interaction record, read: frozen views of its JSON (``RecordView.from_dict``).

The record (``callqa.record/v1``, written by ``schema.record_to_dict``) is read here once into
typed parts, so that its readers (transcript formats, the timeline picture, review, the command
line's report) never dig in dicts. Records written by older versions lack parts and keys, and
the view reads them all:

* a key that is missing, JSON null or of another type reads as ``None``; each reader keeps its
  own default for it (``"?"``, ``"unknown"``, 0 s);
* a list reads as a tuple of its objects (anything else in it is skipped), a missing one as ``()``;
* an object that is missing, null or empty (``compliance``, ``pii``, ``diarization``,
  ``review``, a metric's ``escalation`` and ``speech_coverage``, a segment's ``emotion`` and
  ``translation``) reads as ``None``; ``audio`` and ``metrics`` always read, their fields ``None``;
* numbers are finite ints and floats kept as stored (an int stays an int, so a value a reader
  echoes back, like a review's ``previous`` score, is unchanged); booleans are not numbers.

Views only read: records are written by ``schema.record_to_dict``, never rebuilt from a view.
The speech parts (audio, participants, segments, diarization) are in ``speech_view``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self

from pipelines.record.speech_view import (
    AudioView,
    DiarizationView,
    EmotionView,
    ParticipantView,
    SegmentView,
    TranslationView,
    TurnView,
)
from pipelines.record.values import (
    Json,
    ScalarView,
    filled,
    flag,
    integer,
    number,
    numbers,
    objects,
    text,
    texts,
)

__all__ = [
    "AudioView", "ChannelCoverageView", "CheckView", "ComplianceView", "DiarizationView",
    "EmotionView", "EscalationView", "EvidenceView", "MetricsView", "OverrideView",
    "ParticipantView", "PiiEntityView", "PiiView", "PolicyView", "RecordView", "ReviewView",
    "SegmentView", "SpeechCoverageView", "TopicView", "TranslationView", "TurnView",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class EvidenceView(ScalarView):
    """Where a check's verdict comes from: a moment of the call and what matched."""

    segment_id: int | None
    start: float | None
    end: float | None
    text: str | None
    score: float | None


@dataclass(frozen=True, slots=True)
class CheckView:
    """One policy rule's verdict (``compliance.checks[]``); older records lack weight, detail."""

    rule_id: str | None
    kind: str | None
    passed: bool | None
    severity: str | None
    weight: float | None
    evidence: tuple[EvidenceView, ...]
    detail: str | None
    score: float | None = None  # the matcher's score (records before calibration lack it)
    threshold: float | None = None
    close_call: bool = False

    @classmethod
    def from_dict(cls, data: Json) -> Self:
        get = data.get
        evidence = tuple(EvidenceView.from_dict(e) for e in objects(get("evidence")))
        return cls(
            rule_id=text(get("rule_id")),
            kind=text(get("kind")),
            passed=flag(get("passed")),
            severity=text(get("severity")),
            weight=number(get("weight")),
            evidence=evidence,
            detail=text(get("detail")),
            score=number(get("score")),
            threshold=number(get("threshold")),
            close_call=get("close_call") is True,
        )


@dataclass(frozen=True, slots=True)
class PolicyView(ScalarView):
    """The policy version a call was scored against."""

    id: str | None
    version: str | None
    sha256: str | None


@dataclass(frozen=True, slots=True)
class ComplianceView:
    """The record's ``compliance``: the policy, the score (0-100), the verdict, every check."""

    policy: PolicyView
    score: float | None
    passed: bool | None
    checks: tuple[CheckView, ...]

    @classmethod
    def from_dict(cls, data: Json) -> Self:
        get = data.get
        checks = tuple(CheckView.from_dict(c) for c in objects(get("checks")))
        policy = PolicyView.from_dict(filled(get("policy")) or {})
        return cls(policy, number(get("score")), flag(get("passed")), checks)

    def check(self, rule_id: str) -> CheckView | None:
        """The (first) check of ``rule_id``; None when the policy had no such rule."""
        return next((check for check in self.checks if check.rule_id == rule_id), None)


@dataclass(frozen=True, slots=True)
class PiiEntityView(ScalarView):
    """Personal data found and removed: its type (``CARD``, ...), segment and times."""

    type: str | None
    segment_id: int | None
    start: float | None
    end: float | None


@dataclass(frozen=True, slots=True)
class PiiView:
    """The record's ``pii``: the entities redacted and the redaction policy."""

    entities: tuple[PiiEntityView, ...]
    policy: str | None

    @classmethod
    def from_dict(cls, data: Json) -> Self:
        entities = tuple(PiiEntityView.from_dict(e) for e in objects(data.get("entities")))
        return cls(entities, text(data.get("policy")))


@dataclass(frozen=True, slots=True)
class TopicView(ScalarView):
    """A call reason and its share (``topics[]``)."""

    label: str | None
    score: float | None


@dataclass(frozen=True, slots=True)
class SummaryItemView:
    """A summary item: its text and the segments it comes from."""

    text: str | None
    segments: tuple[int, ...]

    @classmethod
    def from_dict(cls, data: Json) -> Self:
        ids = tuple(int(i) for i in data.get("segments") or () if isinstance(i, int))
        return cls(text(data.get("text")), ids)


@dataclass(frozen=True, slots=True)
class SummaryPartsView:
    """A summary's reason, actions, follow-ups and text in one language."""

    reason: SummaryItemView | None
    actions: tuple[SummaryItemView, ...]
    follow_ups: tuple[SummaryItemView, ...]
    text: str | None

    @classmethod
    def from_dict(cls, data: Json) -> Self:
        reason = filled(data.get("reason"))
        return cls(
            SummaryItemView.from_dict(reason) if reason else None,
            tuple(SummaryItemView.from_dict(a) for a in objects(data.get("actions"))),
            tuple(SummaryItemView.from_dict(f) for f in objects(data.get("follow_ups"))),
            text(data.get("text")),
        )


@dataclass(frozen=True, slots=True)
class SummaryView:
    """``summary``: the call's own-language parts, its outcome and the English parts."""

    parts: SummaryPartsView
    outcome: str | None
    language: str | None
    english: SummaryPartsView | None

    @classmethod
    def from_dict(cls, data: Json) -> Self:
        english = filled(data.get("english"))
        return cls(
            SummaryPartsView.from_dict(data),
            text(data.get("outcome")),
            text(data.get("language")),
            SummaryPartsView.from_dict(english) if english else None,
        )


@dataclass(frozen=True, slots=True)
class RepeatContactView(ScalarView):
    """``metrics.repeat_contact``: the same customer's earlier call within the window."""

    previous_call_id: str | None
    days_since: float | None
    same_driver: bool | None


@dataclass(frozen=True, slots=True)
class EscalationView(ScalarView):
    """``metrics.escalation``: whether (and when) the customer's negativity rose."""

    detected: bool | None
    at_s: float | None
    turns: int | None
    from_valence: float | None  # absent with fewer than two scored customer turns
    to_valence: float | None
    segment_id: int | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class ChannelCoverageView(ScalarView):
    """One channel's speech heard versus transcribed (``coverage`` None: no speech)."""

    speech_s: float | None
    transcribed_s: float | None
    coverage: float | None
    missed: int | None


@dataclass(frozen=True, slots=True)
class SpeechCoverageView:
    """``metrics.speech_coverage``: per channel (``channel_0``, ...), and the channels in a gap."""

    channels: Mapping[str, ChannelCoverageView]
    min_coverage: float | None
    gaps: tuple[str, ...]

    @classmethod
    def from_dict(cls, data: Json) -> Self:
        channels = {
            str(key): ChannelCoverageView.from_dict(entry)
            for key, entry in data.items()
            if isinstance(entry, Mapping)
        }
        return cls(channels, number(data.get("min_coverage")), texts(data.get("gaps")))


@dataclass(frozen=True, slots=True)
class MetricsView:
    """The record's ``metrics`` (older records lack keys); per speaker: ``{speaker: value}``."""

    duration_s: float | None
    talk_s: Mapping[str, float]
    turns: Mapping[str, float]
    silence_s: float | None
    dead_air_s: float | None
    dead_air_events: int | None
    hold_s: float | None
    holds: tuple[tuple[float, float], ...]  # (start, end)
    overtalk_s: float | None
    interruptions: Mapping[str, float]
    agent_response_latency_s: float | None
    speaking_rate_wpm: Mapping[str, float]
    escalation: EscalationView | None
    speech_coverage: SpeechCoverageView | None
    repeat_contact: RepeatContactView | None = None

    @classmethod
    def from_dict(cls, data: Json) -> Self:
        get = data.get
        escalation, coverage = filled(get("escalation")), filled(get("speech_coverage"))
        repeat = filled(get("repeat_contact"))
        holds = [(number(h.get("start")), number(h.get("end"))) for h in objects(get("holds"))]
        return cls(
            duration_s=number(get("duration_s")),
            talk_s=numbers(get("talk_s")),
            turns=numbers(get("turns")),
            silence_s=number(get("silence_s")),
            dead_air_s=number(get("dead_air_s")),
            dead_air_events=integer(get("dead_air_events")),
            hold_s=number(get("hold_s")),
            holds=tuple((a, b) for a, b in holds if a is not None and b is not None),
            overtalk_s=number(get("overtalk_s")),
            interruptions=numbers(get("interruptions")),
            agent_response_latency_s=number(get("agent_response_latency_s")),
            speaking_rate_wpm=numbers(get("speaking_rate_wpm")),
            escalation=EscalationView.from_dict(escalation) if escalation else None,
            speech_coverage=SpeechCoverageView.from_dict(coverage) if coverage else None,
            repeat_contact=RepeatContactView.from_dict(repeat) if repeat else None,
        )


@dataclass(frozen=True, slots=True)
class OverrideView:
    """An analyst's override (``review.overrides[]``): a check's verdict or the call's score."""

    rule_id: str | None  # the check overridden; None for a score override
    score: bool  # the call's score is overridden (``"score": true``)
    value: bool | float | None  # the verdict (a check) or the score, as stored
    previous: bool | float | None
    by: str | None
    at: str | None
    reason: str | None

    @classmethod
    def from_dict(cls, data: Json) -> Self:
        get = data.get
        return cls(
            rule_id=text(get("rule_id")),
            score=get("score") is True,
            value=_verdict(get("value")),
            previous=_verdict(get("previous")),
            by=text(get("by")),
            at=text(get("at")),
            reason=text(get("reason")),
        )


def _verdict(value: object) -> bool | float | None:
    """A check's verdict (a boolean) or a score (a number), as stored."""
    return value if isinstance(value, bool) else number(value)


@dataclass(frozen=True, slots=True)
class ReviewView:
    """The ``review`` block: status, overrides (oldest first), and on a served record whose
    overrides changed the outcome, the score and verdict as reviewed."""

    status: str | None
    overrides: tuple[OverrideView, ...]
    score: float | None
    passed: bool | None

    @classmethod
    def from_dict(cls, data: Json) -> Self:
        get = data.get
        overrides = tuple(OverrideView.from_dict(o) for o in objects(get("overrides")))
        return cls(text(get("status")), overrides, number(get("score")), flag(get("passed")))


@dataclass(frozen=True, slots=True)
class RecordView:
    """An interaction record as its readers see it (provenance and integrity are not read)."""

    id: str | None
    created_at: str | None
    tenant: str | None
    layout: str | None
    languages: tuple[str, ...]
    audio: AudioView
    participants: tuple[ParticipantView, ...]
    segments: tuple[SegmentView, ...]
    diarization: DiarizationView | None
    metrics: MetricsView
    topics: tuple[TopicView, ...]
    compliance: ComplianceView | None  # None: no policy was checked
    pii: PiiView | None  # None: no redaction ran
    review: ReviewView | None
    summary: SummaryView | None = None  # None: recorded before summaries

    @classmethod
    def from_dict(cls, data: Json) -> Self:
        """The view of a record dict of this version or an older one (see the module)."""
        get = data.get
        diarization, compliance = filled(get("diarization")), filled(get("compliance"))
        pii, review = filled(get("pii")), filled(get("review"))
        return cls(
            id=text(get("id")),
            created_at=text(get("created_at")),
            tenant=text(get("tenant")),
            layout=text(get("layout")),
            languages=texts(get("languages")),
            audio=AudioView.from_dict(filled(get("audio")) or {}),
            participants=tuple(ParticipantView.from_dict(p) for p in objects(get("participants"))),
            segments=tuple(SegmentView.from_dict(s) for s in objects(get("segments"))),
            diarization=DiarizationView.from_dict(diarization) if diarization else None,
            metrics=MetricsView.from_dict(filled(get("metrics")) or {}),
            topics=tuple(TopicView.from_dict(t) for t in objects(get("topics"))),
            compliance=ComplianceView.from_dict(compliance) if compliance else None,
            pii=PiiView.from_dict(pii) if pii else None,
            review=ReviewView.from_dict(review) if review else None,
            summary=SummaryView.from_dict(summary) if (summary := filled(get("summary"))) else None,
        )
