"""Durable analysis jobs on a huey queue: a SQLite file when embedded, Redis for scale-out.

The queue only carries job ids; the ``jobs`` table is the truth. A worker claims a job with
one conditional UPDATE (a lease), renews the lease while it works, and any worker may take
over a job whose lease ran out. A sweeper in every worker queues again the jobs whose worker
died or whose message was lost, and fails a job once it has had ``service.max_attempts``.

::

    queued --claim--> running --> done | failed
       ^                 |
       +-- retry, lease expired (sweeper), worker shut down (attempt given back)

The analysis itself is ``api.jobs.runner``; the consumer processes are ``api.jobs.worker``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from api.jobs.leftovers import HOST, register_token, worker_gone
from api.store.db import Store
from api.store.heads import now_utc as utc_now
from api.store.schema import Call, Job
from pipelines.core.errors import ConfigError
from pipelines.core.settings import Settings

if TYPE_CHECKING:
    from pipelines.batch import CallPipeline
    from pipelines.compliance.checker import ComplianceChecker

logger = logging.getLogger(__name__)

TASK_NAME = "analyze_job"
QUEUE_FILE = "queue.db"


class LeaseLost(Exception):
    """This worker no longer holds the job's lease (another worker took the job over)."""


def queue_name(settings: Settings) -> str:
    """One queue per database, so that deployments (and tests) sharing a Redis never mix."""
    digest = hashlib.sha256(settings.resolved_database_url.encode("utf-8")).hexdigest()
    return f"callqa_{digest[:16]}"


def make_huey(settings: Settings) -> Any:
    """RedisHuey for ``CALLQA_QUEUE_URL``, else SqliteHuey in ``data_path/queue.db``."""
    from huey import RedisHuey, SqliteHuey

    name = queue_name(settings)
    url = settings.queue_url
    if url:
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(f"CALLQA_QUEUE_URL must be a redis:// URL, got {url.split(':')[0]}:")
        return RedisHuey(name, url=url, results=False)
    settings.data_path.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(
        name, filename=str(settings.data_path / QUEUE_FILE), results=False, timeout=30
    )


class JobRun(Protocol):
    """What runs a job's analysis (`api.jobs.runner.JobRunner`)."""

    def run(self, job_id: str) -> None: ...


class JobQueue:
    """The huey instance with the ``analyze_job`` task, and the store and models it uses.

    ``runner``: makes what runs a job, once, on the first task (`api.jobs.runner.build_queue`
    gives `JobRunner`). The store is opened on first use when not given; models load lazily in
    each worker thread (``pipeline_factory`` replaces `pipelines.registry.build_pipeline` in
    tests).
    """

    def __init__(
        self,
        settings: Settings,
        store: Store | None = None,
        *,
        runner: Callable[[JobQueue], JobRun],
        pipeline_factory: Callable[[], CallPipeline] | None = None,
    ) -> None:
        self.settings = settings
        self.make_runner = runner
        self._store = store
        self._owns_store = store is None
        self.pipeline_factory = pipeline_factory
        self.token = secrets.token_hex(4)
        register_token(self.token)
        self.huey = make_huey(settings)
        self.task = self.huey.task(name=TASK_NAME)(self.analyze_job)
        self._runner: JobRun | None = None
        self._checker: ComplianceChecker | None = None
        self._lock = threading.RLock()

    @property
    def store(self) -> Store:
        with self._lock:
            if self._store is None:
                self._store = Store(self.settings.resolved_database_url)
            return self._store

    @property
    def worker_prefix(self) -> str:
        """Names the workers of this queue object in this process (``host:pid:token:``)."""
        return f"{HOST}:{os.getpid()}:{self.token}:"

    def worker_id(self) -> str:
        return (self.worker_prefix + threading.current_thread().name)[:128]

    def analyze_job(self, job_id: str) -> None:
        """The task: analyze the job's call unless another worker holds it."""
        with self._lock:
            if self._runner is None:
                self._runner = self.make_runner(self)
            runner = self._runner
        runner.run(job_id)

    def compliance_checker(self) -> ComplianceChecker:
        """The checker re-scores use in this process, built once (the pipeline factory's when
        it has one, else MiniLM's); safe to share between threads."""
        with self._lock:
            if self._checker is None:
                made = (
                    self.pipeline_factory().analytics.compliance if self.pipeline_factory else None
                )
                if made is None:
                    from models.text_embedding import SentenceEmbedder
                    from pipelines.compliance.checker import ScriptComplianceChecker

                    made = ScriptComplianceChecker(SentenceEmbedder(threads=1))
                self._checker = made
            return self._checker

    def close(self) -> None:
        if self._owns_store and self._store is not None:
            self._store.dispose()


