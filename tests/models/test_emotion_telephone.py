"""The telephone channel the emotion model is measured and trained through, and its front end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

from models.emotion.band import BAND_HZ, band_limit, front_end, normalize_level
from models.emotion.band import LEVEL_DBFS as FRONT_LEVEL_DBFS
from models.emotion.features import extract_features
from models.emotion.telephone import (
    LEVEL_DBFS,
    LINE_RATE,
    Channel,
    active_power,
    add_noise,
    degrade_all,
)
from models.emotion.train_data import telephone_channels
from pipelines.core.audio import SAMPLE_RATE


def _clip(data_dir: Path) -> npt.NDArray[np.float32]:
    samples, rate = sf.read(data_dir / "emodb" / "15a01Wa.wav", dtype="float32")
    assert rate == SAMPLE_RATE
    return np.asarray(samples, dtype=np.float32)


def _band_share(y: npt.NDArray[np.float32], low: float, high: float) -> float:
    power = np.abs(np.fft.rfft(y)) ** 2
    freqs = np.fft.rfftfreq(len(y), 1 / SAMPLE_RATE)
    return float(power[(freqs >= low) & (freqs < high)].sum() / power.sum())


def test_a_copy_is_band_limited_same_length_and_reproducible(data_dir: Path) -> None:
    clip = _clip(data_dir)
    first = degrade_all([clip, clip], Channel("mu-law", 15.0), seed=3)
    again = degrade_all([clip], Channel("mu-law", 15.0), seed=3)
    assert [len(c) for c in first] == [len(clip)] * 2 and first[0].dtype == np.float32
    np.testing.assert_array_equal(first[0], again[0])
    assert not np.array_equal(first[0], first[1])  # each clip's noise of its own
    quiet = degrade_all([clip], Channel("a-law", None), seed=3)[0]
    assert _band_share(quiet, 4100, 8000) < 1e-4 and _band_share(quiet, 0, 200) < 1e-2
    assert _band_share(clip, 4100, 8000) > 1e-3  # the studio clip had that band


def test_noise_sits_at_the_asked_snr() -> None:
    rng = np.random.default_rng(0)
    tone = np.sin(2 * np.pi * 440 * np.arange(LINE_RATE) / LINE_RATE)
    noisy = add_noise(tone, 15.0, rng)
    assert 10 * np.log10(active_power(noisy - add_noise(tone, None, rng))) == pytest.approx(
        LEVEL_DBFS - 15.0, abs=0.3
    )
    assert 10 * np.log10(active_power(add_noise(tone, None, rng))) == pytest.approx(LEVEL_DBFS)
    assert not add_noise(np.zeros(100), 15.0, rng).any()


def test_training_channels_are_drawn_from_their_seed() -> None:
    channels = telephone_channels(200)
    assert channels == telephone_channels(200) and channels != telephone_channels(200, seed=9)
    assert {c.codec for c in channels} == {"mu-law", "a-law"}
    assert all(c.snr_db is not None and 8.0 <= c.snr_db <= 25.0 for c in channels)


def test_front_end_keeps_the_telephone_band_only(data_dir: Path) -> None:
    clip = _clip(data_dir)
    limited = band_limit(clip)
    assert limited.shape == clip.shape and limited.dtype == np.float32
    assert _band_share(limited, 4100, 8000) < 1e-4 and _band_share(limited, 0, 150) < 1e-3
    assert _band_share(limited, *BAND_HZ) > 0.97
    cleaned = front_end(clip)
    assert cleaned.shape == clip.shape and np.all(np.isfinite(cleaned))
    for short in (np.zeros(0, np.float32), np.ones(10, np.float32), np.zeros(300, np.float32)):
        assert front_end(short).shape == short.shape


def test_studio_and_telephone_features_are_close(data_dir: Path) -> None:
    # the front end makes a clip and its noiseless telephone copy nearly the same vector
    clip = _clip(data_dir)
    phone = degrade_all([clip], Channel("mu-law", None), seed=0)[0]
    studio, line = extract_features(clip), extract_features(phone)
    scale = np.maximum(np.abs(studio), 1.0)
    assert np.median(np.abs(studio - line) / scale) < 0.05


def test_front_end_sets_one_speech_level(data_dir: Path) -> None:
    clip = _clip(data_dir)
    loud, quiet = front_end(clip), front_end(np.float32(0.01) * clip)
    np.testing.assert_allclose(quiet, loud, atol=1e-4)
    frames = loud[: len(loud) // 320 * 320].reshape(-1, 320).astype(np.float64)
    power = np.mean(frames**2, axis=1)
    active = power[power >= power.max() / 1000]
    assert 10 * np.log10(active.mean()) == pytest.approx(FRONT_LEVEL_DBFS, abs=0.01)
    silence = np.zeros(16000, dtype=np.float32)
    assert not normalize_level(silence).any()
