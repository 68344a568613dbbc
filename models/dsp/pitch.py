"""YIN and pYIN pitch (``librosa.yin``, ``librosa.pyin`` of librosa 0.11) in numpy and scipy.

Same operations, order and dtypes as librosa for the parameters callqa passes (centred frames,
zero padding, librosa's defaults for thresholds, priors and transitions). librosa's numba kernels
are written in numpy: local minima as comparisons, parabolic interpolation with the same
arithmetic, ``|a|^2`` as ``re**2 + im**2``. pYIN's per-frame trough priors are computed for all
frames at once; only the dot product with the threshold prior stays per frame (the same BLAS
call on an array of the same shape as librosa's), and the pitch-transition matrix, which
depends only on the parameters, is built once.
"""

from __future__ import annotations

import functools
import logging

import numpy as np
import numpy.typing as npt
import scipy.fft

from models.dsp.framing import frame
from models.dsp.viterbi import viterbi

logger = logging.getLogger(__name__)

Float = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]
Signal = npt.NDArray[np.floating]

TROUGH_THRESHOLD = 0.1
N_THRESHOLDS = 100
BETA_PARAMETERS = (2, 18)
BOLTZMANN_PARAMETER = 2
RESOLUTION = 0.1
MAX_TRANSITION_RATE = 35.92


def yin(
    y: Signal, *, fmin: float, fmax: float, sr: float, frame_length: int, hop_length: int
) -> Float:
    """F0 per frame (Hz), ``librosa.yin`` with the given arguments and its defaults."""
    yin_frames, shifts, min_period = _difference(y, fmin, fmax, sr, frame_length, hop_length)
    below = _troughs(yin_frames) & (yin_frames < TROUGH_THRESHOLD)
    global_min = np.argmin(yin_frames, axis=0)
    period = np.argmax(below, axis=0)
    none_below = np.all(~below, axis=0)
    period[none_below] = global_min[none_below]
    refined = min_period + period + shifts[period, np.arange(len(period))]
    f0: Float = sr / refined
    return f0


def pyin(
    y: Signal,
    *,
    fmin: float,
    fmax: float,
    sr: float,
    frame_length: int,
    hop_length: int,
    switch_prob: float,
    no_trough_prob: float,
) -> tuple[Float, Bool, Float]:
    """``(f0, voiced_flag, voiced_prob)`` per frame, ``librosa.pyin`` with these arguments and
    its defaults (unvoiced frames' f0 is NaN)."""
    yin_frames, shifts, min_period = _difference(y, fmin, fmax, sr, frame_length, hop_length)
    bins_per_semitone = int(np.ceil(1.0 / RESOLUTION))
    n_bins = int(np.floor(12 * bins_per_semitone * np.log2(fmax / fmin))) + 1
    probs = _trough_probs(yin_frames, no_trough_prob)

    period_index, frame_index = np.nonzero(probs)
    candidates = (min_period + period_index) + shifts[period_index, frame_index]
    bin_index = 12 * bins_per_semitone * np.log2(sr / candidates / fmin)
    bin_index = np.clip(np.round(bin_index), 0, n_bins).astype(int)
    observation = np.zeros((2 * n_bins, yin_frames.shape[1]))
    observation[bin_index, frame_index] = probs[period_index, frame_index]
    voiced_prob = np.clip(np.sum(observation[:n_bins, :], axis=0, keepdims=True), 0, 1)
    observation[n_bins:, :] = (1 - voiced_prob) / n_bins

    per_frame = round(MAX_TRANSITION_RATE * 12 * hop_length / sr)
    transition = _transition(n_bins, per_frame * bins_per_semitone + 1, switch_prob)
    p_init = np.ones(2 * n_bins) / (2 * n_bins)
    states = viterbi(observation[np.newaxis], transition, p_init=p_init)[0]
    freqs = fmin * 2 ** (np.arange(n_bins) / (12 * bins_per_semitone))
    f0: Float = freqs[states % n_bins]
    voiced: Bool = states < n_bins
    f0[~voiced] = np.nan
    return f0, voiced, voiced_prob[0]


