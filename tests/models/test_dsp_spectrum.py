"""``models.dsp.spectrum`` and ``models.dsp.spectral`` give librosa's arrays, bit for bit.

Each function gets the inputs the voice features, the telephone front end and the speaker
embedding build (turns of the test calls, derived as ``models.emotion.features`` derives them)
and edge cases; its output must equal librosa's in value, dtype, shape and memory layout (the
layout decides how numpy sums what the callers compute from it).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Any

import librosa
import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

from models import speaker_embedding
from models.dsp import spectral, spectrum
from models.emotion import band, features
from tests.pipelines.golden import CALLS

Clip = npt.NDArray[np.float32]
NAMES = ("angry-customer", "compliant-return", "greeting-mono")
SLICES = ((0.3, 1.0), (4.0, 3.0), (9.5, 6.0), (17.0, 2.2), (21.0, 4.7))  # start, duration (s)
RATE = 16000
PEAK_OPTIONS: dict[str, Any] = dict(
    pre_max=5, post_max=5, pre_avg=10, post_avg=10, delta=2.0, wait=8
)  # features._rhythm's


def _same(ours: Any, theirs: Any) -> None:
    assert isinstance(ours, np.ndarray) and isinstance(theirs, np.ndarray)
    assert ours.dtype == theirs.dtype, (ours.dtype, theirs.dtype)
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    np.testing.assert_array_equal(ours, theirs, strict=True)
    assert np.array_equal(np.signbit(ours.real), np.signbit(theirs.real))
    if ours.ndim >= 2:  # the same layout: callers reduce over it
        assert ours.flags.f_contiguous == theirs.flags.f_contiguous
        assert ours.flags.c_contiguous == theirs.flags.c_contiguous


@pytest.fixture(scope="module")
def turns() -> list[Clip]:
    """Raw 16 kHz turns of the test calls (each channel of a stereo call in turn)."""
    out: list[Clip] = []
    for name in NAMES:
        audio, rate = sf.read(CALLS / f"{name}.wav", dtype="float32", always_2d=True)
        assert rate == RATE
        for i, (start, duration) in enumerate(SLICES):
            channel = audio[:, i % audio.shape[1]]
            first = int(start * rate)
            out.append(np.ascontiguousarray(channel[first : first + int(duration * rate)]))
    return out


def _as_line_features(samples: npt.ArrayLike) -> Clip:
    """A turn through the front end, padded and mean-subtracted as ``line_features`` does."""
    y = band.front_end(samples)
    if len(y) < features.MIN_SAMPLES:
        pad = features.MIN_SAMPLES - len(y)
        y = np.pad(y, (pad // 2, pad - pad // 2))
    centred: Clip = y - float(np.mean(y))
    return centred


def _edge_signals() -> dict[str, Clip]:
    rng = np.random.default_rng(11)
    t = np.arange(3 * RATE + 1) / RATE
    tone = (0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    return {
        "zeros": np.zeros(features.MIN_SAMPLES, dtype=np.float32),
        "2048 noise": (0.1 * rng.standard_normal(2048)).astype(np.float32),
        "tone": tone,
        "short tone": tone[:2048],
        "white noise": (0.2 * rng.standard_normal(2 * RATE + 333)).astype(np.float32),
        "odd noise": (0.05 * rng.standard_normal(4097)).astype(np.float32),
        "tiny offset": np.full(2049, 1e-11, dtype=np.float32),
    }


def _check_voice_features(y: Clip) -> None:
    """Every librosa call of ``models.emotion.features`` on ``y``, each on librosa's inputs."""
    n_fft, hop, sr = features.N_FFT, features.HOP, RATE
    matrix = librosa.stft(y, n_fft=n_fft, hop_length=hop)
    _same(spectrum.stft(y, n_fft=n_fft, hop_length=hop), matrix)
    spec = np.abs(matrix) ** 2

    rms = librosa.feature.rms(y=y, frame_length=n_fft, hop_length=hop)
    _same(spectral.rms(y=y, frame_length=n_fft, hop_length=hop), rms)
    pitch = features.PITCH_FRAME, features.PITCH_HOP
    _same(
        spectral.rms(y=y, frame_length=pitch[0], hop_length=pitch[1]),
        librosa.feature.rms(y=y, frame_length=pitch[0], hop_length=pitch[1]),
    )
    rms_db = 20.0 * np.log10(np.maximum(rms[0], 1e-6))
    smooth = np.convolve(rms_db, np.ones(5) / 5, mode="same")
    _same(
        spectral.peak_pick(smooth, **PEAK_OPTIONS),
        librosa.util.peak_pick(smooth, **PEAK_OPTIONS),
    )

    all_freqs = librosa.fft_frequencies(sr=sr, n_fft=n_fft)
    _same(spectrum.fft_frequencies(sr=sr, n_fft=n_fft), all_freqs)
    inside = (all_freqs >= band.BAND_HZ[0]) & (all_freqs <= band.BAND_HZ[1])
    freqs = all_freqs[inside]
    mag = np.sqrt(spec[inside])
    _same(
        spectral.spectral_centroid(S=mag, freq=freqs),
        librosa.feature.spectral_centroid(S=mag, freq=freqs),
    )
    _same(
        spectral.spectral_bandwidth(S=mag, freq=freqs),
        librosa.feature.spectral_bandwidth(S=mag, freq=freqs),
    )
    _same(
        spectral.spectral_rolloff(S=mag, sr=sr, freq=freqs),
        librosa.feature.spectral_rolloff(S=mag, sr=sr, freq=freqs),
    )
    _same(spectral.spectral_flatness(S=mag), librosa.feature.spectral_flatness(S=mag))
    contrast: dict[str, Any] = dict(sr=sr, freq=freqs, fmin=400.0, n_bands=features.N_CONTRAST)
    _same(
        spectral.spectral_contrast(S=mag, **contrast),
        librosa.feature.spectral_contrast(S=mag, **contrast),
    )
    _same(
        spectral.zero_crossing_rate(y, frame_length=n_fft, hop_length=hop),
        librosa.feature.zero_crossing_rate(y, frame_length=n_fft, hop_length=hop),
    )

    mel_options: dict[str, Any] = dict(
        sr=sr, n_fft=n_fft, n_mels=features.N_MELS, fmin=band.BAND_HZ[0], fmax=band.BAND_HZ[1]
    )
    mel = librosa.feature.melspectrogram(S=spec, **mel_options)
    _same(spectrum.melspectrogram(S=spec, **mel_options), mel)
    db = librosa.power_to_db(mel)
    _same(spectrum.power_to_db(mel), db)
    mfcc = librosa.feature.mfcc(S=db, n_mfcc=features.N_MFCC + 1)
    _same(spectral.mfcc(S=db, n_mfcc=features.N_MFCC + 1), mfcc)
    coefficients = mfcc[1:]
    for width in range(3, min(9, coefficients.shape[1]) + 1, 2):
        _same(
            spectral.delta(coefficients, width=width, mode="nearest"),
            librosa.feature.delta(coefficients, width=width, mode="nearest"),
        )


