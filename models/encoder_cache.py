"""Whisper encoder outputs kept for the next decode of the same window.

Every whisper decode of a 30 s window starts with an encoder pass (the costliest single step on
a CPU). The transcription stage often asks for a stretch's language and then decodes that same
stretch (language repair, outlier languages, missed speech), and faster-whisper's own language
detection encodes the first window its decode encodes again. The cache is keyed by the exact
input features (a BLAKE2 digest of their bytes), so a hit returns exactly what the pass would
have computed; it holds at most ``budget_bytes`` of outputs per thread, the least recently
used dropped first. It keeps outputs only inside ``kept()`` (the transcription stage wraps each
channel in it) and drops them when that ends: they are of no use to the next call and would only
hold memory. Each thread has its own (threads share a recognizer, each decoding its own call).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import numpy as np

DEFAULT_BUDGET_BYTES = 64 * 1024 * 1024  # about 21 windows of whisper base, 8 of large


def array_key(array: np.ndarray) -> bytes:
    """A BLAKE2 digest of an array's bytes, shape and dtype: equal only for equal arrays."""
    digest = hashlib.blake2b(np.ascontiguousarray(array).data, digest_size=20)
    digest.update(repr((array.shape, array.dtype.str)).encode())
    return digest.digest()


class _Held(threading.local):
    def __init__(self) -> None:
        self.outputs: OrderedDict[bytes, tuple[Any, int]] = OrderedDict()
        self.size = 0
        self.keeping = False


class EncoderCache:
    """Encoder outputs by input features, one store per thread."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.budget_bytes = budget_bytes
        self.hits = 0  # over all threads (a count for benches and tests)
        self.misses = 0
        self._held = _Held()

    @property
    def keeping(self) -> bool:
        """Whether this thread is inside ``kept()``."""
        return self._held.keeping

    @contextlib.contextmanager
    def kept(self) -> Iterator[None]:
        """Keep outputs until the block ends (this thread's; blocks do not nest)."""
        self._held.keeping = True
        try:
            yield
        finally:
            self._held.keeping = False
            self._held.outputs.clear()
            self._held.size = 0

    @staticmethod
    def key(features: np.ndarray) -> bytes:
        return array_key(features)

    def get(self, key: bytes) -> Any | None:
        held = self._held.outputs.get(key)
        if held is None:
            self.misses += 1
            return None
        self._held.outputs.move_to_end(key)
        self.hits += 1
        return held[0]

    def put(self, key: bytes, output: Any) -> None:
        size = 4 * int(np.prod(output.shape))  # float32 (float16 on a GPU: half of it)
        held = self._held
        if not held.keeping or size > self.budget_bytes or key in held.outputs:
            return
        held.outputs[key] = (output, size)
        held.size += size
        while held.size > self.budget_bytes:
            _, (_, dropped) = held.outputs.popitem(last=False)
            held.size -= dropped
