"""Silero VAD v6 (the ONNX model that ships inside the faster-whisper wheel).

One channel's speech is looked for several times in a call: by whisper's own VAD before it
decodes, by coverage, by stereo speaker turns or mono diarization, by missed-speech recovery.
Each asks with its own thresholds, but Silero's speech probabilities depend on the samples
alone, so `share_speech_probabilities` makes faster-whisper's VAD (which all of them run) load
the model once per process and keep the probabilities of the last few arrays it was given
(keyed by a BLAKE2 digest of their bytes): the thresholds are applied to exactly what a new run
would have computed.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.resources
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.encoder_cache import array_key
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


class RememberedSpeechProbabilities:
    """Silero's model with the probabilities of the last ``capacity`` arrays it heard kept."""

    def __init__(self, model: Any, capacity: int = 8) -> None:
        self.model = model
        self.capacity = capacity
        self.runs = 0  # the model's own runs (a count for benches and tests)
        self._kept: OrderedDict[tuple[bytes, int, int], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(
        self, audio: np.ndarray, num_samples: int = 512, context_size_samples: int = 64
    ) -> np.ndarray:
        # the digest first: the model writes into the array it is given
        key = (array_key(audio), num_samples, context_size_samples)
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None:
                self._kept.move_to_end(key)
                return kept.copy()
        probabilities: np.ndarray = self.model(audio, num_samples, context_size_samples)
        with self._lock:
            self.runs += 1
            self._kept[key] = probabilities.copy()
            while len(self._kept) > self.capacity:
                self._kept.popitem(last=False)
        return probabilities

    @property
    def session(self) -> Any:
        """The ONNX session (the streaming VAD runs it window by window)."""
        return self.model.session


@functools.lru_cache(maxsize=1)
def share_speech_probabilities() -> RememberedSpeechProbabilities:
    """Make faster-whisper's VAD use one Silero model per process, its probabilities kept
    (faster-whisper loads a new ONNX session on every call otherwise); returns that model."""
    import faster_whisper.vad as whisper_vad

    shared = RememberedSpeechProbabilities(whisper_vad.get_vad_model())

    def get_vad_model() -> Any:
        return shared

    whisper_vad.get_vad_model = get_vad_model
    return shared


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
        share_speech_probabilities()
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
