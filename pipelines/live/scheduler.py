"""One compute thread for every live call of a process, finals before partials.

Whisper on a 2-core machine decodes one utterance at a time at best: running several at once
only makes each slower. So every `LiveTranscriber` of a process may share one scheduler. It
runs final decodes first, oldest first (their latency is the one users feel), then partial
decodes and background work (a final's translation) in the order they were asked for; a
track has at most one partial request waiting, so requests that pile up while compute is busy
merge into one decode of the newest audio. Whisper is never used by two threads at once, so a
translation cannot stall a final inside CTranslate2's own queue.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

Task = Callable[[], None]
PartialTask = Callable[[float], None]  # gets how long the request waited (s)


@dataclass(order=True)
class _Queued:
    ready: float
    seq: int
    task: Task = field(compare=False)


class StreamScheduler:
    """Runs decode tasks on ``workers`` daemon threads (one is right for 2 cores)."""

    def __init__(self, workers: int = 1, *, name: str = "callqa-live") -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self._name = name
        self._cond = threading.Condition()
        self._finals: list[_Queued] = []
        self._partials: dict[Hashable, tuple[float, PartialTask]] = {}
        self._background: list[_Queued] = []
        self._seq = itertools.count()
        self._threads: list[threading.Thread] = []
        self._running = 0
        self._closed = False

    def submit_final(self, task: Task) -> None:
        """Queue a final decode (never dropped)."""
        with self._cond:
            self._ensure_started()
            heapq.heappush(self._finals, _Queued(time.monotonic(), next(self._seq), task))
            self._cond.notify()

    def submit_background(self, task: Task) -> None:
        """Queue work that may wait for finals (never dropped while the scheduler runs)."""
        with self._cond:
            self._ensure_started()
            heapq.heappush(self._background, _Queued(time.monotonic(), next(self._seq), task))
            self._cond.notify()

    def request_partial(self, key: Hashable, task: PartialTask) -> bool:
        """Ask for a partial decode for ``key``; False when one is already waiting (merged)."""
        with self._cond:
            self._ensure_started()
            if key in self._partials:
                return False
            self._partials[key] = (time.monotonic(), task)
            self._cond.notify()
            return True

    def cancel_partials(self, keys: list[Hashable]) -> None:
        with self._cond:
            for key in keys:
                self._partials.pop(key, None)

    def busy_seconds(self) -> float:
        """How long the oldest waiting final has waited (0 when none waits)."""
        with self._cond:
            if not self._finals:
                return 0.0
            return time.monotonic() - self._finals[0].ready

    def idle(self) -> bool:
        with self._cond:
            return (
                not self._finals
                and not self._partials
                and not self._background
                and self._running == 0
            )

    def close(self) -> None:
        """Stop the workers after the task each is running; queued tasks are dropped."""
        with self._cond:
            self._closed = True
            self._finals.clear()
            self._partials.clear()
            self._background.clear()
            self._cond.notify_all()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=30)

    def _ensure_started(self) -> None:
        if self._closed:
            raise RuntimeError("the scheduler is closed")
        while len(self._threads) < self.workers:
            thread = threading.Thread(
                target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _next(self) -> Task | None:
        with self._cond:
            while not self._closed and not (self._finals or self._partials or self._background):
                self._cond.wait()
            if self._closed:
                return None
            self._running += 1
            if self._finals:
                return heapq.heappop(self._finals).task
            key = min(self._partials, key=lambda k: self._partials[k][0], default=None)
            if self._background and (
                key is None or self._background[0].ready <= self._partials[key][0]
            ):
                return heapq.heappop(self._background).task
            assert key is not None
            requested, partial = self._partials.pop(key)
        waited = time.monotonic() - requested
        return lambda: partial(waited)

    def _work(self) -> None:
        while True:
            task = self._next()
            if task is None:
                return
            try:
                task()
            except Exception:  # a task reports its own failures; never kill the worker
                logger.exception("live decode task failed")
            finally:
                with self._cond:
                    self._running -= 1
                    self._cond.notify_all()
