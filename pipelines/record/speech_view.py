"""Views of who spoke when in a stored record: audio, participants, segments, diarization.

Read through ``pipelines.record.view.RecordView.from_dict``, whose docstring gives the rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from pipelines.record.values import Json, ScalarView, filled, integer, number, objects, text


@dataclass(frozen=True, slots=True)
class AudioView(ScalarView):
    """The record's ``audio``: the call's hash, length and format."""

    sha256: str | None
    duration_s: float | None
    sample_rate: int | None
    channels: int | None
    format: str | None
    redacted_sha256: str | None  # newer records


@dataclass(frozen=True, slots=True)
class ParticipantView(ScalarView):
    """A speaker of the call and its role (``agent``, ``customer``, ``unknown``)."""

    speaker: str | None
    role: str | None
    channel: int | None
    confidence: float | None


@dataclass(frozen=True, slots=True)
class EmotionView(ScalarView):
    """A segment's emotion; older records carry the voice model's class as ``label``."""

    label: str | None
    raw_label: str | None
    valence: float | None
    arousal: float | None
    confidence: float | None
    source: str | None


@dataclass(frozen=True, slots=True)
class TranslationView(ScalarView):
    language: str | None
    text: str | None


@dataclass(frozen=True, slots=True)
class SegmentView:
    """One transcribed segment (its text already redacted); its words are not read."""

    id: int | None
    start: float | None
    end: float | None
    speaker: str | None
    role: str | None
    channel: int | None
    language: str | None
    text: str | None
    confidence: float | None
    translation: TranslationView | None
    emotion: EmotionView | None

    @classmethod
    def from_dict(cls, data: Json) -> Self:
        get = data.get
        translation, emotion = filled(get("translation")), filled(get("emotion"))
        return cls(
            id=integer(get("id")),
            start=number(get("start")),
            end=number(get("end")),
            speaker=text(get("speaker")),
            role=text(get("role")),
            channel=integer(get("channel")),
            language=text(get("language")),
            text=text(get("text")),
            confidence=number(get("confidence")),
            translation=TranslationView.from_dict(translation) if translation else None,
            emotion=EmotionView.from_dict(emotion) if emotion else None,
        )


@dataclass(frozen=True, slots=True)
class TurnView(ScalarView):
    """A diarization turn."""

    start: float | None
    end: float | None
    speaker: str | None


@dataclass(frozen=True, slots=True)
class DiarizationView:
    """Who spoke when; ``turns`` None when the record stores none (the segments tell it)."""

    method: str | None
    turns: tuple[TurnView, ...] | None

    @classmethod
    def from_dict(cls, data: Json) -> Self:
        turns = data.get("turns")
        return cls(
            text(data.get("method")),
            None if turns is None else tuple(TurnView.from_dict(t) for t in objects(turns)),
        )
