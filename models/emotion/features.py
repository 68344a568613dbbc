"""Utterance-level acoustic features for speech emotion (numpy + scipy, 16 kHz mono).

The signal functions are librosa's, computed by ``models.dsp`` without numba (identical arrays).

Every turn first goes through the telephone front end (``models.emotion.band``: 300-3400 Hz,
steady noise reduced, one speech level), the spectral descriptors read only that band
(``BAND_HZ``), and pYIN's voicing is less strict than its defaults (``PYIN_SWITCH_PROB``,
``PYIN_NO_TROUGH_PROB``: on noisy lines the defaults leave a few frames voiced and the pitch
statistics come from them), so a studio turn and the same turn over a phone line give similar
vectors.

Frame-level descriptors are summarised over the *active* frames of a turn (frames within
``ACTIVE_RANGE_DB`` of the loudest one and ``NOISE_MARGIN_DB`` above the noise floor, the level of
the quietest ``NOISE_PERCENTILE`` % of frames), so leading/trailing silence, pauses in a long turn
and a noisy line's gaps do not dilute them; a silent input falls back to all frames. Every feature
is finite: a turn with no voiced frame gets zeros for the pitch and voice-quality groups.

Groups (see ``FEATURE_NAMES``): pitch (pYIN, semitones re 55 Hz: mean/std/percentiles/range/
slope, voiced fraction, voicing probability); energy (RMS dB statistics relative to the turn's
peak: no absolute level, so the vector hardly depends on the recording gain); spectral shape
(centroid, bandwidth, roll-off, flatness, contrast, slope, alpha ratio 300-1000 vs 1000-3400 Hz,
Hammarberg index 300-2000 vs 2000-3400 Hz, zero-crossing rate); MFCC 1-13 of 24 mel bands over
300-3400 Hz and their deltas (mean/std); voice-quality proxies (frame-level jitter and shimmer,
autocorrelation HNR); rhythm proxies (energy-peak rate as a syllable-rate proxy, voiced-run rate,
active fraction); long-term average spectrum in six bands relative to the 300-3400 Hz total
(separates the flatter, high-effort spectrum of anger from happiness); pitch contour shape
(YIN: movement between thirds of the turn, upper/lower spread, rising-step fraction, peak
position, skewness); spectral flux.
"""

from __future__ import annotations

import itertools
import logging

import numpy as np
import numpy.typing as npt

from models.dsp import spectral, spectrum
from models.dsp.framing import frame
from models.dsp.pitch import pyin, yin
from models.emotion.band import BAND_HZ, front_end
from pipelines.core.audio import SAMPLE_RATE

logger = logging.getLogger(__name__)

FEATURE_VERSION = "emo-feat-v4-tel-nr-level"
N_FFT = 512
HOP = 160
PITCH_FRAME = 1024
PITCH_HOP = 320
FMIN = 60.0
FMAX = 600.0
ACTIVE_RANGE_DB = 35.0
NOISE_PERCENTILE = 10  # the quietest frames estimate the noise floor of a noisy line
NOISE_MARGIN_DB = 6.0
MIN_SAMPLES = PITCH_FRAME * 2
PYIN_SWITCH_PROB = 0.1  # librosa's default 0.01
PYIN_NO_TROUGH_PROB = 0.1  # librosa's default 0.01
N_MFCC = 13
N_MELS = 24
N_CONTRAST = 3  # contrast rows: 300-400, 400-800, 800-1600, 1600-3400 Hz
LTAS_EDGES = (300, 400, 630, 1000, 1600, 2500, 3401)
CONTOUR_RANGE_DB = 25.0

Vector = npt.NDArray[np.float64]


def _stats_names(prefix: str, stats: tuple[str, ...]) -> list[str]:
    return [f"{prefix}_{s}" for s in stats]


def _feature_names() -> tuple[str, ...]:
    names: list[str] = []
    names += _stats_names("f0", ("mean", "std", "p10", "p50", "p90", "range", "slope", "dabs"))
    names += ["voiced_frac", "voiced_prob"]
    names += _stats_names("rms", ("std", "p10", "p50", "range", "slope", "dabs"))
    for band in ("centroid", "bandwidth", "rolloff", "flatness", "zcr", "slope"):
        names += _stats_names(band, ("mean", "std"))
    names += ["alpha_ratio", "hammarberg"]
    for i in range(N_CONTRAST + 1):
        names += _stats_names(f"contrast{i}", ("mean", "std"))
    for i in range(1, N_MFCC + 1):
        names += _stats_names(f"mfcc{i}", ("mean", "std"))
    for i in range(1, N_MFCC + 1):
        names += _stats_names(f"dmfcc{i}", ("mean", "std"))
    names += ["jitter", "shimmer", "hnr_mean", "hnr_std"]
    names += ["peak_rate", "voiced_run_rate", "active_frac"]
    names += [f"ltas_{lo}_{hi}" for lo, hi in itertools.pairwise(LTAS_EDGES)]
    names += _stats_names(
        "contour", ("rise", "fall_end", "top", "bottom", "up_frac", "dstd", "peak_pos", "skew")
    )
    names += ["flux_mean", "flux_std"]
    return tuple(names)


