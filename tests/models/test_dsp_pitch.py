"""``models.dsp.pitch`` gives librosa's YIN and pYIN results, array for array and bit for bit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import librosa
import librosa.sequence
import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

from models.dsp import pitch
from models.emotion import features
from models.emotion.band import front_end
from tests.pipelines.golden import CALLS

RATE = 16_000
PITCH: dict[str, Any] = {
    "fmin": features.FMIN,
    "fmax": features.FMAX,
    "sr": RATE,
    "frame_length": features.PITCH_FRAME,
    "hop_length": features.PITCH_HOP,
}
VOICING: dict[str, Any] = {
    "switch_prob": features.PYIN_SWITCH_PROB,
    "no_trough_prob": features.PYIN_NO_TROUGH_PROB,
}
SLICE_SECONDS = (1.0, 2.5, 4.0, 6.0)

Signal = npt.NDArray[np.float32]


@pytest.fixture
def pristine() -> ModuleType:
    """librosa as installed (callqa's product code no longer imports or patches it)."""
    assert librosa.sequence.viterbi.__module__ == "librosa.sequence"
    return librosa


def _line(samples: Signal) -> Signal:
    """A turn as ``features.line_features`` hands it to pYIN and YIN."""
    y = front_end(samples)
    if len(y) < features.MIN_SAMPLES:
        pad = features.MIN_SAMPLES - len(y)
        y = np.pad(y, (pad // 2, pad - pad // 2))
    centred: Signal = y - float(np.mean(y))
    return centred


def _turns(name: str) -> list[Signal]:
    """Slices of 1 to 6 s of a call, every channel, through the voice features' front end."""
    audio, rate = sf.read(CALLS / f"{name}.wav", dtype="float32", always_2d=True)
    turns = []
    for i, seconds in enumerate(SLICE_SECONDS):
        channel = audio[:, i % audio.shape[1]]
        start = (i * len(channel)) // len(SLICE_SECONDS)
        turns.append(_line(channel[start : start + int(seconds * rate)]))
    return turns


def _assert_identical(ours: Any, theirs: Any) -> None:
    np.testing.assert_array_equal(ours, theirs, strict=True)  # shape and dtype too


def _assert_as_librosa(y: npt.NDArray[np.floating], lib: ModuleType, **voicing: float) -> None:
    _assert_identical(pitch.yin(y, **PITCH), lib.yin(y, **PITCH))
    ours = pitch.pyin(y, **PITCH, **(voicing or VOICING))
    theirs = lib.pyin(y, **PITCH, **(voicing or VOICING))
    assert len(ours) == len(theirs) == 3
    for mine, expected in zip(ours, theirs, strict=True):
        _assert_identical(mine, expected)


@pytest.mark.parametrize("name", ["angry-customer", "compliant-return", "greeting-mono"])
def test_real_turns(pristine: ModuleType, name: str) -> None:
    turns = _turns(name)
    for y in turns:
        assert y.dtype == np.float32
        _assert_as_librosa(y, pristine)
    voiced = [np.count_nonzero(pitch.pyin(y, **PITCH, **VOICING)[1]) for y in turns]
    assert sum(voiced) > 0  # the slices contain speech, not only pauses


def test_silence(pristine: ModuleType) -> None:
    y = np.zeros(RATE * 3 // 2, dtype=np.float32)
    _assert_as_librosa(y, pristine)
    assert not pitch.pyin(y, **PITCH, **VOICING)[1].any()


def test_shortest_turn(pristine: ModuleType) -> None:
    audio, _ = sf.read(CALLS / "greeting-mono.wav", dtype="float32", always_2d=True)
    y = audio[RATE : RATE + features.MIN_SAMPLES, 0]
    _assert_as_librosa(y - float(np.mean(y)), pristine)
    _assert_as_librosa(_line(audio[RATE : RATE + 800, 0]), pristine)  # padded to 2048


def test_tone(pristine: ModuleType) -> None:
    seconds = np.arange(2 * RATE) / RATE
    y = (0.3 * np.sin(2 * np.pi * 180.0 * seconds)).astype(np.float32)
    _assert_as_librosa(y, pristine)
    f0, voiced, _ = pitch.pyin(y, **PITCH, **VOICING)
    assert voiced[5:-5].all() and np.allclose(f0[5:-5], 180.0, rtol=0.01)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_white_noise(pristine: ModuleType, dtype: type[np.floating]) -> None:
    y = (0.1 * np.random.default_rng(5).standard_normal(2 * RATE)).astype(dtype)
    _assert_as_librosa(y, pristine)
    _assert_as_librosa(y, pristine, switch_prob=0.01, no_trough_prob=0.01)  # librosa's defaults


def test_transition_matrix_is_librosas_and_shared(pristine: ModuleType) -> None:
    bins, width = 399, 91  # 60-600 Hz in tenths of a semitone, 9 semitones a frame
    local = pristine.sequence.transition_local(bins, width, window="triangle", wrap=False)
    expected = np.kron(pristine.sequence.transition_loop(2, 1 - 0.1), local)
    matrix = pitch._transition(bins, width, 0.1)
    _assert_identical(matrix, expected)
    assert pitch._transition(bins, width, 0.1) is matrix and not matrix.flags.writeable


def test_invalid_input_is_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        pitch.yin(np.full(4000, np.nan, dtype=np.float32), **PITCH)
    with pytest.raises(ValueError, match="pitch range"):
        pitch.yin(np.zeros(4000, dtype=np.float32), **{**PITCH, "fmin": 10.0})
    with pytest.raises(ValueError, match="1-D"):
        pitch.pyin(np.zeros((2, 4000), dtype=np.float32), **PITCH, **VOICING)


def test_no_librosa_or_numba_is_imported() -> None:
    code = (
        "import sys, numpy as np; from models.dsp.pitch import pyin, yin; "
        "y = np.zeros(4000, dtype=np.float32); yin(y, fmin=60.0, fmax=600.0, sr=16000, "
        "frame_length=1024, hop_length=320); pyin(y, fmin=60.0, fmax=600.0, sr=16000, "
        "frame_length=1024, hop_length=320, switch_prob=0.1, no_trough_prob=0.1); "
        "assert not {'librosa', 'numba'} & set(sys.modules), sorted(sys.modules)"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, cwd=root)
