"""Interaction record v1 (``callqa.record/v1``): assembly from stage outputs and JSON form."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipelines.core.types import (
    AudioSource,
    Diarization,
    Emotion,
    Layout,
    ModelInfo,
    Participant,
    Segment,
    Translation,
    Word,
)

SCHEMA = "callqa.record/v1"
INTEGRITY_FIELD = "integrity"


@dataclass(frozen=True, slots=True)
class Provenance:
    pipeline_version: str
    models: tuple[ModelInfo, ...]
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InteractionRecord:
    """Everything callqa knows about one call; later stages fill the optional parts."""

    id: str
    created_at: str
    tenant: str
    audio: AudioSource
    layout: Layout
    languages: tuple[str, ...]
    participants: tuple[Participant, ...]
    segments: tuple[Segment, ...]
    provenance: Provenance
    diarization: Diarization | None = None
    metrics: Mapping[str, Any] = field(default_factory=dict)
    topics: tuple[Mapping[str, Any], ...] = ()
    compliance: Mapping[str, Any] | None = None
    pii: Mapping[str, Any] | None = None
    review: Mapping[str, Any] | None = None
    summary: Mapping[str, Any] | None = None
    redacted_audio_sha256: str | None = None


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _word(word: Word) -> dict[str, Any]:
    return {
        "start": round(word.start, 3),
        "end": round(word.end, 3),
        "word": word.word,
        "probability": round(word.probability, 4),
    }


def segment_to_dict(segment: Segment) -> dict[str, Any]:
    """A segment as the record (and the live stream) writes it."""
    return {
        "id": segment.id,
        "start": segment.start,
        "end": segment.end,
        "speaker": segment.speaker,
        "role": segment.role,
        "channel": segment.channel,
        "language": segment.language,
        "text": segment.text,
        "confidence": segment.confidence,
        "words": [_word(w) for w in segment.words],
        "translation": (
            {"language": segment.translation.language, "text": segment.translation.text}
            if segment.translation
            else None
        ),
        "emotion": (
            {
                "label": segment.emotion.label,
                "raw_label": segment.emotion.raw_label,
                "valence": segment.emotion.valence,
                "arousal": segment.emotion.arousal,
                "confidence": segment.emotion.confidence,
                "source": segment.emotion.source,
            }
            if segment.emotion
            else None
        ),
    }


def segment_from_dict(data: Mapping[str, Any]) -> Segment:
    """A segment as the record wrote it (`segment_to_dict`), read back; `KeyError` or
    `TypeError` when it lacks the fields every record's segments hold."""
    translation = data.get("translation")
    emotion = data.get("emotion")
    return Segment(
        id=int(data["id"]),
        start=float(data["start"]),
        end=float(data["end"]),
        text=str(data["text"]),
        words=tuple(
            Word(float(w["start"]), float(w["end"]), str(w["word"]), float(w["probability"]))
            for w in data.get("words") or ()
        ),
        language=str(data.get("language") or ""),
        confidence=float(data.get("confidence") or 0.0),
        channel=int(data.get("channel") or 0),
        speaker=data.get("speaker"),
        role=data.get("role") or "unknown",
        translation=(
            Translation(str(translation["language"]), str(translation["text"]))
            if translation
            else None
        ),
        emotion=(
            Emotion(
                label=str(emotion["label"]),
                valence=float(emotion["valence"]),
                arousal=float(emotion["arousal"]),
                confidence=float(emotion["confidence"]),
                source=str(emotion["source"]),
                raw_label=emotion.get("raw_label"),
            )
            if emotion
            else None
        ),
    )


def record_to_dict(record: InteractionRecord) -> dict[str, Any]:
    """The JSON form of a record, with ``integrity.content_sha256`` over everything else."""
    body: dict[str, Any] = {
        "id": record.id,
        "schema": SCHEMA,
        "created_at": record.created_at,
        "tenant": record.tenant,
        "audio": {
            "sha256": record.audio.sha256,
            "duration_s": round(record.audio.duration_s, 3),
            "sample_rate": record.audio.sample_rate,
            "channels": record.audio.channels,
            "format": record.audio.format,
            "redacted_sha256": record.redacted_audio_sha256,
        },
        "layout": record.layout,
        "languages": list(record.languages),
        "participants": [
            {"speaker": p.speaker, "role": p.role, "channel": p.channel, "confidence": p.confidence}
            for p in record.participants
        ],
        "segments": [segment_to_dict(s) for s in record.segments],
        "diarization": (
            {
                "method": record.diarization.method,
                "turns": [
                    {"start": t.start, "end": t.end, "speaker": t.speaker}
                    for t in record.diarization.turns
                ],
            }
            if record.diarization
            else None
        ),
        "metrics": dict(record.metrics),
        "topics": [dict(t) for t in record.topics],
        "summary": dict(record.summary) if record.summary is not None else None,
        "compliance": dict(record.compliance) if record.compliance is not None else None,
        "pii": dict(record.pii) if record.pii is not None else None,
        "review": dict(record.review) if record.review is not None else None,
        "provenance": {
            "pipeline_version": record.provenance.pipeline_version,
            "models": [
                {"stage": m.stage, "name": m.name, "version": m.version, "sha256": m.sha256}
                for m in record.provenance.models
            ],
            "options": dict(record.provenance.options),
        },
    }
    body[INTEGRITY_FIELD] = {
        "content_sha256": content_sha256(body),
        "prev_sha256": None,
        "signature": None,
        "key_id": None,
    }
    return body


def canonical_json(value: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, no insignificant whitespace, UTF-8."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def content_sha256(body: Mapping[str, Any]) -> str:
    """SHA-256 of a record's canonical JSON without its integrity block."""
    return hashlib.sha256(
        canonical_json({k: v for k, v in body.items() if k != INTEGRITY_FIELD})
    ).hexdigest()
