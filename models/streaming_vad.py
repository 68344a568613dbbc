"""Silero VAD v6 run incrementally: speech probability per 32 ms window of a live stream.

The model is the one faster-whisper ships (see `models.vad`); its recurrent state and the
64-sample context of each window are carried across calls, so a stream fed in pieces of any
size gets (within float tolerance) the probabilities of one pass over the whole audio.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from models.vad import silero_model_path
from pipelines.core.audio import SAMPLE_RATE
from pipelines.core.errors import ModelUnavailableError
from pipelines.core.types import Samples

WINDOW = 512  # samples per probability at 16 kHz (32 ms)
_CONTEXT = 64


class SileroStream:
    """Speech probabilities of one live channel at 16 kHz, window by window."""

    window_s = WINDOW / SAMPLE_RATE

    def __init__(self) -> None:
        self._session = _session()
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)
        self._rest = np.zeros(0, dtype=np.float32)

    def push(self, samples: Samples) -> npt.NDArray[np.float32]:
        """Add samples; return one probability per window they complete (possibly none)."""
        data = np.concatenate((self._rest, np.asarray(samples, dtype=np.float32)))
        count = len(data) // WINDOW
        self._rest = data[count * WINDOW :]
        if count == 0:
            return np.zeros(0, dtype=np.float32)
        windows = data[: count * WINDOW].reshape(count, WINDOW)
        context = np.empty((count, _CONTEXT), dtype=np.float32)
        context[0] = self._context
        context[1:] = windows[:-1, -_CONTEXT:]
        self._context = windows[-1, -_CONTEXT:].copy()
        batch = np.ascontiguousarray(np.concatenate((context, windows), axis=1))
        output, self._h, self._c = self._session.run(
            None, {"input": batch, "h": self._h, "c": self._c}
        )
        return np.asarray(output, dtype=np.float32).reshape(-1)


def _session() -> Any:
    silero_model_path()
    try:
        from faster_whisper.vad import get_vad_model
    except ImportError as exc:  # pragma: no cover - dependency missing
        raise ModelUnavailableError("silero-vad", "pip install faster-whisper onnxruntime") from exc
    return get_vad_model().session
