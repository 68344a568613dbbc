"""A growable float32 sample buffer addressed by absolute sample index."""

from __future__ import annotations

import numpy as np

from pipelines.core.audio import SAMPLE_RATE
from pipelines.core.types import Samples


class SampleBuffer:
    """Samples ``[base, end)`` of a stream; old samples are dropped with `trim`."""

    def __init__(self, capacity: int = SAMPLE_RATE * 8) -> None:
        self._data = np.zeros(capacity, dtype=np.float32)
        self._size = 0
        self.base = 0

    @property
    def end(self) -> int:
        return self.base + self._size

    def append(self, samples: Samples) -> None:
        count = len(samples)
        if self._size + count > len(self._data):
            grown = np.zeros(max(2 * len(self._data), self._size + count), dtype=np.float32)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size : self._size + count] = samples
        self._size += count

    def slice(self, start: int, end: int) -> Samples:
        """A copy of samples ``[start, end)`` (clipped to what is held)."""
        first = max(start, self.base) - self.base
        last = max(first, min(end, self.end) - self.base)
        return self._data[first:last].copy()

    def trim(self, before: int) -> None:
        """Forget samples before ``before`` (moving memory only when it pays)."""
        drop = min(max(0, before - self.base), self._size)
        if drop == 0 or (drop < self._size // 2 and drop < SAMPLE_RATE * 4):
            return
        self._data[: self._size - drop] = self._data[drop : self._size]
        self._size -= drop
        self.base += drop
