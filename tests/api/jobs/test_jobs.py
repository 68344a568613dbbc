"""Durable jobs: real audio, real models, a real queue and real worker processes.

The kill test SIGKILLs a worker process in the middle of a job and checks that a new worker
finishes it with exactly one record: on the embedded SQLite store and queue, and on
PostgreSQL with Redis.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from api.jobs.queue import enqueue, new_job, pending_job_ids, sweep
from api.jobs.runner import build_queue
from api.jobs.worker import start_embedded_workers
from api.store.db import Store, migrate
from api.store.heads import now_utc as utc_now
from api.store.integrity import as_utc
from api.store.schema import Call, Job, LedgerEntry, Policy
from api.store.vocabulary import store_vocabulary
from pipelines.batch import CallPipeline
from pipelines.compliance.vocabulary import parse_terms
from pipelines.core.settings import ServiceSettings, Settings

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[3]
CALLS = ROOT / "tests" / "data" / "calls"
STEREO = ROOT / "tests" / "data" / "stereo" / "two-speakers-stereo.wav"
POLICY = ROOT / "samples" / "policies" / "ecommerce-aftersales.yaml"
REDIS = "redis://127.0.0.1:6379/3"
TENANT = "acme"


def make_settings(data_dir: Path, database_url: str | None = None, **service: Any) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        service=ServiceSettings(**service),
    )


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """The embedded store in the data directory (the model tests run on SQLite only)."""
    store = Store(f"sqlite:///{tmp_path / 'data' / 'callqa.db'}")
    migrate(store.engine)
    yield store
    store.dispose()


def add_call(
    store: Store,
    settings: Settings,
    audio: Path | bytes,
    *,
    policy: bool = False,
    layout: str | None = None,
    metadata: dict[str, object] | None = None,
) -> tuple[str, str]:
    """Store an upload as the upload route does: file on disk, call and job rows."""
    call_id = uuid.uuid4().hex
    folder = settings.data_path / "audio" / TENANT
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{call_id}.upload"
    if isinstance(audio, bytes):
        path.write_bytes(audio)
    else:
        shutil.copyfile(audio, path)
    now = utc_now()
    with store.session() as session:
        if policy:
            source = POLICY.read_text()
            if session.get(Policy, (TENANT, "aftersales", 1)) is None:
                session.add(
                    Policy(
                        tenant=TENANT,
                        id="aftersales",
                        version=1,
                        created_at=now,
                        created_by="test",
                        sha256=hashlib.sha256(source.encode()).hexdigest(),
                        source=source,
                    )
                )
        session.add(
            Call(
                id=call_id,
                tenant=TENANT,
                created_at=now,
                status="queued",
                audio_path=str(path),
                format="wav" if isinstance(audio, Path) else None,
                metadata_json=metadata,
                policy_id="aftersales" if policy else None,
                policy_version=1 if policy else None,
                layout=layout,
            )
        )
        job = new_job(session, TENANT, call_id)
    return call_id, job.id


def job_row(store: Store, job_id: str) -> Job:
    with store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def call_row(store: Store, call_id: str) -> Call:
    with store.session() as session:
        call = session.get(Call, call_id)
        assert call is not None
        return call


def records_of(store: Store, call_id: str) -> list[LedgerEntry]:
    with store.session() as session:
        query = select(LedgerEntry).where(
            LedgerEntry.call_id == call_id, LedgerEntry.kind == "record"
        )
        return list(session.scalars(query))


def test_job_stores_one_record_and_the_call_summary(
    sqlite_store: Store, tmp_path: Path, base_pipeline: CallPipeline
) -> None:
    settings = make_settings(tmp_path / "data", sqlite_store.url)
    queue = build_queue(settings, sqlite_store, pipeline_factory=lambda: base_pipeline)
    call_id, job_id = add_call(
        sqlite_store,
        settings,
        CALLS / "angry-customer.wav",
        policy=True,
        layout="stereo-agent-left",
        metadata={"agent": "agent-7"},
    )
    with sqlite_store.session() as session:  # the tenant's words bias whisper and the matcher
        terms = parse_terms([{"term": "Northwind Shop", "spoken": ["north wind shop"]}])
        store_vocabulary(session, TENANT, terms, "qa")
    queue.analyze_job(job_id)
    job = job_row(sqlite_store, job_id)
    assert (job.status, job.progress, job.attempts, job.error) == ("done", 1.0, 1, None)
    call = call_row(sqlite_store, call_id)
    assert call.status == "done"
    assert call.agent == "agent-7"
    assert call.record_seq == 1
    assert call.duration_s == pytest.approx(27.85, abs=0.01)
    assert call.passed is False and call.score is not None  # no disclosure, no verification
    assert call.customer_emotion is not None and call.negative_emotion is True
    [entry] = records_of(sqlite_store, call_id)
    assert entry.seq == 1 and entry.body is not None
    import json

    body = json.loads(entry.body)
    # the search text is the record's (redacted) transcript, whatever the recognizer heard
    # ("Northwind Shop" or "North Wind Sharp")
    assert call.topic and call.search_text
    assert call.search_text == "\n".join(s["text"] for s in body["segments"] if s["text"])
    assert "thank you for calling" in call.search_text.lower()
    assert body["tenant"] == TENANT and body["id"] == call_id
    assert body["compliance"]["policy"]["id"] == "ecommerce-aftersales"
    options = body["provenance"]["options"]
    assert options["vocabulary"]["version"] == 1 and options["vocabulary"]["terms"] == 1
    assert options["transcribe"]["hotwords"].split(", ")[0] == "Northwind Shop"  # tenant first
    assert options["transcribe"]["other_hotwords"] == "Northwind Shop"  # callers say it too
    assert (call.verdict_policy_id, call.verdict_policy_version) == ("ecommerce-aftersales", 1)
    checks = body["compliance"]["checks"]
    assert call.close_calls == sum(c["close_call"] for c in checks)
    gauged = ("required_line", "forbidden_phrase", "closing")  # conditionals: when triggered
    assert all(c["threshold"] is not None for c in checks if c["kind"] in gauged)
    redacted = Path(call.redacted_audio_path or "")
    assert redacted == tmp_path / "data" / "audio" / TENANT / f"{call_id}.redacted.wav"
    assert hashlib.sha256(redacted.read_bytes()).hexdigest() == body["audio"]["redacted_sha256"]
    assert not list(redacted.parent.glob(".*.part"))
    queue.analyze_job(job_id)  # a duplicate message: the job is done, nothing happens
    assert len(records_of(sqlite_store, call_id)) == 1
    assert job_row(sqlite_store, job_id).attempts == 1


def test_bad_upload_fails_with_its_reason_and_no_retry(
    sqlite_store: Store, tmp_path: Path, base_pipeline: CallPipeline
) -> None:
    settings = make_settings(tmp_path / "data", sqlite_store.url)
    queue = build_queue(settings, sqlite_store, pipeline_factory=lambda: base_pipeline)
    call_id, job_id = add_call(sqlite_store, settings, os.urandom(64_000))
    queue.analyze_job(job_id)
    job = job_row(sqlite_store, job_id)
    assert (job.status, job.attempts) == ("failed", 1)
    assert job.error and "\n" not in job.error and "audio" in job.error
    assert call_row(sqlite_store, call_id).status == "failed"
    assert records_of(sqlite_store, call_id) == []
    assert pending_job_ids(queue) == set() and queue.huey.scheduled() == []


def test_failed_attempts_are_retried_then_given_up(sqlite_store: Store, tmp_path: Path) -> None:
    def broken() -> CallPipeline:
        raise RuntimeError("model server on fire\nsecond line")

    settings = make_settings(tmp_path / "data", sqlite_store.url, max_attempts=2)
    queue = build_queue(settings, sqlite_store, pipeline_factory=broken)
    call_id, job_id = add_call(sqlite_store, settings, CALLS / "angry-customer.wav")
    queue.analyze_job(job_id)
    job = job_row(sqlite_store, job_id)
    assert (job.status, job.attempts) == ("queued", 1)
    assert job.error == "RuntimeError: model server on fire"
    [message] = queue.huey.pending()
    assert message.args == (job_id,) and message.eta is not None  # retried after a pause
    queue.analyze_job(job_id)
    job = job_row(sqlite_store, job_id)
    assert (job.status, job.attempts) == ("failed", 2)
    assert job.error == "failed after 2 attempts: RuntimeError: model server on fire"
    assert call_row(sqlite_store, call_id).status == "failed"
    queue.analyze_job(job_id)
    assert job_row(sqlite_store, job_id).attempts == 2


def test_sweep_recovers_dead_workers_and_lost_messages(
    store: Store, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """SQLite with the embedded queue; PostgreSQL with Redis."""
    settings = make_settings(tmp_path / "data", store.url, lease_s=30, max_attempts=2)
    if not store.is_sqlite:
        settings = settings.model_copy(update={"queue_url": REDIS})
    queue = build_queue(settings, store)
    request.addfinalizer(queue.huey.flush)
    assert type(queue.huey).__name__ == ("SqliteHuey" if store.is_sqlite else "RedisHuey")
    ids = {name: add_call(store, settings, b"x")[1] for name in ("dead", "done_for", "lost", "ok")}
    past = utc_now() - timedelta(seconds=60)
    with store.session() as session:
        for name, attempts in (("dead", 1), ("done_for", 2)):
            session.execute(
                update(Job)
                .where(Job.id == ids[name])
                .values(status="running", worker="gone:1:x:W", lease_until=past, attempts=attempts)
            )
        for name in ("lost", "ok"):
            session.execute(update(Job).where(Job.id == ids[name]).values(updated_at=past))
    enqueue(queue, ids["ok"])  # its message is still waiting: not sent twice
    assert sweep(queue) == 2
    assert sorted(t.args[0] for t in queue.huey.pending()) == sorted(
        [ids["ok"], ids["dead"], ids["lost"]]
    )
    dead, given_up = job_row(store, ids["dead"]), job_row(store, ids["done_for"])
    assert (dead.status, dead.worker, dead.attempts) == ("queued", None, 1)
    assert given_up.status == "failed" and "gave up after 2 attempts" in (given_up.error or "")
    assert sweep(queue) == 0  # nothing is stale any more


def test_embedded_workers_run_jobs_and_hand_back_running_ones_at_stop(
    sqlite_store: Store, tmp_path: Path, base_pipeline: CallPipeline
) -> None:
    store = sqlite_store
    settings = make_settings(tmp_path / "data", store.url, heartbeat_s=0.5)
    queue = build_queue(settings, store, pipeline_factory=lambda: base_pipeline)
    log = tmp_path / "none.log"
    log.touch()
    workers = start_embedded_workers(settings, 1, queue=queue)
    try:
        _, short = add_call(store, settings, STEREO)
        enqueue(queue, short)
        wait_for("the short job", lambda: job_row(store, short).status == "done", log, 300)
        call_id, long = add_call(store, settings, CALLS / "angry-customer.wav")
        enqueue(queue, long)
        wait_for(
            "the long job to be transcribing",
            lambda: (job := job_row(store, long)).status == "running" and job.progress > 0.05,
            log,
            300,
        )
    finally:
        workers.stop(timeout=0.5)
    job = job_row(store, long)
    assert (job.status, job.worker, job.attempts) == ("queued", None, 0)  # attempt given back
    assert call_row(store, call_id).status == "queued"
    assert pending_job_ids(queue) == {long}
    for _, thread in workers.consumer.worker_threads:  # the dropped attempt stops at its next step
        thread.join(timeout=120)
        assert not thread.is_alive()
    assert records_of(store, call_id) == []
    assert job_row(store, long).status == "queued"


# --- the kill test --------------------------------------------------------------------------


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "api.jobs.worker"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_for(what: str, check: Callable[[], bool], log: Path, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; worker log:\n{log.read_text()[-4000:]}")


def stop(process: subprocess.Popen[bytes], sig: int) -> int:
    if process.poll() is None:
        os.killpg(process.pid, sig)
    return process.wait(timeout=60)


@pytest.mark.slow
def test_killed_worker_is_replaced_and_the_job_stored_once(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """SQLite: the embedded store and queue; PostgreSQL: with the Redis queue.

    The lease is the default two minutes: the new worker must take the job back at once
    because it sees that the process that held it is gone, not because the lease ran out.
    """
    queue_url = None if database_url.startswith("sqlite") else REDIS
    data = tmp_path / "data"
    env = {
        **os.environ,
        "CALLQA_DATA_DIR": str(data),
        "CALLQA_DATABASE_URL": database_url,
        "CALLQA_SERVICE__HEARTBEAT_S": "1",
        "CALLQA_SERVICE__WORKERS": "1",
    }
    env.pop("CALLQA_CONFIG", None)
    env.pop("CALLQA_QUEUE_URL", None)
    if queue_url:
        env["CALLQA_QUEUE_URL"] = queue_url
    settings = Settings(data_dir=data, database_url=database_url, queue_url=queue_url)
    store = Store(database_url)
    request.addfinalizer(store.dispose)
    migrate(store.engine)
    queue = build_queue(settings, store)
    request.addfinalizer(queue.huey.flush)  # this database's queue keys only
    call_id, job_id = add_call(
        store, settings, CALLS / "angry-customer.wav", layout="stereo-agent-left"
    )
    upload = Path(call_row(store, call_id).audio_path or "")
    enqueue(queue, job_id)

    log = tmp_path / "workers.log"
    first = start_worker(env, log)
    request.addfinalizer(lambda: stop(first, signal.SIGKILL))
    wait_for(
        "the first worker to be transcribing",
        lambda: (job := job_row(store, job_id)).status == "running" and job.progress > 0.05,
        log,
    )
    stop(first, signal.SIGKILL)
    job = job_row(store, job_id)
    assert (job.status, job.attempts) == ("running", 1)
    assert records_of(store, call_id) == []
    dead_lease = as_utc(job.lease_until or datetime.min)

    started = time.monotonic()
    second = start_worker(env, log)
    request.addfinalizer(lambda: stop(second, signal.SIGKILL))
    wait_for(
        "the second worker to take the job back",
        lambda: f":{second.pid}:" in (job_row(store, job_id).worker or ""),
        log,
    )
    taken_back = datetime.now(UTC)
    logger.info("job taken back %.1f s after the new worker started", time.monotonic() - started)
    assert taken_back < dead_lease, "the job waited for the dead worker's lease"
    wait_for("the second worker to finish", lambda: job_row(store, job_id).status == "done", log)
    assert stop(second, signal.SIGTERM) == 0
    job = job_row(store, job_id)
    assert (job.attempts, job.progress) == (2, 1.0)
    assert len(records_of(store, call_id)) == 1
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 1
    call = call_row(store, call_id)
    assert call.status == "done" and call.record_seq == 1
    assert upload.exists() and Path(call.redacted_audio_path or "").exists()
