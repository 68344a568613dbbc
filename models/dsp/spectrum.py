"""Short-time Fourier transforms and mel spectra, as librosa 0.11 computes them.

``stft``, ``istft``, ``window_sumsquare``, ``mel`` (``librosa.filters.mel``), ``melspectrogram``,
``power_to_db`` and the frequency conversions, for 1-D signals with librosa's defaults (periodic
Hann window as long as the frame, zero padding, Slaney mel scale and norm). Each does librosa's
numpy and scipy operations in librosa's order, on the same dtypes and memory layouts (the layout
decides the order in which numpy sums, so results and their layouts are kept), and calls
``scipy.fft`` on the same blocks of frames: the arrays are librosa's, bit for bit.

librosa's numba loops (the overlap-add of ``istft``, the window envelope) are done in numpy with
the same float arithmetic: every output sample receives its frames in increasing order, each
added in float64 and stored in the output dtype, as numba's ``y[a:b] += frame`` does.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import scipy.fft

from models.dsp.framing import frame

logger = logging.getLogger(__name__)

MAX_MEM_BLOCK = 2**8 * 2**10  # librosa.util.MAX_MEM_BLOCK: bytes of frames per FFT call

Real = npt.NDArray[np.floating[Any]]
Complex = npt.NDArray[np.complexfloating[Any, Any]]
Float64 = npt.NDArray[np.float64]
Float32 = npt.NDArray[np.float32]


def check_audio(y: Real) -> None:
    """Raise ``ValueError`` unless ``y`` is a finite 1-D float array (librosa's ``valid_audio``)."""
    if not isinstance(y, np.ndarray) or not np.issubdtype(y.dtype, np.floating):
        raise ValueError("audio must be a floating-point numpy array")
    if y.ndim != 1:
        raise ValueError(f"audio must be one-dimensional, got shape {y.shape}")
    if not np.isfinite(y).all():
        raise ValueError("audio buffer is not finite everywhere")


@functools.lru_cache(maxsize=8)
def hann(n_fft: int) -> Float64:
    """Periodic Hann window of ``n_fft`` points, float64, read-only
    (``librosa.filters.get_window("hann", n_fft)``)."""
    import scipy.signal  # 0.6 s to import: the speaker mels, on a call's path, need only this

    window: Float64 = scipy.signal.get_window("hann", n_fft, fftbins=True)
    window.setflags(write=False)
    return window


def _complex_dtype(dtype: np.dtype[Any]) -> type[np.complexfloating[Any, Any]]:
    """``librosa.util.dtype_r2c``."""
    return np.complex128 if dtype == np.float64 else np.complex64


def _real_dtype(dtype: np.dtype[Any]) -> type[np.floating[Any]]:
    """``librosa.util.dtype_c2r``."""
    return np.float64 if dtype == np.complex128 else np.float32


def stft(y: Real, *, n_fft: int, hop_length: int, center: bool = True) -> Complex:
    """``librosa.stft(y, n_fft=n_fft, hop_length=hop_length, center=center)``: Hann window,
    zero padding, (1 + n_fft // 2, frames) in Fortran order, complex64 for float32 ``y``."""
    check_audio(y)
    if hop_length < 1:
        raise ValueError(f"hop_length={hop_length} must be a positive integer")
    window = hann(n_fft).reshape(-1, 1)
    head: Real | None = None
    tail: Real | None = None
    start = extra = 0
    half = n_fft // 2
    if center:
        if n_fft > y.shape[-1]:
            logger.debug("n_fft=%d is too large for a signal of %d samples", n_fft, y.shape[-1])
        start_k = int(np.ceil(half / hop_length))  # frames that read the head padding
        tail_k = (y.shape[-1] + half - n_fft) // hop_length + 1  # first to read the tail's
        if tail_k <= start_k:
            y = np.pad(y, (half, half), mode="constant")
        else:  # pad the head and the tail apart, as librosa does
            start = start_k * hop_length - half
            y_pre = np.pad(y[: (start_k - 1) * hop_length - half + n_fft + 1], (half, 0))
            head = frame(y_pre, n_fft, hop_length)[:, :start_k]
            extra = head.shape[-1]
            if tail_k * hop_length - half + n_fft <= y.shape[-1] + half:
                y_post = np.pad(y[tail_k * hop_length - half :], (0, half))
                tail = frame(y_post, n_fft, hop_length)
                extra += tail.shape[-1]
    elif n_fft > y.shape[-1]:
        raise ValueError(f"n_fft={n_fft} is too large for uncentered analysis of {len(y)} samples")

    frames = frame(y[start:], n_fft, hop_length)
    shape = (1 + n_fft // 2, frames.shape[-1] + extra)
    out: Complex = np.zeros(shape, dtype=_complex_dtype(y.dtype), order="F")
    off_start = 0
    if head is not None:
        off_start = head.shape[-1]
        out[:, :off_start] = scipy.fft.rfft(window * head, axis=-2)
        if tail is not None and tail.shape[-1] > 0:
            out[:, -tail.shape[-1] :] = scipy.fft.rfft(window * tail, axis=-2)
    n_columns = max(int(MAX_MEM_BLOCK // (frames.shape[0] * frames.itemsize)), 1)
    for bl_s in range(0, frames.shape[-1], n_columns):
        bl_t = min(bl_s + n_columns, frames.shape[-1])
        out[:, bl_s + off_start : bl_t + off_start] = scipy.fft.rfft(
            window * frames[:, bl_s:bl_t], axis=-2
        )
    return out


def _overlap_add(frames: Float64, hop_length: int, dtype: type[np.floating[Any]]) -> Real:
    """Frames (n_fft, n) summed at multiples of ``hop_length`` into a ``dtype`` buffer of
    ``n_fft + hop_length * (n - 1)`` samples, each sample receiving its frames in increasing order
    (librosa's ``__overlap_add`` and ``__window_ss_fill``: a float64 sum stored as ``dtype``).

    The buffer is viewed as hops (rows): hop ``c`` takes part ``j`` of frame ``c - j``, so adding
    the parts from the last one to the first adds each hop's frames from the oldest on.
    """
    n_fft, n_frames = frames.shape
    parts = -(-n_fft // hop_length)
    hops = np.zeros((n_frames - 1 + parts, hop_length), dtype=dtype)
    for j in range(parts - 1, -1, -1):
        width = min(hop_length, n_fft - j * hop_length)
        hops[j : j + n_frames, :width] += frames[j * hop_length : j * hop_length + width].T
    buffer: Real = hops.reshape(-1)[: n_fft + hop_length * (n_frames - 1)]
    return buffer


def window_sumsquare(
    *, n_frames: int, hop_length: int, n_fft: int, dtype: Any = np.float32
) -> Real:
    """``librosa.filters.window_sumsquare(window="hann", ...)``: the squared Hann windows of
    ``n_frames`` frames summed, ``n_fft + hop_length * (n_frames - 1)`` samples."""
    win_sq = hann(n_fft) ** 2
    if n_frames < 1:
        return np.zeros(n_fft + hop_length * (n_frames - 1), dtype=dtype)
    frames = np.broadcast_to(win_sq[:, np.newaxis], (n_fft, n_frames))
    return _overlap_add(frames, hop_length, dtype)


def istft(stft_matrix: Complex, *, hop_length: int, length: int) -> Real:
    """``librosa.istft(stft_matrix, hop_length=hop_length, length=length)``: Hann window of
    ``n_fft = 2 * (bins - 1)``, centred frames; float32 for complex64 input."""
    if length < 1:
        raise ValueError(f"length={length} must be positive")
    n_fft = 2 * (stft_matrix.shape[-2] - 1)
    half = n_fft // 2
    window = hann(n_fft).reshape(-1, 1)
    n_frames = min(stft_matrix.shape[-1], int(np.ceil((length + 2 * half) / hop_length)))
    dtype = _real_dtype(stft_matrix.dtype)

    # librosa inverts the head frames (those reading the padding), then blocks of frames
    start_frame = int(np.ceil(half / hop_length))
    blocks = [window * scipy.fft.irfft(stft_matrix[..., :start_frame], n=n_fft, axis=-2)]
    n_columns = max(int(MAX_MEM_BLOCK // (stft_matrix.shape[-2] * stft_matrix.itemsize)), 1)
    for bl_s in range(start_frame, n_frames, n_columns):
        bl_t = min(bl_s + n_columns, n_frames)
        blocks.append(window * scipy.fft.irfft(stft_matrix[..., bl_s:bl_t], n=n_fft, axis=-2))
    buffer = _overlap_add(np.concatenate(blocks, axis=1), hop_length, dtype)

    y = np.zeros(length, dtype=dtype)
    kept = buffer[half : half + length]
    y[: len(kept)] = kept
    window_sum = window_sumsquare(
        n_frames=n_frames, hop_length=hop_length, n_fft=n_fft, dtype=dtype
    )[half:]
    if len(window_sum) > length:
        window_sum = window_sum[:length]
    elif len(window_sum) < length:
        window_sum = np.pad(window_sum, (0, length - len(window_sum)))
    nonzero = window_sum > np.finfo(window_sum.dtype).tiny
    y[nonzero] /= window_sum[nonzero]
    return y


def fft_frequencies(*, sr: float, n_fft: int) -> Float64:
    """Centre frequencies of the ``1 + n_fft // 2`` FFT bins (``librosa.fft_frequencies``)."""
    return cast(Float64, np.fft.rfftfreq(n=n_fft, d=1.0 / sr))


_F_SP = 200.0 / 3  # Slaney mel scale: linear below 1 kHz, logarithmic above
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = (_MIN_LOG_HZ - 0.0) / _F_SP


def _logstep() -> np.float64:
    step: np.float64 = np.log(6.4) / 27.0
    return step


def hz_to_mel(frequencies: npt.ArrayLike) -> Any:
    """``librosa.hz_to_mel(frequencies)`` (Slaney): a float64 scalar for a scalar, else an array."""
    hz = np.asanyarray(frequencies)
    mels: Any = (hz - 0.0) / _F_SP
    if hz.ndim:
        log_t = hz >= _MIN_LOG_HZ
        mels[log_t] = _MIN_LOG_MEL + np.log(hz[log_t] / _MIN_LOG_HZ) / _logstep()
    elif hz >= _MIN_LOG_HZ:
        mels = _MIN_LOG_MEL + np.log(hz / _MIN_LOG_HZ) / _logstep()
    return mels


def mel_to_hz(mels: npt.ArrayLike) -> Any:
    """``librosa.mel_to_hz(mels)`` (Slaney): a float64 scalar for a scalar, else an array."""
    mel = np.asanyarray(mels)
    freqs: Any = 0.0 + _F_SP * mel
    if mel.ndim:
        log_t = mel >= _MIN_LOG_MEL
        freqs[log_t] = _MIN_LOG_HZ * np.exp(_logstep() * (mel[log_t] - _MIN_LOG_MEL))
    elif mel >= _MIN_LOG_MEL:
        freqs = _MIN_LOG_HZ * np.exp(_logstep() * (mel - _MIN_LOG_MEL))
    return freqs


def mel_frequencies(n_mels: int, *, fmin: float, fmax: float) -> Float64:
    """``n_mels`` frequencies evenly spaced in Slaney mels (``librosa.mel_frequencies``)."""
    mels = np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels)
    hz: Float64 = mel_to_hz(mels)
    return hz


@functools.lru_cache(maxsize=16)
def mel(
    *, sr: float, n_fft: int, n_mels: int = 128, fmin: float = 0.0, fmax: float | None = None
) -> Float32:
    """``librosa.filters.mel(sr=..., n_fft=..., n_mels=..., fmin=..., fmax=...)`` (Slaney scale
    and norm, float32, (n_mels, 1 + n_fft // 2)); cached and read-only."""
    if fmax is None:
        fmax = float(sr) / 2
    n_mels = int(n_mels)
    weights = np.zeros((n_mels, int(1 + n_fft // 2)), dtype=np.float32)
    fftfreqs = fft_frequencies(sr=sr, n_fft=n_fft)
    mel_f = mel_frequencies(n_mels + 2, fmin=fmin, fmax=fmax)
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels])
    weights *= enorm[:, np.newaxis]
    if not np.all((mel_f[:-2] == 0) | (weights.max(axis=1) > 0)):
        logger.warning("empty mel filters: sr=%s n_fft=%d n_mels=%d", sr, n_fft, n_mels)
    weights.setflags(write=False)
    return weights


def melspectrogram(
    *,
    y: Real | None = None,
    sr: float = 22050,
    S: Real | None = None,
    n_fft: int = 2048,
    hop_length: int = 512,
    center: bool = True,
    power: float = 2.0,
    n_mels: int = 128,
    fmin: float = 0.0,
    fmax: float | None = None,
) -> Real:
    """``librosa.feature.melspectrogram`` of a signal ``y`` (Hann window, zero padding) or of a
    spectrogram ``S`` (``n_fft`` then follows from its rows)."""
    if S is not None:
        if n_fft // 2 + 1 != S.shape[-2]:
            n_fft = 2 * (S.shape[-2] - 1)
    elif y is not None:
        S = np.abs(stft(y, n_fft=n_fft, hop_length=hop_length, center=center)) ** power
    else:
        raise ValueError("melspectrogram needs y or S")
    mel_basis = mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    melspec: Real = np.einsum("...ft,mf->...mt", S, mel_basis, optimize=True)
    return melspec


def power_to_db(
    S: Real, *, ref: float = 1.0, amin: float = 1e-10, top_db: float | None = 80.0
) -> Real:
    """``librosa.power_to_db(S, ref=ref, amin=amin, top_db=top_db)`` for real ``S``."""
    S = np.asarray(S)
    if amin <= 0:
        raise ValueError("amin must be strictly positive")
    if np.iscomplexobj(S):
        raise ValueError("power_to_db expects a real power spectrogram")
    log_spec: Real = 10.0 * np.log10(np.maximum(amin, S))
    log_spec -= 10.0 * np.log10(np.maximum(amin, np.abs(ref)))
    if top_db is not None:
        if top_db < 0:
            raise ValueError("top_db must be non-negative")
        log_spec = np.maximum(log_spec, log_spec.max() - top_db)
    return log_spec