def _difference(
    y: Signal, fmin: float, fmax: float, sr: float, frame_length: int, hop_length: int
) -> tuple[Float, Float, int]:
    """Cumulative mean normalised difference (lags ``min_period..max_period`` x frames), its
    parabolic shifts and ``min_period``: librosa's steps shared by yin and pyin."""
    if not 0 < fmin < fmax <= sr / 2 or sr / fmin >= frame_length - 1:
        raise ValueError(f"infeasible pitch range {fmin}-{fmax} Hz for {frame_length} at {sr}")
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.floating):
        raise ValueError(f"expected a 1-D floating-point signal, got {y.dtype} {y.shape}")
    if not np.isfinite(y).all():
        raise ValueError("Audio buffer is not finite everywhere")
    y_frames = frame(np.pad(y, (frame_length // 2, frame_length // 2)), frame_length, hop_length)
    min_period = int(np.floor(sr / fmax))
    max_period = min(int(np.ceil(sr / fmin)), frame_length - 1)

    n_pad = scipy.fft.next_fast_len(2 * frame_length - 1, real=True)
    spectrum = scipy.fft.rfft(y_frames, n=n_pad, axis=-2)  # librosa 0.11's fftlib
    power = spectrum.real**2 + spectrum.imag**2  # librosa's numba _cabs2
    acf = scipy.fft.irfft(power, n=n_pad, axis=-2)[: max_period + 1]

    diff = np.square(y_frames)
    np.cumsum(diff, out=diff, axis=-2)
    diff[0, :] = 0
    diff[1 : max_period + 1, :] = 2 * (acf[0:1, :] - acf[1 : max_period + 1, :]) - diff[:max_period]
    lags = np.arange(1, max_period + 1)[:, np.newaxis]
    cumulative_mean = np.cumsum(diff[1 : max_period + 1, :], axis=-2) / lags
    denominator = cumulative_mean[min_period - 1 : max_period, :]
    tiny = np.finfo(denominator.dtype).tiny
    yin_frames: Float = diff[min_period : max_period + 1, :] / (denominator + tiny)
    return yin_frames, _parabolic_shifts(yin_frames), min_period


def _parabolic_shifts(x: Float) -> Float:
    """librosa's ``_parabolic_interpolation`` along lags: the vertex offset of the parabola
    through each point and its neighbours, 0 where it lies a bin or more away and at the ends."""
    a = x[2:] + x[:-2] - 2 * x[1:-1]
    b = (x[2:] - x[:-2]) / 2
    shifts = np.zeros_like(x)
    np.divide(-b, a, out=shifts[1:-1], where=~(np.abs(b) >= np.abs(a)))
    return shifts


def _troughs(x: Float) -> Bool:
    """``librosa.util.localmin`` along lags, the first lag a trough if below the second."""
    trough = np.empty(x.shape, dtype=bool)
    trough[1:-1] = (x[1:-1] < x[:-2]) & (x[1:-1] <= x[2:])
    trough[-1] = x[-1] < x[-2]
    trough[0] = x[0] < x[1]
    return trough


def _trough_probs(yin_frames: Float, no_trough_prob: float) -> Float:
    """Probability of each (lag, frame) being the period: librosa's ``__pyin_helper`` loop,
    all frames at once (troughs in frame order, as its per-frame arrays stacked)."""
    thresholds, beta_probs, beta_prefix = _threshold_prior()
    frame_of, lag = np.nonzero(_troughs(yin_frames).T)
    heights = yin_frames[lag, frame_of]
    below = np.less.outer(heights, thresholds[1:])
    counts = np.bincount(frame_of, minlength=yin_frames.shape[1])
    ends = np.cumsum(counts)
    starts = ends - counts
    running = np.concatenate([np.zeros((1, below.shape[1]), dtype=np.intp), np.cumsum(below, 0)])
    positions = running[1:] - running[starts][frame_of] - 1
    n_troughs = (running[ends] - running[starts])[frame_of]
    pmf = _boltzmann_table(yin_frames.shape[0])
    prior = np.where(below, pmf[n_troughs, positions], 0.0)

    probs = np.empty(len(heights))
    framed = np.flatnonzero(counts)
    global_min = np.empty(len(framed), dtype=np.intp)
    for i, (start, end) in enumerate(
        zip(starts[framed].tolist(), ends[framed].tolist(), strict=True)
    ):
        probs[start:end] = prior[start:end].dot(beta_probs)
        global_min[i] = start + np.argmin(heights[start:end])
    n_above = below.shape[1] - np.count_nonzero(below[global_min], axis=1)
    probs[global_min] += no_trough_prob * beta_prefix[n_above]
    yin_probs = np.zeros_like(yin_frames)
    yin_probs[lag, frame_of] = probs
    return yin_probs


@functools.cache
def _threshold_prior() -> tuple[Float, Float, Float]:
    """Thresholds, their beta prior and its prefix sums (``np.sum(beta_probs[:n])``)."""
    import scipy.stats  # only pyin needs it; import on first use

    thresholds = np.linspace(0, 1, N_THRESHOLDS + 1)
    beta_probs = np.diff(scipy.stats.beta.cdf(thresholds, *BETA_PARAMETERS))
    prefix = np.array([np.sum(beta_probs[:n]) for n in range(N_THRESHOLDS + 1)])
    for array in (thresholds, beta_probs, prefix):
        array.setflags(write=False)
    return thresholds, beta_probs, prefix


@functools.cache
def _boltzmann_table(size: int) -> Float:
    """``scipy.stats.boltzmann.pmf(k, BOLTZMANN_PARAMETER, n)`` at ``[n, k]`` for ``n, k <
    size + 1`` (element-wise the values librosa computes per frame)."""
    import scipy.stats

    n, k = np.indices((size + 1, size + 1))
    table: Float = scipy.stats.boltzmann.pmf(k, BOLTZMANN_PARAMETER, n)
    table.setflags(write=False)
    return table


@functools.lru_cache(maxsize=8)
def _transition(n_bins: int, width: int, switch_prob: float) -> Float:
    """pYIN's transition matrix: ``transition_loop(2, 1 - switch_prob)`` kron
    ``transition_local(n_bins, width, window="triangle", wrap=False)`` (read-only)."""
    from scipy.signal import get_window  # a heavy import, for a matrix built once

    local = np.zeros((n_bins, n_bins), dtype=np.float64)
    window = get_window("triangle", width, fftbins=False)
    left = (n_bins - width) // 2
    centred = np.pad(window, (left, n_bins - width - left))
    for i in range(n_bins):
        row = np.roll(centred, n_bins // 2 + i + 1)
        row[min(n_bins, i + width // 2 + 1) :] = 0
        row[: max(0, i - width // 2)] = 0
        local[i] = row
    local /= local.sum(axis=1, keepdims=True)
    loop = np.empty((2, 2), dtype=np.float64)
    for i, stay in enumerate(np.tile(np.asarray(1 - switch_prob, dtype=np.float64), 2)):
        loop[i] = (1.0 - stay) / (2 - 1)
        loop[i, i] = stay
    transition = np.array(np.kron(loop, local), dtype=np.float64)  # owns its data
    transition.setflags(write=False)
    logger.debug("pYIN transition matrix built: %d states, width %d", 2 * n_bins, width)
    return transition
