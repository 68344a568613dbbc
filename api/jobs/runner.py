"""The analysis a job runs: decode the stored upload, analyze it, store record and summary.

The record is appended to the tenant's ledger and the call's searchable summary filled in
the same transaction, which also marks the job done; the append is idempotent per call, so
a job retried after its worker died still stores exactly one record.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from api.jobs.intake import agent_of
from api.jobs.leftovers import part_path
from api.jobs.queue import (
    Heartbeat,
    JobQueue,
    LeaseLost,
    claim_job,
    enqueue,
    fail_job,
    report_progress,
    retry_job,
    set_call_status,
)
from api.store.contacts import Pseudonyms, load_master_key
from api.store.db import Store
from api.store.heads import now_utc as utc_now
from api.store.policies import stored_policy
from api.store.schema import Call, Job, Tenant
from api.store.vocabulary import current_vocabulary
from pipelines.analytics.emotion import NEGATIVE
from pipelines.compliance.policy import Policy
from pipelines.compliance.vocabulary import Vocabulary, with_vocabulary
from pipelines.core.errors import INPUT_ERRORS, ConfigError
from pipelines.core.settings import Settings
from pipelines.core.types import LAYOUTS, CallAudio, Layout
from pipelines.record.schema import content_sha256, record_to_dict
from pipelines.record.verdicts import close_calls
from pipelines.record.view import RecordView
from voice.redact import encode_wav

if TYPE_CHECKING:
    from api.store.integrity import Signer
    from pipelines.batch import CallPipeline
    from pipelines.compliance.matching import TextEncoder

logger = logging.getLogger(__name__)

PROGRESS_EVERY_S = 1.0
NEGATIVE_LABELS = NEGATIVE | {"negative"}
# where each reported step starts, as a fraction of the job (transcription is most of it)
STEP_PROGRESS = {
    "decode": 0.0,
    "transcribe": 0.05,
    "speakers": 0.55,
    "diarize": 0.56,
    "vad": 0.57,
    "embeddings": 0.6,
    "clustering": 0.68,
    "segmentation": 0.7,
    "analytics": 0.72,
    "record": 0.9,
    "store": 0.95,
}
TRANSCRIBE_SHARE = STEP_PROGRESS["speakers"] - STEP_PROGRESS["transcribe"]


def one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:1000]


class JobProgress:
    """Progress hook writing ``jobs.step``/``progress`` at most once a second.

    Raises `LeaseLost` from inside the pipeline once the heartbeat noticed that the job is
    no longer ours, so a worker that was written off stops early.
    """

    def __init__(self, store: Store, job_id: str, worker: str, heartbeat: Heartbeat) -> None:
        self.store = store
        self.job_id = job_id
        self.worker = worker
        self.heartbeat = heartbeat
        self.progress = 0.0
        self.written: tuple[str, float] | None = None
        self.last_write = float("-inf")

    def __call__(
        self,
        step: str,
        artifact: object | None = None,
        *,
        total: int | None = None,
        completed: int | None = None,
    ) -> None:
        self.heartbeat.check()
        start = STEP_PROGRESS.get(step.split("/", 1)[0])
        if start is not None:
            if step == "transcribe" and total and completed is not None:
                start += TRANSCRIBE_SHARE * min(completed / total, 1.0)
            self.progress = max(self.progress, start)
        now = time.monotonic()
        state = (step, round(self.progress, 3))
        if state != self.written and now - self.last_write >= PROGRESS_EVERY_S:
            self.last_write, self.written = now, state
            if not report_progress(self.store, self.job_id, self.worker, *state):
                self.heartbeat.lost()
                self.heartbeat.check()


@dataclass(frozen=True, slots=True)
class CallInput:
    """What the analysis needs from the call's row, read before the long work starts."""

    call_id: str
    tenant: str
    audio_path: Path
    format_hint: str | None
    layout: Layout | None
    policy: Policy | None
    score_agents: bool
    metadata: Mapping[str, object]
    vocabulary: Vocabulary = field(default_factory=Vocabulary)  # the tenant's, at the start


class _ThreadModels(threading.local):
    base: CallPipeline | None = None


