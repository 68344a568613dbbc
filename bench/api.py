"""Throughput of the QA API, measured against baselines in the same run.

1. Uploads per minute with N job worker processes: a real ``callqa serve`` (queue only) and N
   ``callqa worker`` processes sharing its data directory, on PostgreSQL (a fresh schema of
   the local server's ``test`` database) and Redis (``--store postgres``, the default: the
   scale-out deployment) or on the embedded SQLite store and queue (``--store sqlite``); each
   worker's models use ``--cpu-threads`` threads (default 1: one worker process per core).
   The labelled test calls are uploaded over HTTP and timed until every job is done. Baseline:
   the same files through the bare pipeline (``CallPipeline.analyze_call``) in one process,
   one after another. Printed: calls and audio minutes per minute, the scaling from the first
   worker count to the others, and the sizing rule: hours of call audio one core analyzes a day.
   Beside each rate: the CPU seconds the workers (and the server) spent per call, and how
   many of the machine's cores were busy (``/proc/stat``): a worker that keeps more than one
   core busy caps what a second one on the same cores can add.
2. Export of 10,000 records: records/s and peak Python memory (tracemalloc) of the signed ZIP
   bundle, against a baseline that only streams the stored JSON bodies to a file; the peak
   for 1,000 records is printed beside it to show memory does not grow with the count.

    python bench/api.py [--workers 1 2] [--repeats 3] [--records 10000] [--store postgres]
        [--cpu-threads 1] [--rounds 2] [--skip-export] [--skip-uploads]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.core.settings import Settings  # noqa: E402

CALLS = ("compliant-return", "missing-lines-cancel", "payment-card", "angry-customer")
CALL_DIR = ROOT / "tests" / "data" / "calls"
logger = logging.getLogger("bench.api")
ADMIN = "cqa_bench-admin-key-0123456789abcdefghijklmnop"
CALLQA = str(Path(sys.executable).with_name("callqa"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_jobs(client: httpx.Client, jobs: list[str], headers: dict[str, str]) -> None:
    """Until every job is done, asking about the first one not yet done, 4 times a second.

    Jobs are taken in the order uploaded, so a job after one still pending is asked about
    only once that one is done: the client's polls cost the server 4 requests a second,
    not 4 per pending job, as a client waiting for a batch would poll.
    """
    pending = list(jobs)
    deadline = time.monotonic() + 1800
    while pending and time.monotonic() < deadline:
        while pending:
            status = client.get(f"/v1/jobs/{pending[0]}", headers=headers).json()["status"]
            if status == "failed":
                raise RuntimeError(f"job {pending[0]} failed")
            if status != "done":
                break
            pending.pop(0)
        if pending:
            time.sleep(0.25)
    if pending:
        raise RuntimeError(f"jobs did not finish: {sorted(pending)}")


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a running process and its descendants, those still
    running and those it has reaped (Linux)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    total = sum(int(value) for value in fields[11:15]) / CLOCK_TICKS  # u/s time, children's
    for task in Path(f"/proc/{pid}/task").glob("*/children"):  # any thread's children
        with contextlib.suppress(OSError, ValueError):
            total += sum(cpu_seconds(int(child)) for child in task.read_text().split())
    return total


def busy_seconds() -> float:
    """CPU seconds the whole machine spent working, summed over its cores (``/proc/stat``)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(value) for value in Path("/proc/stat").read_text().split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


@dataclass(frozen=True, slots=True)
class UploadRun:
    """One measured run of uploads: its rate and the CPU it took."""

    calls_per_minute: float
    worker_cpu_s_per_call: float
    server_cpu_s_per_call: float
    busy_cores: float


def _upload(client: httpx.Client, name: str, headers: dict[str, str]) -> str:
    with (CALL_DIR / f"{name}.wav").open("rb") as audio:
        answer = client.post("/v1/calls", files={"file": (f"{name}.wav", audio)}, headers=headers)
    answer.raise_for_status()
    return str(answer.json()["job_id"])


POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/0"


