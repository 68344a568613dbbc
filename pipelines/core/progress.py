"""Progress hook adapters (the CLI's progress bar lives in ``api.cli``)."""

from __future__ import annotations

import time


class TimingHook:
    """Records when each step is first reported; ``durations()`` gives seconds per step.

    A step lasts from its first report to the first report of the next step (or ``stop()``).
    """

    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.stopped: float | None = None

    def __call__(
        self,
        step: str,
        artifact: object | None = None,
        *,
        total: int | None = None,
        completed: int | None = None,
    ) -> None:
        self.started.setdefault(step, time.perf_counter())

    def stop(self) -> None:
        self.stopped = time.perf_counter()

    def durations(self) -> dict[str, float]:
        marks = sorted(self.started.items(), key=lambda item: item[1])
        end = self.stopped if self.stopped is not None else time.perf_counter()
        ends = [at for _, at in marks[1:]] + [end]
        return {step: finish - at for (step, at), finish in zip(marks, ends, strict=True)}
