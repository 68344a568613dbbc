"""``models.dsp.resample`` gives librosa's resampling, sample for sample."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from models.dsp.resample import resample


@pytest.mark.parametrize(("orig", "target"), [(8000, 16000), (16000, 15238), (44100, 16000)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_same_samples_as_librosa(orig: int, target: int, dtype: type) -> None:
    rng = np.random.default_rng(orig + target)
    for length in (1, 999, orig + 7):
        y: np.ndarray = rng.normal(0.0, 0.1, length).astype(dtype)
        ours = resample(y, orig, target)
        theirs = librosa.resample(y, orig_sr=orig, target_sr=target)
        assert ours.dtype == theirs.dtype
        np.testing.assert_array_equal(ours, theirs)


def test_same_rate_is_the_input_and_non_finite_audio_is_refused() -> None:
    y = np.ones(10, dtype=np.float32)
    assert resample(y, 16000, 16000) is y
    with pytest.raises(ValueError, match="not finite"):
        resample(np.array([0.0, np.nan], dtype=np.float32), 8000, 16000)