@contextlib.contextmanager
def backend(store: str) -> Iterator[dict[str, str]]:
    """Environment for a deployment's store and queue: PostgreSQL (a schema of its own,
    dropped afterwards; its queue on Redis is named after the database URL) or SQLite."""
    if store == "sqlite":
        yield {}
        return
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield {
            "CALLQA_DATABASE_URL": f"{POSTGRES}?options=-csearch_path%3D{schema}",
            "CALLQA_QUEUE_URL": REDIS,
        }
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def upload_run(workers: int, calls: tuple[str, ...], store: str, cpu_threads: int) -> UploadRun:
    """Calls per minute through HTTP with ``workers`` worker processes (models warmed first),
    and the CPU they took."""
    with tempfile.TemporaryDirectory() as data, backend(store) as deployment:
        env = {
            **os.environ,
            **deployment,
            "CALLQA_DATA_DIR": data,
            "CALLQA_ADMIN_KEY": ADMIN,
            "CALLQA_MODELS__CPU_THREADS": str(cpu_threads),
        }
        port = _free_port()
        procs = [
            subprocess.Popen(
                [CALLQA, "serve", "--port", str(port), "--workers", "0"],
                env=env,
                stdout=subprocess.DEVNULL,
                start_new_session=True,
            )
        ]
        headers = {"Authorization": f"Bearer {ADMIN}"}
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                for _ in range(200):
                    try:
                        if client.get("/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.1)
                key = client.post(
                    "/v1/keys", json={"name": "bench", "roles": ["ingest"]}, headers=headers
                ).json()["key"]
                headers = {"Authorization": f"Bearer {key}"}
                procs += [
                    subprocess.Popen([CALLQA, "worker"], env=env, start_new_session=True)
                    for _ in range(workers)
                ]
                # warm-up: one short call per worker loads its models
                _wait_jobs(
                    client, [_upload(client, CALLS[-1], headers) for _ in procs[1:]], headers
                )
                cpu = [cpu_seconds(proc.pid) for proc in procs]
                busy, started = busy_seconds(), time.perf_counter()
                jobs = [_upload(client, name, headers) for name in calls]
                _wait_jobs(client, jobs, headers)
                elapsed = time.perf_counter() - started
                busy = busy_seconds() - busy
                cpu = [cpu_seconds(p.pid) - spent for p, spent in zip(procs, cpu, strict=True)]
        finally:
            for proc in procs:
                os.killpg(proc.pid, signal.SIGTERM)
            for proc in procs:
                proc.wait(30)
    return UploadRun(
        calls_per_minute=len(calls) * 60.0 / elapsed,
        worker_cpu_s_per_call=sum(cpu[1:]) / len(calls),
        server_cpu_s_per_call=cpu[0] / len(calls),
        busy_cores=busy / elapsed,
    )


def audio_minutes(calls: tuple[str, ...]) -> float:
    import soundfile

    seconds = sum(float(soundfile.info(str(CALL_DIR / f"{name}.wav")).duration) for name in calls)
    return seconds / 60.0


def bare_per_minute(calls: tuple[str, ...]) -> float:
    """Calls per minute through the bare pipeline in this process (models loaded first)."""
    from pipelines.registry import build_pipeline, decode_limits
    from voice.decode import load_call_audio

    settings = Settings()
    pipeline = build_pipeline(settings)
    pipeline.analyze_call(load_call_audio(CALL_DIR / f"{CALLS[-1]}.wav"))  # warm-up
    started = time.perf_counter()
    for name in calls:
        audio = load_call_audio(CALL_DIR / f"{name}.wav", limits=decode_limits(settings))
        pipeline.analyze_call(audio)
    return len(calls) * 60.0 / (time.perf_counter() - started)


def _sample_record() -> dict[str, Any]:
    """A real record (``callqa analyze`` of the greeting test call), redacted as stored."""
    record: dict[str, Any] = json.loads(
        (ROOT / "tests" / "data" / "records" / "greeting-mono.json").read_text()
    )
    return record


def _fill_store(url: str, count: int, record: dict[str, Any]) -> None:
    """``count`` signed, chained copies of ``record`` (one locked batch, as the ledger does)."""
    from api.store.db import Store, migrate
    from api.store.heads import advance_head, lock_head
    from api.store.integrity import parse_key
    from api.store.ledger import new_entry

    store = Store(url)
    migrate(store.engine)
    signer = parse_key("hmac:bench")
    body = {key: value for key, value in record.items() if key != "integrity"}
    with store.session() as session:
        head = lock_head(session, "default", "ledger")
        prev: str | None = None
        for seq in range(1, count + 1):
            call_id = uuid.uuid4().hex
            entry = new_entry(
                "default",
                "record",
                call_id,
                {**body, "id": call_id, "tenant": "default"},
                seq,
                prev,
                signer,
            )
            session.add(entry)
            prev = entry.content_sha256
            if seq % 1000 == 0:
                session.flush()
        advance_head(head, count, prev or "", signer)
    store.dispose()


def _measure(run: Callable[[], None]) -> tuple[float, float]:
    """Seconds and peak traced MiB of one run."""
    tracemalloc.start()
    started = time.perf_counter()
    run()
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return elapsed, peak


def _export_ours(store: Any, signer: Any, target: Path) -> None:
    from api.records.export import iter_bundle_chunks

    with target.open("wb") as out:
        for chunk in iter_bundle_chunks(store, "default", None, None, "jsonl", signer):
            out.write(chunk)


def _export_baseline(store: Any, target: Path) -> None:
    from sqlalchemy import select

    from api.store.schema import LedgerEntry

    with target.open("wb") as out, store.session() as session:
        query = select(LedgerEntry.body).execution_options(yield_per=500)
        for body in session.scalars(query):
            out.write((body or "").encode() + b"\n")


def export_figures(count: int, repeats: int, record: dict[str, Any]) -> dict[str, float]:
    from api.store.db import Store
    from api.store.integrity import parse_key

    figures: dict[str, list[float]] = {}
    signer = parse_key("hmac:bench")
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "out"
        for size in (count // 10, count):
            url = f"sqlite:///{tmp}/export-{size}.db"
            _fill_store(url, size, record)
            store = Store(url)
            runs = {
                "ours": partial(_export_ours, store, signer, target),
                "baseline": partial(_export_baseline, store, target),
            }
            for _ in range(repeats):
                for name, run in runs.items():
                    seconds, peak = _measure(run)
                    figures.setdefault(f"{name}_{size}_s", []).append(seconds)
                    figures.setdefault(f"{name}_{size}_mib", []).append(peak)
            store.dispose()
    return {name: statistics.median(values) for name, values in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--store", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--cpu-threads", type=int, default=1, help="each worker's model threads")
    parser.add_argument(
        "--rounds", type=int, default=2, help="uploads of each labelled call per measured run"
    )
    parser.add_argument("--skip-uploads", action="store_true")
    parser.add_argument("--skip-export", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logger.setLevel(logging.INFO)  # the figures; not every library's INFO lines
    if not args.skip_export:
        report_export(args.records, args.repeats)
    if not args.skip_uploads:
        report_uploads(args.workers, args.repeats, args.store, args.cpu_threads, args.rounds)


def report_export(count: int, repeats: int) -> None:
    export = export_figures(count, repeats, _sample_record())
    n, small = count, count // 10
    logger.info("export of %d records (median of %d):", n, repeats)
    logger.info(
        "  ours %.0f records/s, peak %.1f MiB (at %d records: %.1f MiB)",
        n / export[f"ours_{n}_s"], export[f"ours_{n}_mib"], small, export[f"ours_{small}_mib"],
    )  # fmt: skip
    logger.info(
        "  baseline (bodies only) %.0f records/s, peak %.1f MiB",
        n / export[f"baseline_{n}_s"], export[f"baseline_{n}_mib"],
    )  # fmt: skip
    logger.info(
        "  time ratio ours/baseline %.2f", export[f"ours_{n}_s"] / export[f"baseline_{n}_s"]
    )
    logger.info(json.dumps({k: round(v, 3) for k, v in export.items()}))


def report_uploads(
    workers: list[int], repeats: int, store: str, cpu_threads: int, rounds: int = 2
) -> None:
    """More ``rounds`` shorten the tail where one worker finishes the last call alone."""
    calls = CALLS * rounds
    minutes = audio_minutes(calls)
    bare = statistics.median(bare_per_minute(calls) for _ in range(repeats))
    logger.info("%d calls, %.1f audio minutes; %s store, %d model thread(s) per worker",
                len(calls), minutes, store, cpu_threads)  # fmt: skip
    logger.info("bare pipeline, one process: %.2f calls/min", bare)
    rates: dict[int, float] = {}
    for count in workers:
        runs = [upload_run(count, calls, store, cpu_threads) for _ in range(repeats)]
        rates[count] = statistics.median(run.calls_per_minute for run in runs)
        audio_per_minute = rates[count] * minutes / len(calls)
        logger.info(
            "HTTP upload -> record with %d worker(s): %.2f calls/min, %.2f audio min/min "
            "(ratio to bare %.2f; runs %s); %.1f audio hours per worker a day",
            count, rates[count], audio_per_minute, rates[count] / bare,
            ", ".join(f"{run.calls_per_minute:.2f}" for run in runs), audio_per_minute * 24 / count,
        )  # fmt: skip
        logger.info(
            "  CPU per call: workers %.1f s, server %.1f s; busy cores %.2f of %d (medians)",
            statistics.median(run.worker_cpu_s_per_call for run in runs),
            statistics.median(run.server_cpu_s_per_call for run in runs),
            statistics.median(run.busy_cores for run in runs), os.cpu_count() or 0,
        )  # fmt: skip
    first = workers[0]
    for count in workers[1:]:
        logger.info("scaling %d -> %d workers: %.2fx", first, count, rates[count] / rates[first])


if __name__ == "__main__":
    main()
