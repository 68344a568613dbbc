"""The models a server's live calls share, loaded once on the first live call."""

from __future__ import annotations

from dataclasses import dataclass

from models.asr_stream import UtteranceDecoder
from pipelines.analytics import AnalyticsStages
from pipelines.settings import Settings
from pipelines.streaming_scheduler import StreamScheduler
from pipelines.translate import SegmentTranslator


@dataclass(frozen=True, slots=True)
class LiveModels:
    decoder: UtteranceDecoder
    scheduler: StreamScheduler
    stages: AnalyticsStages
    translator: SegmentTranslator | None


def build_live_models(settings: Settings) -> LiveModels:
    """Whisper for utterances and translation, PII, emotion and compliance stages."""
    from dataclasses import replace

    from models.text_embedding import SentenceEmbedder
    from pipelines.compliance import ScriptComplianceChecker
    from pipelines.registry import build_analytics, build_recognizer, build_translator

    recognizer = build_recognizer(settings, None)
    stages = replace(
        build_analytics(settings),
        compliance=ScriptComplianceChecker(SentenceEmbedder(threads=1)),
    )
    return LiveModels(
        decoder=UtteranceDecoder(recognizer),
        scheduler=StreamScheduler(),
        stages=stages,
        translator=build_translator(settings, recognizer),
    )
