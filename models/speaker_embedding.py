"""Speaker embeddings from resemblyzer's GE2E voice encoder (weights ship inside its wheel).

The encoder is a 3-layer LSTM over 40-band mel frames (25 ms / 10 ms); its final hidden state,
projected, rectified and L2-normalised, is a 256-dim embedding. It was trained on 1.6 s partial
utterances, so longer windows are split into 1.6 s partials whose embeddings are averaged.

``SpeakerEmbedder`` computes the mel frames of a whole call once and batches the windows through
the LSTM, instead of resemblyzer's one-utterance-at-a-time ``embed_utterance``. The LSTM runs in
numpy float32 (``GE2E``; within 1e-5 of torch's), from resemblyzer's weights converted once into
the model cache (``models.convert ge2e``): a process that diarizes never loads torch.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from models.convert import GE2E_FILE
from models.dsp import spectrum
from models.weights import converted, default_cache_dir, file_sha256
from pipelines.core.audio import SAMPLE_RATE
from pipelines.core.errors import ModelUnavailableError
from pipelines.core.types import ModelInfo

logger = logging.getLogger(__name__)

EMBEDDING_DIM = 256
FRAME_RATE = 100  # mel frames per second (10 ms hop)
PARTIAL_FRAMES = 160  # 1.6 s, what GE2E was trained on
_N_FFT = 400
_HOP = 160
_N_MELS = 40
_TARGET_DBFS = -30.0
_CHUNK_FRAMES = 6000  # one minute of frames
_REMEDY = "pip install resemblyzer==0.1.4"
_LAYERS = 3
CONVERTED_DIR = "resemblyzer-ge2e-npz"

Embeddings = npt.NDArray[np.float32]
Mel = npt.NDArray[np.float32]


def resemblyzer_weights() -> Path:
    """Path of ``pretrained.pt`` inside the installed resemblyzer package (not imported)."""
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError("resemblyzer", _REMEDY)
    path = Path(next(iter(spec.submodule_search_locations))) / "pretrained.pt"
    if not path.is_file():
        raise ModelUnavailableError("resemblyzer", f"{path} is missing; {_REMEDY}")
    return path


def mel_frames(samples_16k: npt.NDArray[np.float32]) -> Mel:
    """Mel frames (n_frames, 40) of a whole call, as resemblyzer computes them.

    The volume is first raised (never lowered) to -30 dBFS, as ``resemblyzer.preprocess_wav``
    does, because the encoder takes power mels, not log mels. Frame ``i`` is centred at ``i/100`` s.
    """
    wav = np.asarray(samples_16k, dtype=np.float32)
    rms = float(np.sqrt(np.mean(np.square(wav, dtype=np.float64)))) if wav.size else 0.0
    if rms > 0:
        gain_db = _TARGET_DBFS - 20 * np.log10(rms)
        if gain_db > 0:
            wav = wav * np.float32(10 ** (gain_db / 20))
    # librosa's centred frames, computed a minute at a time to bound memory on long calls.
    n_frames = 1 + wav.size // _HOP
    padded = np.pad(wav, (_N_FFT // 2, _N_FFT // 2 + _N_FFT))
    out = np.empty((n_frames, _N_MELS), dtype=np.float32)
    for first in range(0, n_frames, _CHUNK_FRAMES):
        last = min(n_frames, first + _CHUNK_FRAMES)
        piece = padded[first * _HOP : (last - 1) * _HOP + _N_FFT]
        mel = spectrum.melspectrogram(
            y=piece, sr=SAMPLE_RATE, n_fft=_N_FFT, hop_length=_HOP, n_mels=_N_MELS, center=False
        )
        out[first:last] = mel.T
    return out


class GE2E:
    """resemblyzer's voice encoder: a 3-layer LSTM (gates in torch's order: input, forget,
    cell, output), its last hidden state projected, rectified and L2-normalised."""

    def __init__(self, arrays: Mapping[str, npt.NDArray[np.float32]]) -> None:
        self.layers = [
            (
                np.ascontiguousarray(arrays[f"lstm.weight_ih_l{n}"].T),
                np.ascontiguousarray(arrays[f"lstm.weight_hh_l{n}"].T),
                arrays[f"lstm.bias_ih_l{n}"] + arrays[f"lstm.bias_hh_l{n}"],
            )
            for n in range(_LAYERS)
        ]
        self.projection = np.ascontiguousarray(arrays["linear.weight"].T)
        self.projection_bias = arrays["linear.bias"]

    def __call__(self, mels: npt.NDArray[np.float32]) -> Embeddings:
        """(batch, frames, 40) mel frames -> (batch, 256) embeddings."""
        x = np.ascontiguousarray(mels, dtype=np.float32)
        batch, frames, _ = x.shape
        hidden = np.zeros((batch, EMBEDDING_DIM), dtype=np.float32)
        for w_in, w_hidden, bias in self.layers:
            width = w_hidden.shape[0]
            # sigmoid(x) = (tanh(x / 2) + 1) / 2: the input, forget and output gates' weights
            # are halved once, so one tanh over all four gates serves each step
            halve = np.full(4 * width, 0.5, dtype=np.float32)
            halve[2 * width : 3 * width] = 1.0
            inputs = (x @ w_in + bias) * halve  # (batch, frames, 4 * hidden)
            recurrent = w_hidden * halve
            hidden = np.zeros((batch, width), dtype=np.float32)
            cell = np.zeros_like(hidden)
            out = np.empty((batch, frames, width), dtype=np.float32)
            for t in range(frames):
                gates = np.tanh(inputs[:, t] + hidden @ recurrent)
                i, f, g, o = np.split(gates, 4, axis=1)
                cell = (f + 1) * 0.5 * cell + (i + 1) * 0.5 * g
                hidden = (o + 1) * 0.5 * np.tanh(cell)
                out[:, t] = hidden
            x = out
        raw = np.maximum(hidden @ self.projection + self.projection_bias, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):  # an all-zero row: NaN, as torch
            embeds: Embeddings = raw / np.linalg.norm(raw, axis=1, keepdims=True)
        return embeds


def _torch_encoder(weights: Path, device: str) -> Callable[[npt.NDArray[np.float32]], Embeddings]:
    """resemblyzer's ``VoiceEncoder`` on ``device`` (``CALLQA_DEVICE=cuda``)."""
    try:
        import torch
        from resemblyzer import VoiceEncoder
    except ImportError as exc:
        raise ModelUnavailableError("resemblyzer", f"{exc}; {_REMEDY}") from exc
    encoder = VoiceEncoder(device=device, verbose=False, weights_fpath=weights)
    encoder.eval()

    def embed(mels: npt.NDArray[np.float32]) -> Embeddings:
        with torch.no_grad():
            batch = torch.from_numpy(np.ascontiguousarray(mels)).to(device)
            return np.asarray(encoder(batch).cpu().numpy(), dtype=np.float32)

    return embed