class JobRunner:
    """Runs ``analyze_job`` for a `JobQueue`; models are loaded once per worker thread."""

    def __init__(self, queue: JobQueue) -> None:
        self.queue = queue
        self.settings = queue.settings
        self.store = queue.store
        self._models = _ThreadModels()
        self._signer: Signer | None = None
        self._pseudonyms: Pseudonyms | None = None
        self._lock = threading.Lock()

    def run(self, job_id: str) -> None:
        worker = self.queue.worker_id()
        job = claim_job(self.store, job_id, worker, self.settings)
        if job is None:
            logger.debug("job %s: not claimable (done, taken or out of attempts)", job_id)
            return
        logger.info("job %s: attempt %d on %s", job_id, job.attempts, worker)
        try:
            with Heartbeat(self.store, job_id, worker, self.settings) as heartbeat:
                if job.kind == "rescore":
                    self._rescore(job, worker, heartbeat)
                else:
                    self._analyze(job, worker, heartbeat)
        except LeaseLost:
            logger.warning("job %s: another worker has it now; dropped this attempt", job_id)
        except INPUT_ERRORS as exc:
            logger.info("job %s failed: %s", job_id, one_line(exc))
            fail_job(self.store, job, worker, one_line(exc))
        except Exception as exc:
            self._failed_attempt(job, worker, exc)

    def _failed_attempt(self, job: Job, worker: str, exc: Exception) -> None:
        message = f"{type(exc).__name__}: {one_line(exc)}"
        logger.exception("job %s: attempt %d failed", job.id, job.attempts)
        service = self.settings.service
        if job.attempts >= service.max_attempts:
            fail_job(self.store, job, worker, f"failed after {job.attempts} attempts: {message}")
        elif retry_job(self.store, job, worker, message):
            enqueue(self.queue, job.id, delay=min(2.0**job.attempts, service.lease_s / 2))

    def _analyze(self, job: Job, worker: str, heartbeat: Heartbeat) -> None:
        from pipelines.registry import decode_limits
        from voice.decode import load_call_audio

        hook = JobProgress(self.store, job.id, worker, heartbeat)
        hook("decode")
        with self.store.session() as session:
            source = read_call(session, job, self.settings.emotion.score_agents)
        audio = load_call_audio(
            source.audio_path, format_hint=source.format_hint, limits=decode_limits(self.settings)
        )
        pipeline = self._pipeline(source)
        words = source.vocabulary
        analyzed = pipeline.analyze_call(
            audio,
            layout=source.layout,
            call_id=source.call_id,
            hook=hook,
            extra_options={"vocabulary": words.provenance()} if words.version else None,
        )
        hook("store")
        record = record_to_dict(analyzed.record)
        folder = self.settings.data_path / "audio" / source.tenant
        partial = write_partial(folder, source.call_id, analyzed.redacted_audio)
        pseudonyms = self._load_pseudonyms()
        keys = [
            (r.kind, pseudonyms.key(source.tenant, r.kind, r.value)) for r in analyzed.references
        ]
        try:
            heartbeat.check()
            self._store_record(job, worker, source, record, partial, folder, keys)
        finally:
            partial.unlink(missing_ok=True)

    def _rescore(self, job: Job, worker: str, heartbeat: Heartbeat) -> None:
        """A policy-wide re-score; its report becomes the job's ``result``."""
        from api.jobs.rescore import run_policy_rescore

        def progress(fraction: float) -> None:
            heartbeat.check()
            if not report_progress(self.store, job.id, worker, "rescore", round(fraction, 3)):
                heartbeat.lost()
                heartbeat.check()

        checker = self.queue.compliance_checker()
        params = job.params or {}
        report = run_policy_rescore(
            self.store, job.tenant, params, checker, self._load_signer(), progress
        )
        with self.store.session() as session:
            session.execute(
                update(Job)
                .where(Job.id == job.id, Job.status == "running", Job.worker == worker)
                .values(status="done", step="done", progress=1.0, error=None, lease_until=None)
                .values(result=report, updated_at=utc_now())
                .execution_options(synchronize_session=False)
            )

    def _store_record(
        self,
        job: Job,
        worker: str,
        source: CallInput,
        record: dict[str, Any],
        partial: Path,
        folder: Path,
        keys: Sequence[tuple[str, str]] = (),
    ) -> None:
        from api.jobs.insights import learn_from_call
        from api.store.ledger import append_record

        final = folder / f"{source.call_id}.redacted.wav"
        signer = self._load_signer()
        with self.store.session() as session:
            # the write comes first: SQLite then holds the write lock for the whole transaction
            done = session.execute(
                update(Job)
                .where(Job.id == job.id, Job.status == "running", Job.worker == worker)
                .values(status="done", step="done", progress=1.0, error=None, lease_until=None)
                .values(updated_at=utc_now())
                .execution_options(synchronize_session=False)
            )
            if getattr(done, "rowcount", 0) != 1:
                raise LeaseLost(f"job {job.id}: lease lost before storing")
            learn_from_call(
                session, source.tenant, source.call_id, record, keys, source.metadata,
                self._encoder(), self.settings.service.repeat_window_days,
            )  # fmt: skip
            mine = content_sha256(record)
            entry = append_record(session, source.tenant, source.call_id, record, signer)
            if entry.content_sha256 != mine:
                logger.warning("call %s: a record was already stored; kept it", source.call_id)
                return
            os.replace(partial, final)
            session.execute(
                update(Call)
                .where(Call.id == source.call_id, Call.tenant == source.tenant)
                .values(
                    **summary_columns(record, source.metadata),
                    verdict_policy_version=Call.policy_version,
                    record_seq=entry.seq,
                    redacted_audio_path=str(final),
                )
                .execution_options(synchronize_session=False)
            )
            set_call_status(session, source.tenant, source.call_id, "done")
        logger.info("job %s: record %s stored as #%d", job.id, source.call_id, entry.seq)

    def _load_pseudonyms(self) -> Pseudonyms:
        with self._lock:
            if self._pseudonyms is None:
                self._pseudonyms = Pseudonyms(load_master_key(self.settings))
            return self._pseudonyms

    def _encoder(self) -> TextEncoder | None:
        """The sentence embedder of the compliance checker (shared, thread-safe)."""
        return getattr(self.queue.compliance_checker(), "embedder", None)

    def _load_signer(self) -> Signer:
        with self._lock:
            if self._signer is None:
                from api.store.integrity import load_signer

                self._signer = load_signer(self.settings)
            return self._signer

    def _pipeline(self, source: CallInput) -> CallPipeline:
        """This thread's models, with the call's tenant, policy and emotion scope.

        A shallow copy of the thread's pipeline shares every stage (and any stage added to
        `CallPipeline` later); only the tenant and the analytics options are the call's.
        """
        models = self._models
        if models.base is None:
            if self.queue.pipeline_factory is not None:
                models.base = self.queue.pipeline_factory()
            else:
                from pipelines.registry import build_pipeline

                models.base = build_pipeline(self.settings)
        base = models.base
        checker = None
        if source.policy is not None:
            checker = base.analytics.compliance or self.queue.compliance_checker()
        pipeline = copy.copy(base)
        pipeline.tenant = source.tenant
        pipeline.vocabulary = (*source.vocabulary.words, *base.vocabulary)
        policy = source.policy
        if policy is not None:
            policy = with_vocabulary(policy, source.vocabulary)
        pipeline.analytics = replace(
            base.analytics,
            policy=policy,
            compliance=checker,
            emotion=replace(base.analytics.emotion, score_agents=source.score_agents),
        )
        return pipeline