def enqueue(queue: JobQueue, job_id: str, *, delay: float = 0.0) -> None:
    """Send the job's message (the job row must already be committed)."""
    if delay > 0:
        queue.task.schedule(args=(job_id,), delay=delay)
    else:
        queue.task(job_id)


def new_job(
    session: Session,
    tenant: str,
    call_id: str,
    *,
    kind: str = "analyze",
    params: dict[str, object] | None = None,
) -> Job:
    """Add a queued job (committed with the caller's session): a call's analysis, or a
    policy-wide re-score (``kind="rescore"``, no call, its request in ``params``)."""
    now = utc_now()
    job = Job(
        id=secrets.token_hex(16),
        tenant=tenant,
        call_id=call_id,
        kind=kind,
        params=params,
        status="queued",
        progress=0.0,
        attempts=0,
        created_at=now,
        updated_at=now,
    )
    session.add(job)
    return job


# --- the lease ----------------------------------------------------------------------------


def _update(session: Session, where: ColumnElement[bool], **values: Any) -> bool:
    result = session.execute(
        update(Job).where(where).values(**values).execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def set_call_status(session: Session, tenant: str, call_id: str, status: str) -> None:
    """Mirror the job's state on its call (an erased call stays erased)."""
    session.execute(
        update(Call)
        .where(Call.id == call_id, Call.tenant == tenant, Call.status != "erased")
        .values(status=status)
        .execution_options(synchronize_session=False)
    )


def _owned(job_id: str, worker: str) -> ColumnElement[bool]:
    return and_(Job.id == job_id, Job.status == "running", Job.worker == worker)


def claim_job(store: Store, job_id: str, worker: str, settings: Settings) -> Job | None:
    """Take the job (queued, or running with its lease run out); None if it is not ours."""
    service = settings.service
    now = utc_now()
    claimable = and_(
        Job.id == job_id,
        Job.attempts < service.max_attempts,
        or_(Job.status == "queued", and_(Job.status == "running", Job.lease_until < now)),
    )
    with store.session() as session:
        if not _update(
            session,
            claimable,
            status="running",
            worker=worker,
            lease_until=now + timedelta(seconds=service.lease_s),
            attempts=Job.attempts + 1,
            step=None,
            progress=0.0,
            updated_at=now,
        ):
            return None
        job = session.get(Job, job_id)
        assert job is not None
        set_call_status(session, job.tenant, job.call_id, "running")
        return job


def renew_lease(store: Store, job_id: str, worker: str, lease_s: float) -> bool:
    now = utc_now()
    with store.session() as session:
        return _update(
            session,
            _owned(job_id, worker),
            lease_until=now + timedelta(seconds=lease_s),
            updated_at=now,
        )


def report_progress(store: Store, job_id: str, worker: str, step: str, progress: float) -> bool:
    with store.session() as session:
        return _update(
            session, _owned(job_id, worker), step=step, progress=progress, updated_at=utc_now()
        )


def fail_job(store: Store, job: Job, worker: str, message: str) -> None:
    with store.session() as session:
        if _update(
            session,
            _owned(job.id, worker),
            status="failed",
            error=message,
            lease_until=None,
            updated_at=utc_now(),
        ):
            set_call_status(session, job.tenant, job.call_id, "failed")


def retry_job(store: Store, job: Job, worker: str, message: str) -> bool:
    """Give the job back to the queue after a failed attempt (the error stays visible)."""
    with store.session() as session:
        if not _update(
            session,
            _owned(job.id, worker),
            status="queued",
            worker=None,
            lease_until=None,
            error=message,
            updated_at=utc_now(),
        ):
            return False
        set_call_status(session, job.tenant, job.call_id, "queued")
        return True


class Heartbeat:
    """Renews a job's lease every ``heartbeat_s`` in a thread; notices when it was lost."""

    def __init__(self, store: Store, job_id: str, worker: str, settings: Settings) -> None:
        self.store = store
        self.job_id = job_id
        self.worker = worker
        self.every = settings.service.heartbeat_s
        self.lease_s = settings.service.lease_s
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.every + 5)

    def lost(self) -> None:
        self._lost.set()

    def check(self) -> None:
        """Raise `LeaseLost` when another worker may have the job now."""
        if self._lost.is_set():
            raise LeaseLost(f"job {self.job_id}: lease lost")

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                if not renew_lease(self.store, self.job_id, self.worker, self.lease_s):
                    logger.warning("job %s: lease lost; stopping work on it", self.job_id)
                    self._lost.set()
                    return
            except Exception:  # the database may come back before the lease runs out
                logger.exception("job %s: could not renew the lease", self.job_id)


