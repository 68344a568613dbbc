"""Sample-rate conversion as ``librosa.resample`` does it by default (soxr, high quality)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import soxr


def resample(y: npt.NDArray[np.floating], orig_sr: int, target_sr: int) -> npt.NDArray[np.floating]:
    """``librosa.resample(y, orig_sr=..., target_sr=...)`` of 1-D ``y``: soxr's "HQ" converter,
    the output cut or zero-padded to ``ceil(len(y) * target_sr / orig_sr)``, in ``y``'s dtype."""
    if not np.all(np.isfinite(y)):
        raise ValueError("audio buffer is not finite everywhere")
    if orig_sr == target_sr:
        return y
    size = math.ceil(len(y) * (float(target_sr) / orig_sr))
    out = soxr.resample(y, orig_sr, target_sr, quality="soxr_hq")
    if len(out) > size:
        out = out[:size]
    elif len(out) < size:
        out = np.pad(out, (0, size - len(out)))
    return np.asarray(out, dtype=y.dtype)
