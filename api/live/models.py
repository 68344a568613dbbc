"""The models a server's live calls share, loaded once on the first live call."""

from __future__ import annotations

import os
from dataclasses import dataclass

from models.asr_stream import UtteranceDecoder
from pipelines.analytics.stage import AnalyticsStages
from pipelines.core.settings import Settings
from pipelines.live.scheduler import StreamScheduler
from pipelines.live.translate import LiveSpeechTranslator
from pipelines.translate.stage import SegmentTranslator

MAX_DECODE_THREADS = 4


@dataclass(frozen=True, slots=True)
class LiveModels:
    decoder: UtteranceDecoder
    scheduler: StreamScheduler
    stages: AnalyticsStages
    translator: SegmentTranslator | None  # text translation (argos) to other targets
    speech_translation: LiveSpeechTranslator | None  # speech to English (whisper)


def build_live_models(settings: Settings) -> LiveModels:
    """Whisper for utterances and translation, PII, emotion and compliance stages."""
    from dataclasses import replace

    from models.text_embedding import SentenceEmbedder
    from pipelines.compliance.checker import ScriptComplianceChecker
    from pipelines.registry import build_analytics, build_recognizer, build_translator

    # one decode at a time uses every core (the scheduler never runs two); the torch models
    # of the post thread (emotion, sentence embeddings) take one thread beside it
    threads = settings.models.cpu_threads or min(os.cpu_count() or 1, MAX_DECODE_THREADS)
    live_settings = settings.model_copy(
        update={"models": settings.models.model_copy(update={"cpu_threads": threads})}
    )
    recognizer = build_recognizer(live_settings, None)
    stages = replace(
        build_analytics(settings),
        compliance=ScriptComplianceChecker(SentenceEmbedder(threads=1)),
    )
    decoder = UtteranceDecoder(recognizer)
    return LiveModels(
        decoder=decoder,
        scheduler=StreamScheduler(),
        stages=stages,
        translator=build_translator(settings, recognizer),
        speech_translation=LiveSpeechTranslator(decoder) if decoder.multilingual else None,
    )
