"""Frames of a signal as a strided view (``librosa.util.frame`` for 1-D input)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import as_strided


def frame(
    x: npt.NDArray[np.floating], frame_length: int, hop_length: int
) -> npt.NDArray[np.floating]:
    """Read-only view (frame_length, n_frames) of 1-D ``x``, frame ``j`` starting at
    ``j * hop_length`` (``librosa.util.frame(x, frame_length=..., hop_length=...)``)."""
    if x.ndim != 1:
        raise ValueError(f"frame expects a 1-D signal, got shape {x.shape}")
    if len(x) < frame_length:
        raise ValueError(f"input is too short (n={len(x)}) for frame_length={frame_length}")
    if hop_length < 1:
        raise ValueError(f"invalid hop_length: {hop_length}")
    stride = x.strides[0]
    windows = as_strided(
        x,
        shape=(len(x) - frame_length + 1, frame_length),
        strides=(stride, stride),
        writeable=False,
    )
    view: npt.NDArray[np.floating] = np.moveaxis(windows, -1, 0)[:, ::hop_length]
    return view