FEATURE_NAMES: tuple[str, ...] = _feature_names()
_F0_MEAN = FEATURE_NAMES.index("f0_mean")


def has_voice(features: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Which feature rows saw voiced speech (at least three pitch frames, 60 ms)."""
    voiced: npt.NDArray[np.bool_] = np.atleast_2d(features)[:, _F0_MEAN] > 0.0
    return voiced


def extract_features(samples: npt.ArrayLike, sample_rate: int = SAMPLE_RATE) -> Vector:
    """One feature vector (``len(FEATURE_NAMES)``) for a turn of any length at 16 kHz."""
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"emotion features expect {SAMPLE_RATE} Hz audio, got {sample_rate}")
    return line_features(front_end(samples))


def line_features(line: npt.NDArray[np.float32]) -> Vector:
    """``extract_features`` of a turn already through ``models.emotion.band.front_end``."""
    y = line
    duration = max(len(y), 1) / SAMPLE_RATE
    if len(y) < MIN_SAMPLES:
        pad = MIN_SAMPLES - len(y)
        y = np.pad(y, (pad // 2, pad - pad // 2))
    y = y - float(np.mean(y))

    spec = np.abs(spectrum.stft(y, n_fft=N_FFT, hop_length=HOP)) ** 2
    rms = spectral.rms(y=y, frame_length=N_FFT, hop_length=HOP)[0]
    rms_db = 20.0 * np.log10(np.maximum(rms, 1e-6))
    floor = float(np.percentile(rms_db, NOISE_PERCENTILE)) + NOISE_MARGIN_DB
    active = rms_db > max(float(rms_db.max()) - ACTIVE_RANGE_DB, floor, -70.0)
    if active.sum() < 2:
        active = np.ones_like(active)

    pitch, quality, voiced_runs = _pitch_and_quality(y)
    peak_rate, active_frac = _rhythm(rms_db, active, duration)
    features = np.concatenate(
        [
            pitch,
            _energy(rms_db, active),
            _spectral(y, spec, active),
            quality,
            [peak_rate, voiced_runs / duration, active_frac],
            _ltas_bands(spec, active),
            _contour(y),
            _flux(spec, active),
        ]
    )
    if features.shape != (len(FEATURE_NAMES),):
        raise AssertionError(f"feature vector has {features.shape}, expected {len(FEATURE_NAMES)}")
    return np.nan_to_num(features.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)


def _slope(values: Vector, times: Vector) -> float:
    if len(values) < 2 or float(np.ptp(times)) == 0.0:
        return 0.0
    return float(np.polyfit(times, values, 1)[0])


def _pitch_and_quality(y: npt.NDArray[np.float32]) -> tuple[Vector, Vector, float]:
    """Pitch statistics, voice-quality proxies and the number of voiced runs."""
    f0, voiced, prob = pyin(
        y,
        fmin=FMIN,
        fmax=FMAX,
        sr=SAMPLE_RATE,
        frame_length=PITCH_FRAME,
        hop_length=PITCH_HOP,
        switch_prob=PYIN_SWITCH_PROB,
        no_trough_prob=PYIN_NO_TROUGH_PROB,
    )
    voiced = np.asarray(voiced, dtype=bool) & np.isfinite(f0)
    voiced_frac = float(voiced.mean()) if len(voiced) else 0.0
    voiced_prob = float(np.nanmean(prob)) if len(prob) else 0.0
    if voiced.sum() < 3:
        return np.concatenate([np.zeros(8), [voiced_frac, voiced_prob]]), np.zeros(4), 0.0

    semis = 12.0 * np.log2(f0[voiced] / 55.0)
    times = np.flatnonzero(voiced) * PITCH_HOP / SAMPLE_RATE
    p10, p50, p90 = np.percentile(semis, [10, 50, 90])
    pairs = voiced[1:] & voiced[:-1]
    f0_all = np.where(voiced, f0, np.nan)
    dsemis = np.abs(np.diff(12.0 * np.log2(f0_all / 55.0)))[pairs]
    pitch = np.array(
        [
            semis.mean(),
            semis.std(),
            p10,
            p50,
            p90,
            p90 - p10,
            _slope(semis, times),
            float(dsemis.mean()) if len(dsemis) else 0.0,
            voiced_frac,
            voiced_prob,
        ]
    )
    runs = int(np.sum(np.diff(np.concatenate([[0], voiced.astype(np.int8)])) == 1))
    return pitch, _voice_quality(y, f0, voiced, pairs), float(runs)


def _voice_quality(
    y: npt.NDArray[np.float32],
    f0: Vector,
    voiced: npt.NDArray[np.bool_],
    pairs: npt.NDArray[np.bool_],
) -> Vector:
    """Frame-level jitter/shimmer approximations and an autocorrelation HNR (dB)."""
    padded = np.pad(y, PITCH_FRAME // 2)
    frames = frame(padded, PITCH_FRAME, PITCH_HOP)
    n = min(frames.shape[1], len(f0))
    idx = np.flatnonzero(voiced[:n])
    period = 1.0 / f0
    peak = np.max(np.abs(frames[:, :n]), axis=0)
    jitter = shimmer = 0.0
    if pairs.any():
        jitter = float(np.mean(np.abs(np.diff(period))[pairs]) / np.mean(period[voiced]))
        shim_pairs = pairs[: n - 1]
        if shim_pairs.any():
            shimmer = float(
                np.mean(np.abs(np.diff(peak))[shim_pairs]) / max(peak[idx].mean(), 1e-9)
            )
    hnrs = []
    for i in idx:
        x = frames[:, i].astype(np.float64)
        lag = round(float(SAMPLE_RATE / f0[i]))
        if lag >= len(x) // 2:
            continue
        a, b = x[:-lag], x[lag:]
        denom = np.sqrt(np.dot(a, a) * np.dot(b, b))
        r = float(np.clip(np.dot(a, b) / denom, 1e-4, 0.9999)) if denom > 0 else 1e-4
        hnrs.append(10.0 * np.log10(r / (1.0 - r)))
    hnr = np.array(hnrs) if hnrs else np.zeros(1)
    return np.array([jitter, shimmer, hnr.mean(), hnr.std()])


def _energy(rms_db: Vector, active: npt.NDArray[np.bool_]) -> Vector:
    act = rms_db[active]
    times = np.flatnonzero(active) * HOP / SAMPLE_RATE
    peak = float(np.percentile(act, 99))
    p10, p50, p90 = np.percentile(act, [10, 50, 90])
    return np.array(
        [
            act.std(),
            p10 - peak,
            p50 - peak,
            p90 - p10,
            _slope(act, times),
            float(np.mean(np.abs(np.diff(rms_db)))) if len(rms_db) > 1 else 0.0,
        ]
    )


def _mean_std(values: Vector) -> list[float]:
    return [float(values.mean()), float(values.std())]


def _in_band() -> npt.NDArray[np.bool_]:
    freqs = spectrum.fft_frequencies(sr=SAMPLE_RATE, n_fft=N_FFT)
    inside: npt.NDArray[np.bool_] = (freqs >= BAND_HZ[0]) & (freqs <= BAND_HZ[1])
    return inside


def _spectral(y: npt.NDArray[np.float32], spec: Vector, active: npt.NDArray[np.bool_]) -> Vector:
    sr = SAMPLE_RATE
    inside = _in_band()
    freqs = spectrum.fft_frequencies(sr=sr, n_fft=N_FFT)[inside]
    power = spec[inside]
    mag = np.sqrt(power)
    out: list[float] = []
    centroid = spectral.spectral_centroid(S=mag, freq=freqs)[0]
    bandwidth = spectral.spectral_bandwidth(S=mag, freq=freqs)[0]
    rolloff = spectral.spectral_rolloff(S=mag, sr=sr, freq=freqs)[0]
    flatness = np.log(np.maximum(spectral.spectral_flatness(S=mag)[0], 1e-10))
    zcr = spectral.zero_crossing_rate(y, frame_length=N_FFT, hop_length=HOP)[0]
    log_spec = 10.0 * np.log10(np.maximum(power, 1e-12))
    slope = np.polyfit(freqs / 1000.0, log_spec, 1)[0]
    for values in (centroid / 1000, bandwidth / 1000, rolloff / 1000, flatness, zcr, slope):
        out += _mean_std(values[active])
    ltas = power[:, active].mean(axis=1)
    low = ltas[freqs < 1000].sum()
    high = ltas[freqs >= 1000].sum()
    out.append(10.0 * np.log10(max(high, 1e-12) / max(low, 1e-12)))
    peak_low = ltas[freqs < 2000].max()
    peak_high = ltas[freqs >= 2000].max()
    out.append(10.0 * np.log10(max(peak_low, 1e-12) / max(peak_high, 1e-12)))
    contrast = spectral.spectral_contrast(S=mag, sr=sr, freq=freqs, fmin=400.0, n_bands=N_CONTRAST)
    for row in contrast:
        out += _mean_std(row[active])
    mel = spectrum.melspectrogram(
        S=spec, sr=sr, n_fft=N_FFT, n_mels=N_MELS, fmin=BAND_HZ[0], fmax=BAND_HZ[1]
    )
    mfcc = spectral.mfcc(S=spectrum.power_to_db(mel), n_mfcc=N_MFCC + 1)[1:]
    width = min(9, mfcc.shape[1] - (1 - mfcc.shape[1] % 2))
    delta = spectral.delta(mfcc, width=width, mode="nearest") if width >= 3 else np.zeros_like(mfcc)
    for row in mfcc:
        out += _mean_std(row[active])
    for row in delta:
        out += _mean_std(row[active])
    return np.array(out)


def _rhythm(rms_db: Vector, active: npt.NDArray[np.bool_], duration: float) -> tuple[float, float]:
    """Energy peaks per second (a syllable-rate proxy) and the active fraction of the turn."""
    smooth = np.convolve(rms_db, np.ones(5) / 5, mode="same")
    threshold = float(np.percentile(smooth[active], 30))
    peaks = spectral.peak_pick(
        smooth, pre_max=5, post_max=5, pre_avg=10, post_avg=10, delta=2.0, wait=8
    )
    count = int(np.sum(smooth[peaks] > threshold)) if len(peaks) else 0
    return count / duration, float(active.mean())


def _ltas_bands(spec: Vector, active: npt.NDArray[np.bool_]) -> Vector:
    """Long-term average spectrum of the active frames in six bands, dB re the in-band total."""
    freqs = spectrum.fft_frequencies(sr=SAMPLE_RATE, n_fft=N_FFT)
    ltas = spec[:, active].mean(axis=1)
    total = max(float(ltas[(freqs >= LTAS_EDGES[0]) & (freqs < LTAS_EDGES[-1])].sum()), 1e-12)
    bands = [
        10.0 * np.log10(max(float(ltas[(freqs >= lo) & (freqs < hi)].sum()), 1e-12) / total)
        for lo, hi in itertools.pairwise(LTAS_EDGES)
    ]
    return np.array(bands)


def _contour(y: npt.NDArray[np.float32]) -> Vector:
    """Pitch contour shape (YIN on frames within ``CONTOUR_RANGE_DB`` of the loudest, semitones).

    Rise of the middle third over the first, end third over the middle, upper (p95 - p50) and
    lower (p50 - p5) spread, fraction of rising steps, spread of the steps, relative position of
    the highest pitch and skewness.
    """
    f0 = yin(
        y, fmin=FMIN, fmax=FMAX, sr=SAMPLE_RATE, frame_length=PITCH_FRAME, hop_length=PITCH_HOP
    )
    rms = spectral.rms(y=y, frame_length=PITCH_FRAME, hop_length=PITCH_HOP)[0]
    rms_db = 20.0 * np.log10(np.maximum(rms, 1e-6))
    loud = rms_db[: len(f0)] > float(rms_db.max()) - CONTOUR_RANGE_DB
    semis = 12.0 * np.log2(f0[: len(loud)][loud] / 55.0)
    n = len(semis)
    if n <= 4:
        return np.zeros(8)
    steps = np.diff(semis)
    thirds = [semis[: n // 3].mean(), semis[n // 3 : 2 * n // 3].mean(), semis[2 * n // 3 :].mean()]
    p5, p50, p95 = np.percentile(semis, [5, 50, 95])
    centred = semis - semis.mean()
    skew = float(np.mean(centred**3) / max(float(semis.std()) ** 3, 1e-6))
    return np.array(
        [
            thirds[0] - thirds[1],
            thirds[2] - thirds[1],
            p95 - p50,
            p50 - p5,
            float(np.mean(steps > 0)),
            float(np.abs(steps).std()),
            float(np.argmax(semis)) / n,
            skew,
        ]
    )


def _flux(spec: Vector, active: npt.NDArray[np.bool_]) -> Vector:
    """Spectral flux (RMS change of the in-band log power spectrum between frames), active
    frames."""
    log_spec = np.log(np.maximum(spec[_in_band()], 1e-10))
    flux = np.sqrt(np.mean(np.diff(log_spec, axis=1) ** 2, axis=0))
    act = active[1:]
    return np.array(_mean_std(flux[act])) if act.any() else np.zeros(2)
