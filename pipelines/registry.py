"""Builds the configured stages and the live models (loading each model once) and runs files
through them."""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from models.asr import DecodingOptions, SpeechRecognizer
from models.device import check_device, limit_threads
from models.whisper import resolve_whisper
from pipelines.analytics.emotion import EmotionOptions
from pipelines.analytics.stage import AnalyticsStages, PendingStages
from pipelines.batch import CallPipeline
from pipelines.compliance.policy import Policy
from pipelines.core.errors import ConfigError
from pipelines.core.settings import Settings
from pipelines.core.types import Layout, ProgressHook, no_progress
from pipelines.record.schema import InteractionRecord
from pipelines.speakers.diarizer import Diarizer
from pipelines.transcribe.stage import TranscribeOptions, WhisperTranscriber
from pipelines.translate.stage import SegmentTranslator
from voice.decode import DecodeLimits, load_call_audio

if TYPE_CHECKING:
    from pipelines.live.call import LiveModels

logger = logging.getLogger(__name__)

MAX_DECODE_THREADS = 4  # a live decode's threads: more do not pay on CPU


def build_recognizer(settings: Settings, model: str | None = None) -> SpeechRecognizer:
    weights = resolve_whisper(
        model or settings.models.whisper,
        cache_dir=settings.models.cache_dir,
        allow_hub=settings.models.allow_hub,
    )
    device = check_device(settings.device)
    return SpeechRecognizer(
        weights,
        compute_type=settings.models.whisper_compute_type(device),
        cpu_threads=settings.models.cpu_threads,
        allow_hub=settings.models.allow_hub,
        device=device,
        batch_from_s=settings.models.batched_from_s(device),
    )


def build_pipeline(
    settings: Settings,
    *,
    model: str | None = None,
    language: str | None = None,
    diarize: bool = True,
    analytics: bool = True,
    policy: Policy | None = None,
    translate_to: str | None = None,
) -> CallPipeline:
    """A batch pipeline with the configured models, loaded now.

    ``diarize=False`` leaves mono calls without speakers and ``analytics=False`` skips
    redaction, emotion and compliance (benchmarks of transcription alone). ``translate_to``
    adds translations into that language (whisper for English, installed argos packages).
    The analytics stages are built in another thread (`build_analytics_aside`): the first
    call's transcription does not wait for them.
    """
    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
    limit_threads(settings.models.cpu_threads)
    decoding = DecodingOptions()
    recognizer = build_recognizer(settings, model)
    if language not in (None, "auto"):
        if language not in recognizer.supported_languages:
            raise ConfigError(
                f"language {language!r} is not one model {recognizer.weights.name} knows "
                f"({', '.join(recognizer.supported_languages)})"
            )
        decoding = replace(decoding, language=language)
    transcriber = WhisperTranscriber(recognizer, TranscribeOptions(decoding=decoding))
    translator = None
    if translate_to is not None:
        translator = build_translator(settings, recognizer)
        translator.check_target(translate_to)
    return CallPipeline(
        transcriber,
        translator=translator,
        translate_to=translate_to,
        diarizer=build_diarizer(settings) if diarize else None,
        analytics=build_analytics_aside(settings, policy) if analytics else AnalyticsStages(),
        tenant=settings.tenant,
        stereo_default=settings.audio.stereo_layout,
        vocabulary=settings.models.vocabulary,
        policy_vocabulary=settings.models.policy_hotwords,
    )


def build_translator(settings: Settings, recognizer: SpeechRecognizer) -> SegmentTranslator:
    """Whisper's translate task (multilingual models) and the installed argos packages."""
    from models.translate import PACKAGES_DIR_NAME, ArgosTranslator
    from pipelines.translate.stage import WhisperSpeechTranslator

    speech = WhisperSpeechTranslator(recognizer) if recognizer.multilingual else None
    return SegmentTranslator(speech, ArgosTranslator(settings.data_path / PACKAGES_DIR_NAME))


