"""Silero VAD v6 (the ONNX model that ships inside the faster-whisper wheel)."""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.resources
from dataclasses import dataclass
from pathlib import Path

from models.weights import file_sha256
from pipelines.core.audio import SAMPLE_RATE, require_sample_rate
from pipelines.core.errors import ModelUnavailableError
from pipelines.core.types import Audio, ModelInfo, SpeechRegion


@functools.lru_cache(maxsize=1)
def silero_info() -> ModelInfo:
    """Name, version and weights hash of the Silero model, for provenance."""
    digest = file_sha256(silero_model_path())
    version = importlib.metadata.version("faster-whisper")
    return ModelInfo("vad", "silero-vad-v6", f"faster-whisper {version}", digest)


def silero_model_path() -> Path:
    path = Path(str(importlib.resources.files("faster_whisper").joinpath("assets")))
    model = path / "silero_vad_v6.onnx"
    if not model.is_file():
        raise ModelUnavailableError("silero-vad", "pip install --force-reinstall faster-whisper")
    return model


@dataclass(frozen=True, slots=True)
class SileroVad:
    """Speech regions from Silero VAD; expects 16 kHz audio."""

    threshold: float = 0.5
    min_speech_s: float = 0.25
    min_silence_s: float = 0.3
    pad_s: float = 0.1

    def regions(self, audio: Audio) -> tuple[SpeechRegion, ...]:
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        require_sample_rate(audio, "Silero VAD")
        silero_model_path()
        options = VadOptions(
            threshold=self.threshold,
            min_speech_duration_ms=int(self.min_speech_s * 1000),
            min_silence_duration_ms=int(self.min_silence_s * 1000),
            speech_pad_ms=int(self.pad_s * 1000),
        )
        stamps = get_speech_timestamps(audio.samples, options, sampling_rate=SAMPLE_RATE)
        return tuple(
            SpeechRegion(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE, audio.channel)
            for s in stamps
        )