# --- recovery -----------------------------------------------------------------------------


def sweep(queue: JobQueue) -> int:
    """Queue again jobs whose worker died or whose message is gone; returns how many.

    A worker died when its lease ran out, or at once when it was a process of this host that
    no longer runs (`api.jobs.leftovers.worker_gone`: a restart after ``kill -9``). Such a job is
    failed instead once it has had ``max_attempts``. A queued job untouched for ``lease_s`` is
    sent again unless its message is still in the queue.
    """
    store, service = queue.store, queue.settings.service
    now = utc_now()
    stale_before = now - timedelta(seconds=service.lease_s)
    with store.session() as session:
        running = session.execute(
            select(Job.id, Job.tenant, Job.call_id, Job.attempts, Job.worker).where(
                Job.status == "running",
                or_(Job.lease_until < now, Job.worker.startswith(f"{HOST}:", autoescape=True)),
            )
        ).all()
        waiting = list(
            session.scalars(
                select(Job.id).where(Job.status == "queued", Job.updated_at < stale_before)
            )
        )
    again: list[str] = []
    for job_id, tenant, call_id, attempts, worker in running:
        orphan = worker_gone(worker)
        gone = and_(
            Job.id == job_id,
            Job.status == "running",
            Job.worker == worker if orphan else Job.lease_until < now,
        )
        with store.session() as session:
            if attempts >= service.max_attempts:
                message = f"gave up after {attempts} attempts: the worker stopped responding"
                if _update(session, gone, status="failed", error=message, updated_at=now):
                    set_call_status(session, tenant, call_id, "failed")
                    logger.warning("job %s: %s", job_id, message)
            elif _update(
                session, gone, status="queued", worker=None, lease_until=None, updated_at=now
            ):
                set_call_status(session, tenant, call_id, "queued")
                why = "its worker process is gone" if orphan else "its worker stopped responding"
                logger.warning("job %s: %s; queued again", job_id, why)
                again.append(job_id)
    if waiting:
        pending = pending_job_ids(queue)
        for job_id in waiting:
            still = and_(Job.id == job_id, Job.status == "queued", Job.updated_at < stale_before)
            with store.session() as session:
                touched = _update(session, still, updated_at=now)
            if touched and job_id not in pending:
                logger.warning("job %s: its message was lost; queued again", job_id)
                again.append(job_id)
    for job_id in again:
        enqueue(queue, job_id)
    return len(again)


def pending_job_ids(queue: JobQueue) -> set[str]:
    """Job ids with a message waiting in the queue (not counting delayed retries)."""
    return {str(task.args[0]) for task in queue.huey.pending() if task.args}


def release_jobs(queue: JobQueue) -> int:
    """Hand back the jobs this queue's workers hold (at shutdown); the attempt is not counted."""
    store = queue.store
    prefix = queue.worker_prefix
    with store.session() as session:
        held = session.execute(
            select(Job.id, Job.tenant, Job.call_id, Job.worker).where(
                Job.status == "running", Job.worker.startswith(prefix, autoescape=True)
            )
        ).all()
    released = []
    for job_id, tenant, call_id, worker in held:
        with store.session() as session:
            if _update(
                session,
                _owned(job_id, str(worker)),
                status="queued",
                worker=None,
                lease_until=None,
                step=None,
                attempts=Job.attempts - 1,
                updated_at=utc_now(),
            ):
                set_call_status(session, tenant, call_id, "queued")
                released.append(job_id)
    for job_id in released:
        logger.info("job %s: handed back to the queue at shutdown", job_id)
        enqueue(queue, job_id)
    return len(released)
