"""The sparse Viterbi pass (``models.dsp.viterbi``) gives librosa's states and log-probabilities,
exactly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import librosa
import librosa.sequence
import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

from models.dsp import pitch
from models.dsp.viterbi import viterbi
from models.emotion import features
from models.emotion.band import front_end
from tests.pipelines.golden import CALLS

Viterbi = Callable[..., Any]
PITCH_BINS = 399  # pYIN's grid from 60 to 600 Hz in tenths of a semitone


@pytest.fixture(scope="module")
def librosa_viterbi() -> Viterbi:
    theirs: Viterbi = librosa.sequence.viterbi
    assert theirs.__module__ == "librosa.sequence"
    return theirs


def _pyin_transition(switch_prob: float = 0.1) -> npt.NDArray[np.float64]:
    within = librosa.sequence.transition_local(PITCH_BINS, 91, window="triangle", wrap=False)
    matrix: npt.NDArray[np.float64] = np.kron(
        librosa.sequence.transition_loop(2, 1 - switch_prob), within
    )
    return matrix


def _assert_same(ours: Any, theirs: Any) -> None:
    (states, logp), (expected_states, expected_logp) = ours, theirs
    assert states.dtype == expected_states.dtype and states.shape == expected_states.shape
    np.testing.assert_array_equal(states, expected_states)
    assert logp.shape == expected_logp.shape
    np.testing.assert_array_equal(logp, expected_logp)


def test_real_turns_decode_to_librosas_states(
    librosa_viterbi: Viterbi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pYIN's own inputs for the turns of real calls, as the voice features make them."""
    seen: list[tuple[Any, Any, dict[str, Any]]] = []

    def record(prob: Any, transition: Any, **options: Any) -> Any:
        seen.append((prob.copy(), transition.copy(), options))
        return viterbi(prob, transition, **options)

    monkeypatch.setattr(pitch, "viterbi", record)
    for name in ("angry-customer", "compliant-return", "greeting-mono"):
        audio, rate = sf.read(CALLS / f"{name}.wav", dtype="float32", always_2d=True)
        channel = audio[:, -1]
        for start in range(0, min(len(channel), 30 * rate), 4 * rate):
            features.line_features(front_end(channel[start : start + 7 * rate // 2]))
    assert len(seen) >= 15
    for prob, transition, options in seen:
        _assert_same(
            viterbi(prob, transition, return_logp=True, **options),
            librosa_viterbi(prob, transition, return_logp=True, **options),
        )


def test_a_jump_outside_the_band_is_decoded_as_librosa_does(librosa_viterbi: Viterbi) -> None:
    """Sure voicing at one pitch, then at one far away: only a transition librosa treats as
    ``log(tiny)`` connects them, so the whole-row comparison has to take over."""
    frames = 60
    prob = np.zeros((2 * PITCH_BINS, frames), dtype=np.float32)
    prob[50, :30] = 1.0
    prob[350, 30:] = 1.0
    transition = _pyin_transition()
    states, logp = viterbi(prob, transition, return_logp=True)
    _assert_same((states, logp), librosa_viterbi(prob, transition, return_logp=True))
    assert states[29] == 50 and states[30] == 350


@pytest.mark.parametrize("shape", [(2 * PITCH_BINS, 80), (2, 2 * PITCH_BINS, 40)])
def test_random_observations_and_shapes(librosa_viterbi: Viterbi, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(7)
    prob = rng.random(shape) ** 8  # mostly near zero, a few likely states
    prob[..., rng.random(shape[-1]) < 0.3] = 0.0  # frames with no candidate at all
    transition = _pyin_transition(switch_prob=0.01)
    p_init = np.full(shape[-2], 1.0 / shape[-2])
    _assert_same(
        viterbi(prob, transition, p_init=p_init, return_logp=True),
        librosa_viterbi(prob, transition, p_init=p_init, return_logp=True),
    )
    np.testing.assert_array_equal(viterbi(prob, transition), librosa_viterbi(prob, transition))


def test_a_dense_transition_matrix(librosa_viterbi: Viterbi) -> None:
    rng = np.random.default_rng(3)
    transition = rng.random((12, 12))
    transition /= transition.sum(axis=1, keepdims=True)
    prob = rng.random((12, 30))
    _assert_same(
        viterbi(prob, transition, return_logp=True),
        librosa_viterbi(prob, transition, return_logp=True),
    )


def test_invalid_input_is_refused() -> None:
    with pytest.raises(ValueError, match="transition"):
        viterbi(np.full((3, 4), 0.5), np.ones((3, 3)))
    with pytest.raises(ValueError, match="probability"):
        viterbi(np.full((3, 4), 1.5), np.eye(3))


def test_a_read_only_matrix_is_prepared_once_and_a_writeable_one_every_time(
    librosa_viterbi: Viterbi, monkeypatch: pytest.MonkeyPatch
) -> None:
    from models.dsp import viterbi as module

    calls: list[int] = []
    predecessors = module._predecessors

    def counted(*args: Any) -> Any:
        calls.append(1)
        return predecessors(*args)

    monkeypatch.setattr(module, "_predecessors", counted)
    rng = np.random.default_rng(5)
    prob = rng.random((2 * PITCH_BINS, 40)) * 0.1
    frozen = np.array(_pyin_transition())  # owns its data, as pYIN's matrix does
    frozen.setflags(write=False)
    for _ in range(3):
        _assert_same(
            viterbi(prob, frozen, return_logp=True), librosa_viterbi(prob, frozen, return_logp=True)
        )
    assert len(calls) == 1
    writeable = _pyin_transition()
    viterbi(prob, writeable)
    writeable[:] = np.eye(len(writeable))[::-1]  # every state jumps to its mirror
    _assert_same(
        viterbi(prob, writeable, return_logp=True),
        librosa_viterbi(prob, writeable, return_logp=True),
    )
    assert len(calls) == 3