def test_voice_features_of_real_turns(turns: list[Clip]) -> None:
    for turn in turns:
        _check_voice_features(_as_line_features(turn))


@pytest.mark.parametrize("name", list(_edge_signals()))
def test_voice_features_of_edge_cases(name: str) -> None:
    signal = _edge_signals()[name]
    _check_voice_features(_as_line_features(signal))
    _check_voice_features(signal)  # not through the front end: exact zeros, a pure tone


def _check_noise_reduction(samples: Clip, hop: int) -> None:
    """``band.reduce_noise``'s transform pair, with its gain."""
    spec = librosa.stft(samples, n_fft=band.N_FFT, hop_length=hop)
    _same(spectrum.stft(samples, n_fft=band.N_FFT, hop_length=hop), spec)
    power = np.abs(spec) ** 2
    noise = np.percentile(power, band.NOISE_PERCENTILE, axis=1, keepdims=True)
    gain = np.sqrt(
        np.maximum(
            1.0 - band.OVER_SUBTRACTION * noise / np.maximum(power, 1e-20), band.GAIN_FLOOR**2
        )
    )
    for matrix in (gain * spec, spec):
        _same(
            spectrum.istft(matrix, hop_length=hop, length=len(samples)),
            librosa.istft(matrix, hop_length=hop, length=len(samples)),
        )