def read_call(session: Session, job: Job, default_score_agents: bool) -> CallInput:
    """The call of a job, its policy (as stored, by version) and its emotion scope.

    Agents' emotions are scored when the tenant opted in or the deployment did for everyone.
    """
    call = session.get(Call, job.call_id)
    if call is None or call.tenant != job.tenant:
        raise ConfigError(f"call {job.call_id} does not exist")
    if call.status == "erased":
        raise ConfigError(f"call {call.id} was erased before it was analyzed")
    if not call.audio_path:
        raise ConfigError(f"call {call.id} has no stored audio")
    layout = call.layout
    if layout is not None and layout not in LAYOUTS:
        raise ConfigError(f"call {call.id}: unknown layout {layout!r}")
    tenant = session.get(Tenant, call.tenant)
    return CallInput(
        call_id=call.id,
        tenant=call.tenant,
        audio_path=Path(call.audio_path),
        format_hint=call.format,
        layout=layout,
        policy=stored_policy(session, call.tenant, call.policy_id, call.policy_version),
        score_agents=bool(tenant is not None and tenant.score_agents) or default_score_agents,
        metadata=dict(call.metadata_json or {}),
        vocabulary=current_vocabulary(session, call.tenant),
    )


def write_partial(folder: Path, name: str, audio: CallAudio) -> Path:
    """The redacted audio as WAV in a hidden file beside its final place (fsynced)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = part_path(folder, f"{name}.{threading.get_ident()}.redacted")
    with path.open("wb") as fh:
        fh.write(encode_wav(audio))
        fh.flush()
        os.fsync(fh.fileno())
    return path


def summary_columns(record: Mapping[str, Any], metadata: Mapping[str, object]) -> dict[str, Any]:
    """The call's searchable summary, from its record dict and upload metadata."""
    view = RecordView.from_dict(record)
    customer: dict[str, float] = {}  # seconds of the customer's speech per emotion
    for segment in view.segments:
        emotion = segment.emotion
        if segment.role == "customer" and emotion is not None and emotion.label is not None:
            spoken = max((segment.end or 0.0) - (segment.start or 0.0), 0.0)
            customer[emotion.label] = customer.get(emotion.label, 0.0) + spoken
    escalation = view.metrics.escalation
    compliance = view.compliance
    return {
        "agent": agent_of(metadata),
        "passed": compliance.passed if compliance is not None else None,
        "score": compliance.score if compliance is not None else None,
        "verdict_policy_id": compliance.policy.id if compliance is not None else None,
        "close_calls": close_calls(record),
        "topic": view.topics[0].label if view.topics else None,
        "customer_emotion": min(customer, key=lambda k: (-customer[k], k)) if customer else None,
        "negative_emotion": (
            bool(NEGATIVE_LABELS & customer.keys())
            or bool(escalation is not None and escalation.detected)
            if customer
            else None
        ),
        "duration_s": view.audio.duration_s,
        "search_text": "\n".join(s.text for s in view.segments if s.text),
    }


def build_queue(
    settings: Settings,
    store: Store | None = None,
    *,
    pipeline_factory: Callable[[], CallPipeline] | None = None,
) -> JobQueue:
    """The job queue whose tasks a `JobRunner` runs."""
    return JobQueue(settings, store, runner=JobRunner, pipeline_factory=pipeline_factory)
