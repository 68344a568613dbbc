"""Job workers: ``callqa worker`` (one process, thread workers) and in-process workers of
``callqa serve``. Both run huey's consumer threads and a sweeper thread (`api.jobs.queue.sweep`).

``python -m api.jobs.worker [--workers N]`` is the same as ``callqa worker``. SIGINT stops after
the running jobs finish (a second SIGINT: as SIGTERM). SIGTERM gives running jobs
``SHUTDOWN_WAIT_S`` to finish, then hands them back to the queue without counting the attempt.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from api.jobs.leftovers import remove_stale_parts
from api.jobs.queue import JobQueue, release_jobs, sweep
from api.jobs.runner import build_queue
from api.store.db import Store, migrate
from models.device import limit_malloc_arenas
from pipelines.core.errors import ConfigError
from pipelines.core.settings import Settings, get_settings

logger = logging.getLogger(__name__)

SWEEP_EVERY_S = 5.0
SHUTDOWN_WAIT_S = 10.0
QUEUE_POLL_MAX_S = 1.0  # the SQLite queue is polled; a new job waits at most this long


class Sweeper:
    """Runs `sweep` once now and then every few seconds in a daemon thread."""

    def __init__(self, queue: JobQueue) -> None:
        self.queue = queue
        self.every = min(SWEEP_EVERY_S, max(queue.settings.service.lease_s / 2, 0.5))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="callqa-sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.every + 5)

    def _run(self) -> None:
        while True:
            try:
                sweep(self.queue)
            except Exception:  # a database or queue outage must not end the sweeper
                logger.exception("sweeping jobs failed; trying again in %.0f s", self.every)
            if self._stop.wait(self.every):
                return


def _consumer(queue: JobQueue, workers: int) -> Any:
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")
    return queue.huey.create_consumer(
        workers=workers,
        worker_type="thread",
        periodic=False,
        max_delay=QUEUE_POLL_MAX_S,
        check_worker_health=True,
    )


class EmbeddedWorkers:
    """Consumer threads inside the API process; `stop` ends them (from the app lifespan)."""

    def __init__(self, queue: JobQueue, consumer: Any, *, owns_queue: bool) -> None:
        self.queue = queue
        self.consumer = consumer
        self.sweeper = Sweeper(queue)
        self.owns_queue = owns_queue

    def start(self) -> None:
        self.sweeper.start()
        self.consumer.scheduler.start()
        for _, thread in self.consumer.worker_threads:
            thread.start()
        logger.info("%d in-process job workers started", len(self.consumer.worker_threads))

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking jobs; jobs still running after ``timeout`` go back to the queue."""
        if not wind_down(self.queue, self.consumer, self.sweeper, timeout):
            logger.warning("job threads still running at shutdown")
        if self.owns_queue:
            self.queue.close()


def wind_down(queue: JobQueue, consumer: Any, sweeper: Sweeper, timeout: float) -> bool:
    """Stop consumer and sweeper threads; True when every thread has ended.

    Jobs still running after ``timeout`` are handed back to the queue, which makes their
    threads drop them at their next step. Threads must end before the interpreter does: the
    models they hold own native threads that abort the process when torn down at exit.
    """
    consumer.stop_flag.set()
    threads = [thread for _, thread in consumer.worker_threads] + [consumer.scheduler]
    if not _join(threads, timeout):
        sweeper.stop()
        try:
            release_jobs(queue)
        except Exception:  # the sweeper of another worker will find them
            logger.exception("could not hand running jobs back at shutdown")
        _join(threads, timeout)
    sweeper.stop()
    return not any(thread.is_alive() for thread in threads)


def _join(threads: list[threading.Thread], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(timeout=max(deadline - time.monotonic(), 0.0))
    return not any(thread.is_alive() for thread in threads)


def start_embedded_workers(
    settings: Settings, n: int, *, queue: JobQueue | None = None
) -> EmbeddedWorkers:
    """Start ``n`` consumer threads and a sweeper in this process (no signal handlers)."""
    owns = queue is None
    queue = queue if queue is not None else build_queue(settings)
    workers = EmbeddedWorkers(queue, _consumer(queue, n), owns_queue=owns)
    workers.start()
    return workers


def run_worker(settings: Settings, workers: int) -> int:
    """``callqa worker``: consume jobs until SIGINT or SIGTERM; returns the exit code."""
    store = Store(settings.resolved_database_url)
    try:
        migrate(store.engine)
        remove_stale_parts(settings.data_path / "audio")
        queue = build_queue(settings, store)
        consumer = _consumer(queue, workers)
        sweeper = Sweeper(queue)
        sweeper.start()
        try:
            consumer.run()
        finally:
            ended = wind_down(queue, consumer, sweeper, SHUTDOWN_WAIT_S)
        if not ended:
            logger.warning("job threads did not stop; exiting without waiting for them")
            logging.shutdown()
            os._exit(0)
    finally:
        store.dispose()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.jobs.worker", description=__doc__)
    parser.add_argument("--workers", type=int, default=None, help="job threads (default 1)")
    args = parser.parse_args(argv)
    limit_malloc_arenas()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = get_settings()
    return run_worker(settings, args.workers or max(settings.service.workers, 1))


if __name__ == "__main__":
    sys.exit(main())