@pytest.mark.parametrize("hop", [band.HOP, features.HOP])
def test_noise_reduction_of_real_turns(turns: list[Clip], hop: int) -> None:
    for turn in turns:
        _check_noise_reduction(band.band_limit(turn), hop)


@pytest.mark.parametrize("length", [512, 575, 576, 2048, 2049, 3001, 16001])
def test_noise_reduction_of_edge_cases(length: int) -> None:
    rng = np.random.default_rng(length)
    _check_noise_reduction((0.1 * rng.standard_normal(length)).astype(np.float32), band.HOP)
    _check_noise_reduction(np.zeros(length, dtype=np.float32), band.HOP)


def test_istft_of_a_longer_or_shorter_length() -> None:
    rng = np.random.default_rng(5)
    spec = librosa.stft(rng.standard_normal(3000).astype(np.float32), n_fft=512, hop_length=128)
    for length in (100, 2000, 3000, 3500, 5000):
        _same(
            spectrum.istft(spec, hop_length=128, length=length),
            librosa.istft(spec, hop_length=128, length=length),
        )


def _mel_pieces(samples: Clip) -> list[Clip]:
    """The pieces ``speaker_embedding.mel_frames`` passes to ``melspectrogram``."""
    n_fft, hop, chunk = (
        speaker_embedding._N_FFT,
        speaker_embedding._HOP,
        speaker_embedding._CHUNK_FRAMES,
    )
    wav = samples
    rms = float(np.sqrt(np.mean(np.square(wav, dtype=np.float64)))) if wav.size else 0.0
    if rms > 0 and (gain_db := speaker_embedding._TARGET_DBFS - 20 * np.log10(rms)) > 0:
        wav = wav * np.float32(10 ** (gain_db / 20))
    n_frames = 1 + wav.size // hop
    padded = np.pad(wav, (n_fft // 2, n_fft // 2 + n_fft))
    return [
        padded[first * hop : (min(n_frames, first + chunk) - 1) * hop + n_fft]
        for first in range(0, n_frames, chunk)
    ]


def test_speaker_mel_frames(turns: list[Clip]) -> None:
    audio, _ = sf.read(CALLS / "compliant-return.wav", dtype="float32", always_2d=True)
    stretch = np.concatenate([audio[:, 0], audio[:, 1]])[: 70 * RATE]  # both sides, end to end
    assert len(stretch) == 70 * RATE
    options: dict[str, Any] = dict(
        sr=RATE,
        n_fft=speaker_embedding._N_FFT,
        hop_length=speaker_embedding._HOP,
        n_mels=speaker_embedding._N_MELS,
        center=False,
    )
    pieces = _mel_pieces(stretch) + _mel_pieces(turns[0]) + [np.zeros(400, dtype=np.float32)]
    assert len(pieces) >= 4
    for piece in pieces:
        _same(
            spectrum.melspectrogram(y=piece, **options),
            librosa.feature.melspectrogram(y=piece, **options),
        )
    basis: dict[str, Any] = dict(sr=RATE, n_fft=speaker_embedding._N_FFT, n_mels=40)
    _same(spectrum.mel(**basis), librosa.filters.mel(**basis))


@pytest.mark.parametrize(
    "convert", [(spectrum.hz_to_mel, librosa.hz_to_mel), (spectrum.mel_to_hz, librosa.mel_to_hz)]
)
def test_mel_scale(convert: tuple[Callable[..., Any], Callable[..., Any]]) -> None:
    ours, theirs = convert
    values = np.linspace(0.0, 9000.0, 1001)
    _same(ours(values), theirs(values))
    for value in (0.0, 300.0, 999.9, 1000.0, 3400.0, 8000.0, 300):
        assert ours(value) == theirs(value) and type(ours(value)) is type(theirs(value))
    _same(
        spectrum.mel_frequencies(26, fmin=300.0, fmax=3400.0),
        librosa.mel_frequencies(26, fmin=300.0, fmax=3400.0),
    )


def test_the_mel_basis_is_cached_and_read_only() -> None:
    first = spectrum.mel(sr=RATE, n_fft=512, n_mels=24, fmin=300.0, fmax=3400.0)
    assert spectrum.mel(sr=RATE, n_fft=512, n_mels=24, fmin=300.0, fmax=3400.0) is first
    assert not first.flags.writeable
    _same(first, librosa.filters.mel(sr=RATE, n_fft=512, n_mels=24, fmin=300.0, fmax=3400.0))


def test_peak_pick_with_ties_plateaus_and_edges() -> None:
    rng = np.random.default_rng(2)
    options = PEAK_OPTIONS
    walk = np.cumsum(rng.standard_normal(3000))
    for x in (
        walk,
        np.round(walk),  # plateaus: equal maxima
        10.0 * rng.random(2500),  # many candidates, means of ten random values
        np.concatenate([[50.0], np.zeros(30), [50.0]]),  # peaks at both ends
        np.zeros(7),
        np.array([3.0]),
    ):
        _same(spectral.peak_pick(x, **options), librosa.util.peak_pick(x, **options))
    other: dict[str, Any] = dict(pre_max=0, post_max=1, pre_avg=0, post_avg=1, delta=0.0, wait=0)
    _same(spectral.peak_pick(walk, **other), librosa.util.peak_pick(walk, **other))


def test_zero_crossings_at_the_threshold() -> None:
    y = np.array([0.0, -0.0, 1e-10, -1e-10, -2e-10, 3e-10, -1.0, 1.0] * 300, dtype=np.float32)
    for frame_length, hop in ((512, 160), (7, 3), (16, 16)):
        _same(
            spectral.zero_crossing_rate(y, frame_length=frame_length, hop_length=hop),
            librosa.feature.zero_crossing_rate(y, frame_length=frame_length, hop_length=hop),
        )


def test_float64_input() -> None:
    y = np.random.default_rng(9).standard_normal(5001)
    _same(spectrum.stft(y, n_fft=512, hop_length=160), librosa.stft(y, n_fft=512, hop_length=160))
    _same(
        spectral.rms(y=y, frame_length=512, hop_length=160),
        librosa.feature.rms(y=y, frame_length=512, hop_length=160),
    )


def test_invalid_input_is_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        spectrum.stft(np.array([0.0, np.nan] * 600), n_fft=512, hop_length=160)
    with pytest.raises(ValueError, match="too large"):
        spectrum.stft(np.zeros(100, dtype=np.float32), n_fft=512, hop_length=160, center=False)
    with pytest.raises(ValueError, match="non-negative"):
        spectral.spectral_centroid(S=-np.ones((3, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="float64"):
        spectral.peak_pick(np.zeros(9, dtype=np.float32), **PEAK_OPTIONS)


@pytest.mark.parametrize(("seed", "ulps"), [(1, 0), (21, -1), (26, 0)])
def test_peak_pick_means_are_summed_in_order(seed: int, ulps: int) -> None:
    """A peak exactly at its window's mean + delta: numpy's pairwise mean would decide these
    the other way; librosa's kernel (and ours) sums the window sequentially."""
    others = np.random.default_rng(seed).random(19) * 2 - 1 + 0.1
    peak = (40 + others.sum()) / 19
    peak += ulps * np.spacing(peak)
    x = np.concatenate([others[:10], [peak], others[10:]])
    in_order = functools.reduce(operator.add, x.tolist(), 0.0) / len(x)  # sum() compensates
    assert (peak >= np.mean(x) + 2.0) != (peak >= in_order + 2.0)
    _same(spectral.peak_pick(x, **PEAK_OPTIONS), librosa.util.peak_pick(x, **PEAK_OPTIONS))
