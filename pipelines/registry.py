"""Builds the configured stages (loading each model once) and runs files through them."""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path

from models.asr import DecodingOptions, SpeechRecognizer
from models.whisper import resolve_whisper
from pipelines.diarize import Diarizer
from pipelines.errors import ConfigError
from pipelines.pipeline import CallPipeline
from pipelines.record import InteractionRecord
from pipelines.settings import Settings
from pipelines.transcribe import TranscribeOptions, WhisperTranscriber
from pipelines.types import Layout, ProgressHook, no_progress
from voice.decode import DecodeLimits, load_call_audio

logger = logging.getLogger(__name__)


def build_recognizer(settings: Settings, model: str | None = None) -> SpeechRecognizer:
    weights = resolve_whisper(
        model or settings.models.whisper,
        cache_dir=settings.models.cache_dir,
        allow_hub=settings.models.allow_hub,
    )
    return SpeechRecognizer(
        weights,
        compute_type=settings.models.compute_type,
        cpu_threads=settings.models.cpu_threads,
        allow_hub=settings.models.allow_hub,
    )


def build_pipeline(
    settings: Settings,
    *,
    model: str | None = None,
    language: str | None = None,
    diarize: bool = True,
) -> CallPipeline:
    """A batch pipeline with the configured models, loaded now.

    ``diarize=False`` leaves mono calls without speakers (benchmarks of transcription alone).
    """
    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
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
    return CallPipeline(
        transcriber,
        diarizer=build_diarizer(settings) if diarize else None,
        tenant=settings.tenant,
        stereo_default=settings.audio.stereo_layout,
    )


def build_diarizer(settings: Settings) -> Diarizer | None:
    """The mono-call diarizer: none until the offline diarizer lands."""
    return None


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
