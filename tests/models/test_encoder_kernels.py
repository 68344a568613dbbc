"""The emotion encoder's GELU and attention, worked in place or one head at a time, give the
numbers of the plain expressions they replace (bit for bit, on this CPU's numpy)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from models.emotion.encoder import _attention, _gelu

F32 = npt.NDArray[np.float32]


def plain_gelu(x: F32) -> F32:
    z = np.abs(x) * np.float32(1.0 / np.sqrt(2.0))
    t = np.float32(1.0) / (np.float32(1.0) + np.float32(0.3275911) * z)
    poly = t * (
        np.float32(0.254829592)
        + t
        * (
            np.float32(-0.284496736)
            + t
            * (
                np.float32(1.421413741)
                + t * (np.float32(-1.453152027) + t * np.float32(1.061405429))
            )
        )
    )
    erf = np.float32(1.0) - poly * np.exp(-z * z)
    out: F32 = np.float32(0.5) * x * (np.float32(1.0) + np.copysign(erf, x))
    return out


def plain_attention(q: F32, k: F32, v: F32) -> F32:
    scores = (q * np.float32(1.0 / np.sqrt(q.shape[-1]))) @ k.swapaxes(1, 2)
    scores -= scores.max(axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    out: F32 = (scores @ v) / scores.sum(axis=-1, keepdims=True)
    return out


def test_gelu_in_place_is_the_expression() -> None:
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((1500, 2048)) * 3).astype(np.float32)
    x[0, :6] = [0.0, -0.0, 1e-30, -1e-30, 60.0, -60.0]
    before = x.copy()
    np.testing.assert_array_equal(_gelu(x), plain_gelu(x))
    np.testing.assert_array_equal(x, before)  # the input is left alone


def test_attention_one_head_at_a_time_is_the_stacked_product() -> None:
    rng = np.random.default_rng(6)
    frames, heads, width = 1500, 8, 512
    qkv = (rng.standard_normal((frames, 3 * width)) * 2).astype(np.float32)
    q, k, v = (  # strided views, as WhisperBlocks slices its projection
        qkv[:, n * width : (n + 1) * width].reshape(frames, heads, -1).swapaxes(0, 1)
        for n in range(3)
    )
    np.testing.assert_array_equal(_attention(q, k, v), plain_attention(q, k, v))