def build_analytics(
    settings: Settings, policy: Policy | None = None, *, load_now: bool = False
) -> AnalyticsStages:
    """PII redaction always; emotion from voice and words; topics; summary; compliance.

    The compliance checker, the topic classifier and the summarizer share one MiniLM embedder
    (loaded on first use). Compliance runs when a policy is given (here, or per call: the
    API's jobs set one). ``load_now`` also loads what the voice emotion model loads on its
    first turn.
    """
    from models.emotion.model import SpeechEmotionModel
    from models.sentiment import TextSentiment
    from models.text_embedding import SentenceEmbedder
    from pipelines.analytics.summary import EmbeddingSummarizer
    from pipelines.analytics.topics import EmbeddingTopicClassifier
    from pipelines.compliance.checker import ScriptComplianceChecker
    from pipelines.pii.redactor import default_redactor

    device = check_device(settings.device)
    embedder = SentenceEmbedder(threads=1, device=device)
    acoustic_emotion = SpeechEmotionModel(device=device)
    if load_now:
        acoustic_emotion.load()
    return AnalyticsStages(
        redactor=default_redactor(),
        text_sentiment=TextSentiment(),
        acoustic_emotion=acoustic_emotion,
        emotion=EmotionOptions(score_agents=settings.emotion.score_agents),
        compliance=ScriptComplianceChecker(embedder),
        policy=policy,
        topics=EmbeddingTopicClassifier(embedder),
        summarizer=EmbeddingSummarizer(embedder),
    )


def build_analytics_aside(settings: Settings, policy: Policy | None = None) -> PendingStages:
    """`build_analytics` in a thread of its own, started now.

    Their imports and loads (scipy for the voice features, presidio and spaCy,
    the emotion encoder, MiniLM: about 2 s) then overlap the first call's transcription, whose
    decoding runs in CTranslate2 without holding the GIL. An error of the build is raised where
    the stages are first needed (`PendingStages.wait`).
    """
    built: Future[AnalyticsStages] = Future()

    def build() -> None:
        built.set_running_or_notify_cancel()
        try:
            built.set_result(build_analytics(settings, policy, load_now=True))
        except BaseException as exc:  # handed to the caller by PendingStages.wait
            built.set_exception(exc)

    threading.Thread(target=build, name="callqa-analytics-build").start()
    return PendingStages(policy, built)


def build_diarizer(settings: Settings) -> Diarizer:
    """The mono-call diarizer: pyannote's pipeline when one is configured, else our own."""
    if settings.models.pyannote_dir is not None:
        from models.pyannote_diarizer import PyannoteDiarizer

        return PyannoteDiarizer(settings.models.pyannote_dir, device=check_device(settings.device))
    from pipelines.speakers.clustering import ClusteringDiarizer

    return ClusteringDiarizer(device=check_device(settings.device))


def decode_limits(settings: Settings) -> DecodeLimits:
    return DecodeLimits(
        max_bytes=settings.audio.max_bytes, max_duration_s=settings.audio.max_duration_s
    )


def analyze_file(
    pipeline: CallPipeline,
    path: str | Path,
    *,
    settings: Settings,
    layout: Layout | None = None,
    format_hint: str | None = None,
    hook: ProgressHook = no_progress,
) -> InteractionRecord:
    """Decode one recording and run it through the pipeline."""
    hook("decode")
    call = load_call_audio(path, format_hint=format_hint, limits=decode_limits(settings))
    return pipeline.analyze(call, layout=layout, hook=hook)


def build_live_models(settings: Settings) -> LiveModels:
    """Whisper for utterances and translation, PII, emotion and compliance stages."""
    from models.asr_stream import UtteranceDecoder
    from models.text_embedding import SentenceEmbedder
    from pipelines.compliance.checker import ScriptComplianceChecker
    from pipelines.live.call import LiveModels
    from pipelines.live.scheduler import StreamScheduler
    from pipelines.live.translate import LiveSpeechTranslator

    # one decode at a time uses every core (the scheduler never runs two); the torch models
    # of the post thread (emotion, sentence embeddings) take one thread beside it
    threads = settings.models.cpu_threads or min(os.cpu_count() or 1, MAX_DECODE_THREADS)
    live_settings = settings.model_copy(
        update={"models": settings.models.model_copy(update={"cpu_threads": threads})}
    )
    recognizer = build_recognizer(live_settings, None)
    stages = replace(
        build_analytics(settings),
        compliance=ScriptComplianceChecker(
            SentenceEmbedder(threads=1, device=check_device(settings.device))
        ),
    )
    decoder = UtteranceDecoder(recognizer)
    return LiveModels(
        decoder=decoder,
        scheduler=StreamScheduler(),
        stages=stages,
        translator=build_translator(settings, recognizer),
        speech_translation=LiveSpeechTranslator(decoder) if decoder.multilingual else None,
    )
