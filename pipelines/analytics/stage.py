"""Analytics stages after speakers are known: PII redaction, emotion, compliance, topics,
summary.

The order, account and case numbers said in the call are read before redaction
(``references``: kept in memory for the service to pseudonymize, never in a record).
Redaction runs first so that everything after it (compliance evidence included, and
everything stored) sees only placeholders. Each stage is optional; what ran is reported in
the result's provenance.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal

from pipelines.analytics.emotion import (
    AcousticEmotionModel,
    EmotionOptions,
    TextPolarity,
    escalation,
    score_emotions,
)
from pipelines.analytics.summary import Summarizer
from pipelines.analytics.topics import DEFAULT_CATEGORIES, TopicClassifier
from pipelines.compliance.checker import ComplianceChecker, compliance_to_dict
from pipelines.compliance.policy import Policy, TopicCategory
from pipelines.core.types import CallAudio, ModelInfo, Segment
from pipelines.pii.redactor import PiiRedactor
from pipelines.pii.references import Reference, spoken_references
from voice.redact import encode_wav, redact_audio

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AnalyticsStages:
    """The optional analytics stages a pipeline runs."""

    redactor: PiiRedactor | None = None
    acoustic_emotion: AcousticEmotionModel | None = None
    text_sentiment: TextPolarity | None = None
    emotion: EmotionOptions = field(default_factory=EmotionOptions)
    compliance: ComplianceChecker | None = None
    policy: Policy | None = None
    topics: TopicClassifier | None = None
    summarizer: Summarizer | None = None
    redact_audio_mode: Literal["beep", "silence"] = "beep"


@dataclass(frozen=True, slots=True)
class PendingStages:
    """Analytics stages still being built (in another thread, while the call is transcribed).

    ``policy`` is known at once: the transcription's vocabulary needs it before the stages.
    """

    policy: Policy | None
    built: Future[AnalyticsStages]

    def wait(self) -> AnalyticsStages:
        """The stages, once built; an error of the build is raised here."""
        return self.built.result()


@dataclass(frozen=True, slots=True)
class AnalyticsResult:
    segments: tuple[Segment, ...]
    redacted_audio: CallAudio
    redacted_audio_sha256: str
    pii: Mapping[str, Any] | None
    escalation: Mapping[str, Any] | None
    compliance: Mapping[str, Any] | None
    topics: tuple[Mapping[str, Any], ...]
    models: tuple[ModelInfo, ...]
    options: Mapping[str, Any]
    summary: Mapping[str, Any] | None = None
    references: tuple[Reference, ...] = ()


def run_analytics(
    segments: tuple[Segment, ...], call: CallAudio, stages: AnalyticsStages
) -> AnalyticsResult:
    """Redact, score emotion, check compliance, find topics, summarize; return the redacted
    audio and its hash."""
    references = spoken_references(segments)
    pii = None
    redacted_call = call
    options: dict[str, Any] = {}
    models: list[ModelInfo] = []
    if stages.redactor is not None:
        redaction = stages.redactor.redact(segments)
        segments = redaction.segments
        pii = redaction.to_json()
        spans = redaction.audio_spans()
        if spans:
            redacted_call = redact_audio(call, spans, mode=stages.redact_audio_mode)
        options["pii"] = {"policy": stages.redactor.policy, "audio": stages.redact_audio_mode}
        logger.info("redacted %d personal data entities", len(redaction.entities))
    else:
        options["pii"] = None
    emotion_summary = None
    if stages.acoustic_emotion is not None or stages.text_sentiment is not None:
        segments = score_emotions(
            segments, call, stages.acoustic_emotion, stages.text_sentiment, stages.emotion
        )
        emotion_summary = escalation(segments, stages.emotion)
        models += [m.info for m in (stages.acoustic_emotion, stages.text_sentiment) if m]
        options["emotion"] = {"score_agents": stages.emotion.score_agents}
    compliance = None
    if stages.compliance is not None and stages.policy is not None:
        compliance = compliance_to_dict(stages.compliance.check(segments, stages.policy))
        models += stages.compliance.models
        options["compliance"] = {"policy": stages.policy.id}
    topics: tuple[Mapping[str, Any], ...] = ()
    options["topics"] = None
    if stages.topics is not None:
        categories, source = topic_categories(stages.policy)
        topics = tuple(t.to_dict() for t in stages.topics.classify(segments, categories))
        models += stages.topics.models
        opts = stages.topics.options
        options["topics"] = {
            "categories": source,
            "labels": [c.label for c in categories],
            "threshold": opts.threshold,
            "temperature": opts.temperature,
        }
    call_summary = None
    if stages.summarizer is not None:
        call_summary = stages.summarizer.summarize(segments).to_dict()
        models += stages.summarizer.models
    digest = hashlib.sha256(encode_wav(redacted_call)).hexdigest()
    return AnalyticsResult(
        segments=segments,
        redacted_audio=redacted_call,
        redacted_audio_sha256=digest,
        pii=pii,
        escalation=emotion_summary,
        compliance=compliance,
        topics=topics,
        models=tuple(models),
        options=options,
        summary=call_summary,
        references=references,
    )


def topic_categories(policy: Policy | None) -> tuple[tuple[TopicCategory, ...], str]:
    """The policy's topics when it has some, else the default ones; and which they are."""
    if policy is not None and policy.topics:
        return policy.topics, f"policy {policy.id} {policy.version}"
    return DEFAULT_CATEGORIES, "default"
