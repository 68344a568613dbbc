"""Frame-level spectral features, as librosa 0.11 computes them.

``rms``, ``zero_crossing_rate``, ``spectral_centroid``, ``spectral_bandwidth``,
``spectral_rolloff``, ``spectral_flatness``, ``spectral_contrast``, ``mfcc``, ``delta`` and
``peak_pick`` for 1-D signals and 2-D (bins, frames) spectrograms, with librosa's numpy and scipy
operations in librosa's order on the same dtypes and layouts: the arrays are librosa's, bit for
bit.

librosa's numba kernels are replaced by numpy: zero crossings are booleans (exact whatever the
method), and ``peak_pick`` takes each candidate's mean as numba does, a sequential float64 sum
divided by the count (numpy's pairwise sum could differ in the last bit).
"""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt
import scipy.fft
import scipy.signal

from models.dsp.framing import frame
from models.dsp.spectrum import Float64, Real, check_audio, fft_frequencies, power_to_db

Index = npt.NDArray[np.intp]


def rms(*, y: Real, frame_length: int = 2048, hop_length: int = 512, center: bool = True) -> Real:
    """``librosa.feature.rms(y=y, frame_length=..., hop_length=..., center=...)``: (1, frames),
    float32, frames zero-padded when centred."""
    if center:
        y = np.pad(y, (int(frame_length // 2), int(frame_length // 2)), mode="constant")
    x = frame(y, frame_length, hop_length)
    power = np.mean(np.square(x, dtype=np.float32), axis=-2, keepdims=True)
    result: Real = np.sqrt(power)
    return result


def zero_crossing_rate(
    y: Real, *, frame_length: int = 2048, hop_length: int = 512, center: bool = True
) -> Float64:
    """``librosa.feature.zero_crossing_rate(y, frame_length=..., hop_length=..., center=...)``:
    (1, frames), float64; frames edge-padded when centred, |y| <= 1e-10 counted as positive."""
    check_audio(y)
    if center:
        y = np.pad(y, (int(frame_length // 2), int(frame_length // 2)), mode="edge")
    n_frames = 1 + (len(y) - frame_length) // hop_length
    if n_frames < 1 or hop_length < 1:
        raise ValueError(f"input is too short (n={len(y)}) for frame_length={frame_length}")
    threshold = y.dtype.type(1e-10)
    negative = np.signbit(y) & ~((y >= -threshold) & (y <= threshold))
    # crossings[m]: between samples m and m + 1; frame j counts those inside its samples
    crossings = np.concatenate([[0], np.cumsum(negative[1:] != negative[:-1])])
    starts = np.arange(n_frames) * hop_length
    counts = crossings[starts + frame_length - 1] - crossings[starts]
    rate: Float64 = (counts / frame_length).reshape(1, -1)
    return rate


def _normalize_l1(S: Real) -> Real:
    """``librosa.util.normalize(S, norm=1, axis=-2)`` (columns summing to less than the dtype's
    ``tiny`` left as they are)."""
    if not np.all(np.isfinite(S)):
        raise ValueError("input must be finite")
    mag = np.abs(S).astype(float)
    norm = 1
    length = np.sum(mag**norm, axis=-2, keepdims=True) ** (1.0 / norm)
    small_idx = length < np.finfo(S.dtype).tiny
    normalized = np.empty_like(S)
    length[small_idx] = 1.0
    normalized[:] = S / length
    return normalized


def _check_energies(S: Real, what: str) -> None:
    if not np.isrealobj(S):
        raise ValueError(f"{what} is only defined with real-valued input")
    if np.any(S < 0):
        raise ValueError(f"{what} is only defined with non-negative energies")


def _frequencies(S: Real, sr: float, freq: Float64 | None) -> Float64:
    """``freq``, else the FFT bins' frequencies for ``S``'s rows (librosa's default)."""
    return fft_frequencies(sr=sr, n_fft=2 * (S.shape[-2] - 1)) if freq is None else freq


def spectral_centroid(*, S: Real, sr: float = 22050, freq: Float64 | None = None) -> Float64:
    """``librosa.feature.spectral_centroid(S=S, sr=sr, freq=freq)``: (1, frames), float64."""
    _check_energies(S, "spectral centroid")
    freq = _frequencies(S, sr, freq)
    if freq.ndim == 1:
        freq = freq.reshape(-1, 1)
    centroid: Float64 = np.sum(freq * _normalize_l1(S), axis=-2, keepdims=True)
    return centroid


def spectral_bandwidth(*, S: Real, sr: float = 22050, freq: Float64 | None = None) -> Float64:
    """``librosa.feature.spectral_bandwidth(S=S, sr=sr, freq=freq)`` (p=2, normalised):
    (1, frames), float64."""
    _check_energies(S, "spectral bandwidth")
    centroid = spectral_centroid(S=S, sr=sr, freq=freq)
    freq = _frequencies(S, sr, freq)
    if freq.ndim == 1:
        deviation = np.abs(np.subtract.outer(centroid[..., 0, :], freq).swapaxes(-2, -1))
    else:
        deviation = np.abs(freq - centroid)
    p = 2
    bandwidth: Float64 = np.sum(_normalize_l1(S) * deviation**p, axis=-2, keepdims=True) ** (
        1.0 / p
    )
    return bandwidth


def spectral_rolloff(
    *, S: Real, sr: float = 22050, freq: Float64 | None = None, roll_percent: float = 0.85
) -> Float64:
    """``librosa.feature.spectral_rolloff(S=S, sr=sr, freq=freq)``: the lowest frequency below
    which ``roll_percent`` of each frame's energy lies, (1, frames), float64."""
    if not 0.0 < roll_percent < 1.0:
        raise ValueError("roll_percent must lie in the range (0, 1)")
    _check_energies(S, "spectral rolloff")
    freq = _frequencies(S, sr, freq)
    if freq.ndim == 1:
        freq = freq.reshape(-1, 1)
    total_energy = np.cumsum(S, axis=-2)
    threshold = np.expand_dims(roll_percent * total_energy[..., -1, :], axis=-2)
    ind = np.where(total_energy < threshold, np.nan, 1)
    rolloff: Float64 = np.nanmin(ind * freq, axis=-2, keepdims=True)
    return rolloff


def spectral_flatness(*, S: Real, amin: float = 1e-10, power: float = 2.0) -> Real:
    """``librosa.feature.spectral_flatness(S=S)``: geometric over arithmetic mean of the power,
    (1, frames), ``S``'s dtype."""
    if amin <= 0:
        raise ValueError("amin must be strictly positive")
    _check_energies(S, "spectral flatness")
    S_thresh = np.maximum(amin, S**power)
    gmean = np.exp(np.mean(np.log(S_thresh), axis=-2, keepdims=True))
    amean = np.mean(S_thresh, axis=-2, keepdims=True)
    flatness: Real = gmean / amean
    return flatness


def spectral_contrast(
    *,
    S: Real,
    sr: float = 22050,
    freq: Float64 | None = None,
    fmin: float = 200.0,
    n_bands: int = 6,
    quantile: float = 0.02,
) -> Float64:
    """``librosa.feature.spectral_contrast(S=S, sr=sr, freq=freq, fmin=fmin, n_bands=n_bands)``:
    peak minus valley (dB) in octave bands from ``fmin``, (n_bands + 1, frames), float64."""
    freq = np.atleast_1d(_frequencies(S, sr, freq))
    if freq.ndim != 1 or len(freq) != S.shape[-2]:
        raise ValueError(f"freq.shape mismatch: expected ({S.shape[-2]:d},)")
    if n_bands < 1 or not isinstance(n_bands, int | np.integer):
        raise ValueError("n_bands must be a positive integer")
    if not 0.0 < quantile < 1.0:
        raise ValueError("quantile must lie in the range (0, 1)")
    if fmin <= 0:
        raise ValueError("fmin must be a positive number")
    octa = np.zeros(n_bands + 2)
    octa[1:] = fmin * (2.0 ** np.arange(0, n_bands + 1))
    if np.any(octa[:-1] >= 0.5 * sr):
        raise ValueError("frequency band exceeds Nyquist: reduce either fmin or n_bands")

    shape = list(S.shape)
    shape[-2] = n_bands + 1
    valley = np.zeros(shape)
    peak = np.zeros_like(valley)
    for k, (f_low, f_high) in enumerate(itertools.pairwise(octa)):
        current_band = np.logical_and(freq >= f_low, freq <= f_high)
        idx = np.flatnonzero(current_band)
        if k > 0:
            current_band[idx[0] - 1] = True
        if k == n_bands:
            current_band[idx[-1] + 1 :] = True
        sub_band = S[..., current_band, :]
        if k < n_bands:
            sub_band = sub_band[..., :-1, :]
        # Always take at least one bin from each side
        count = int(np.maximum(np.rint(quantile * np.sum(current_band)), 1))
        sortedr = np.sort(sub_band, axis=-2)
        valley[..., k, :] = np.mean(sortedr[..., :count, :], axis=-2)
        peak[..., k, :] = np.mean(sortedr[..., -count:, :], axis=-2)
    contrast: Float64 = power_to_db(peak) - power_to_db(valley)
    return contrast


def mfcc(*, S: Real, n_mfcc: int = 20) -> Real:
    """``librosa.feature.mfcc(S=S, n_mfcc=n_mfcc)`` of a log-power mel spectrogram ``S``
    (orthonormal DCT-II, no liftering): (n_mfcc, frames), ``S``'s dtype."""
    coefficients: Real = scipy.fft.dct(S, axis=-2, type=2, norm="ortho")[..., :n_mfcc, :]
    return coefficients


def delta(
    data: Real, *, width: int = 9, order: int = 1, axis: int = -1, mode: str = "interp"
) -> Real:
    """``librosa.feature.delta(data, width=..., order=..., axis=..., mode=...)``: a
    Savitzky-Golay derivative (``scipy.signal.savgol_filter``)."""
    data = np.atleast_1d(data)
    if mode == "interp" and width > data.shape[axis]:
        raise ValueError(f"when mode='interp', width={width} cannot exceed {data.shape[axis]}")
    if width < 3 or np.mod(width, 2) != 1:
        raise ValueError("width must be an odd integer >= 3")
    if order <= 0 or not isinstance(order, int | np.integer):
        raise ValueError("order must be a positive integer")
    result: Real = scipy.signal.savgol_filter(
        data, width, deriv=order, axis=axis, mode=mode, polyorder=order
    )
    return result


def peak_pick(
    x: Real, *, pre_max: int, post_max: int, pre_avg: int, post_avg: int, delta: float, wait: int
) -> Index:
    """``librosa.util.peak_pick`` (sparse) of a finite 1-D float64 ``x``: indices ``n`` where
    ``x[n] == max(x[n - pre_max:n + post_max])``, ``x[n] >= mean(x[n - pre_avg:n + post_avg])
    + delta`` and ``n`` is more than ``wait`` after the previous peak (greedily)."""
    if pre_max < 0 or pre_avg < 0 or delta < 0 or wait < 0:
        raise ValueError("pre_max, pre_avg, delta and wait must be non-negative")
    if post_max <= 0 or post_avg <= 0:
        raise ValueError("post_max and post_avg must be positive")
    if x.ndim != 1 or x.dtype != np.float64:  # the kernel's float64 arithmetic is mirrored
        raise ValueError(f"peak_pick expects a 1-D float64 array, got {x.dtype} {x.shape}")
    pre_max, post_max = int(np.ceil(pre_max)), int(np.ceil(post_max))
    pre_avg, post_avg, wait = int(np.ceil(pre_avg)), int(np.ceil(post_avg)), int(np.ceil(wait))
    threshold_offset = float(np.float32(delta))  # librosa's kernel takes delta as float32
    n = len(x)
    if n == 0:
        return np.zeros(0, dtype=np.intp)

    # x[n] against the maximum of its window (out-of-range samples -inf: the window clipped)
    lows = np.full(pre_max, -np.inf)
    highs = np.full(post_max - 1, -np.inf)
    padded = np.concatenate([lows, x, highs])
    window_max = np.lib.stride_tricks.sliding_window_view(padded, pre_max + post_max).max(axis=1)
    values: list[float] = x.tolist()
    peaks: list[int] = []
    after = 0  # the first index not inside the previous peak's wait
    for candidate in np.flatnonzero(x == window_max).tolist():
        if candidate < after:
            continue
        total = 0.0  # numba's np.mean: a sequential float64 sum over the count
        window = values[max(0, candidate - pre_avg) : min(candidate + post_avg, n)]
        for value in window:
            total += value
        if values[candidate] >= total / len(window) + threshold_offset:
            peaks.append(candidate)
            after = candidate + wait + 1
    return np.asarray(peaks, dtype=np.intp)