class SpeakerEmbedder:
    """The GE2E encoder, loaded on first use; ``embed_windows`` is thread-safe."""

    def __init__(
        self,
        *,
        batch_size: int = 64,
        cache_dir: Path | None = None,
        device: str = "cpu",
    ) -> None:
        weights = resemblyzer_weights()
        self._weights = weights
        self._cache_dir = cache_dir
        self._device = device
        self.batch_size = batch_size
        self.info = ModelInfo(
            stage="diarize",
            name="resemblyzer-ge2e",
            version=f"resemblyzer {importlib.metadata.version('resemblyzer')}",
            sha256=file_sha256(weights),
        )

    @functools.cached_property
    def _model(self) -> Callable[[npt.NDArray[np.float32]], Embeddings]:
        """The encoder: numpy from the weights converted once into the model cache, or
        resemblyzer's own (torch) on a GPU."""
        if self._device != "cpu":
            return _torch_encoder(self._weights, self._device)
        cache = self._cache_dir if self._cache_dir is not None else default_cache_dir()
        target = converted("ge2e", self._weights, self._weights, cache / CONVERTED_DIR)
        with np.load(target / GE2E_FILE) as arrays:
            return GE2E({name: arrays[name] for name in arrays.files})

    def embed_windows(
        self, samples_16k: npt.NDArray[np.float32], windows: Sequence[tuple[float, float]]
    ) -> Embeddings:
        """L2-normalised embeddings (n, 256) of ``windows`` (start, end in seconds)."""
        if not windows:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        return self.embed_mel_windows(mel_frames(samples_16k), windows)

    def embed_mel_windows(self, mel: Mel, windows: Sequence[tuple[float, float]]) -> Embeddings:
        """Like ``embed_windows`` on frames from ``mel_frames``, so several passes share them."""
        out = np.zeros((len(windows), EMBEDDING_DIM), dtype=np.float32)
        if not windows:
            return out
        # Each window becomes one or more partials of at most PARTIAL_FRAMES frames.
        partials: dict[int, list[tuple[int, int]]] = {}  # length -> [(window index, start frame)]
        n_total = mel.shape[0]
        for index, (start, end) in enumerate(windows):
            first = max(0, min(round(start * FRAME_RATE), n_total - 1))
            last = max(first + 1, min(round(end * FRAME_RATE), n_total))
            length = last - first
            if length <= PARTIAL_FRAMES:
                partials.setdefault(length, []).append((index, first))
                continue
            count = int(np.ceil((length - PARTIAL_FRAMES) / (PARTIAL_FRAMES // 2))) + 1
            for offset in np.linspace(0, length - PARTIAL_FRAMES, count).round().astype(int):
                partials.setdefault(PARTIAL_FRAMES, []).append((index, first + int(offset)))
        encoder = self._model
        for length, items in partials.items():
            for lo in range(0, len(items), self.batch_size):
                chunk = items[lo : lo + self.batch_size]
                batch = np.stack([mel[s : s + length] for _, s in chunk])
                embeds = np.nan_to_num(encoder(batch))
                np.add.at(out, [i for i, _ in chunk], embeds)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.asarray(out / np.maximum(norms, 1e-8), dtype=np.float32)
