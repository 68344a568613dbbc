"""Erasure and retention: a call's content removed, its tombstone kept.

``erase_call_content`` is the one erasure path, used by ``DELETE /v1/calls/{id}`` and by the
retention sweep: the ledger entries of the call become tombstones (``ledger.erase_call``), its
audio files (upload and redacted) are deleted, and its row keeps only id, tenant, times and
status ``erased``. ``purge_expired`` erases every tenant's calls older than its retention and
purges audit entries older than ``service.audit_retention_days``; ``RetentionSweeper`` calls
it every ``every_s`` seconds in a daemon thread (start it in the app lifespan or a worker).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, or_, select, update

from api.store.keys import Principal
from api.store.schema import Call, Job, Tenant
from api.store.seals import seal_call
from api.store.storage import Storage
from pipelines.core.errors import ConflictError, NotFoundError

logger = logging.getLogger(__name__)

RETENTION_ACTOR = "retention"
BATCH = 200
# everything a call's row says about its content: cleared on erasure
CLEARED = {
    "filename": None,
    "audio_path": None,
    "audio_sha256": None,
    "metadata_json": None,
    "redacted_audio_path": None,
    "agent": None,
    "passed": None,
    "score": None,
    "topic": None,
    "customer_emotion": None,
    "negative_emotion": None,
    "duration_s": None,
    "search_text": None,
    "outcome": None,
    "reason": None,
    "reason_vector": None,
    "driver_id": None,
    "repeat_of": None,
    "repeat_days": None,
    "language": None,
    "accent_group": None,
    "channel": None,
    "asr_confidence": None,
    "escalated": None,
}


@dataclass(frozen=True, slots=True)
class Erasure:
    """What erasing a call did."""

    call_id: str
    erased_at: datetime
    reason: str
    entries: int  # ledger entries turned into tombstones (0: none, or erased before)
    files: int  # audio files deleted
    already: bool = False

    def as_dict(self) -> dict[str, object]:
        from api.records.search import iso_z

        return {
            "call_id": self.call_id,
            "status": "erased",
            "erased_at": iso_z(self.erased_at),
            "reason": self.reason,
            "entries": self.entries,
            "files": self.files,
            "already_erased": self.already,
        }


@dataclass(frozen=True, slots=True)
class RetentionReport:
    calls_erased: int
    calls_skipped: int
    audit_purged: int


def _audio_files(audio_root: Path, tenant: str, call: Call) -> set[Path]:
    """The call's audio files that exist, only ever inside the data directory's audio folder."""
    root = audio_root.resolve()
    folder = audio_root / tenant
    candidates = {Path(p) for p in (call.audio_path, call.redacted_audio_path) if p}
    if folder.is_dir():
        candidates |= set(folder.glob(f"{call.id}.*")) | set(folder.glob(f".{call.id}.*"))
    found: set[Path] = set()
    for path in candidates:
        resolved = path.resolve()
        if resolved.is_relative_to(root) and resolved.is_file():
            found.add(resolved)
        elif path.exists():
            logger.warning("call %s: left %s, outside the audio folder", call.id, path)
    return found


def erase_call_content(
    storage: Storage, tenant: str, call_id: str, reason: str, by: str, now: datetime
) -> Erasure:
    """Erase one call of ``tenant``. 404 when unknown, 409 while a worker is analyzing it."""
    from api.store.contacts import forget_contacts
    from api.store.ledger import erase_call

    with storage.store.session() as session:
        call = session.get(Call, call_id)
        if call is None or call.tenant != tenant:
            raise NotFoundError(f"no call {call_id}")
        if call.status == "erased" and call.erased_at is not None:
            return Erasure(call_id, call.erased_at, reason, 0, 0, already=True)
        busy = session.scalar(
            select(Job.id).where(
                Job.tenant == tenant,
                Job.call_id == call_id,
                Job.status == "running",
                Job.lease_until >= now,
            )
        )
        if busy is not None:
            raise ConflictError(f"call {call_id} is being analyzed; erase it when its job ends")
        session.execute(  # a queued (or abandoned) job must never run on erased content
            update(Job)
            .where(
                Job.tenant == tenant,
                Job.call_id == call_id,
                or_(Job.status == "queued", and_(Job.status == "running", Job.lease_until < now)),
            )
            .values(status="failed", error="the call was erased", lease_until=None, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        entries = erase_call(session, tenant, call_id, reason, by, signer=storage.signer)
        forget_contacts(session, tenant, call_id)
        files = _audio_files(storage.settings.data_path / "audio", tenant, call)
        for column, value in CLEARED.items():
            setattr(call, column, value)
        call.status = "erased"
        call.erased_at = now
        seal_call(call, storage.signer)
    removed = 0
    for path in files:  # after the commit: a rolled-back erasure keeps its audio
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            pass
        except OSError:
            logger.exception("call %s: could not delete %s", call_id, path)
    logger.info("erased call %s (%d entries, %d files)", call_id, entries, removed)
    return Erasure(call_id, now, reason, entries, removed)


def _tenants(storage: Storage) -> dict[str, int | None]:
    """Every tenant with calls or a row, and its retention in days (None: keep forever)."""
    default = storage.settings.service.retention_days
    with storage.store.session() as session:
        days = {row.name: row.retention_days for row in session.scalars(select(Tenant))}
        for name in session.scalars(select(Call.tenant).distinct()):
            days.setdefault(name, None)
    return {name: value or default for name, value in days.items()}


def purge_expired(storage: Storage, now: datetime) -> RetentionReport:
    """Erase calls past their tenant's retention and purge audit entries past theirs."""
    from api.store.audit import audit, purge_audit

    erased = skipped = 0
    for tenant, days in sorted(_tenants(storage).items()):
        if days is None:
            continue
        cutoff = now - timedelta(days=days)
        system = Principal(RETENTION_ACTOR, tenant, frozenset(), "scheduler")
        kept: set[str] = set()  # busy calls: not erased, so they come back in each batch
        while True:
            with storage.store.session() as session:
                ids = [
                    i
                    for i in session.scalars(
                        select(Call.id)
                        .where(
                            Call.tenant == tenant,
                            Call.created_at < cutoff,
                            Call.status != "erased",
                        )
                        .order_by(Call.created_at, Call.id)
                        .limit(BATCH + len(kept))
                    )
                    if i not in kept
                ]
            if not ids:
                break
            for call_id in ids:
                try:
                    done = erase_call_content(storage, tenant, call_id, "retention", "system", now)
                except (ConflictError, NotFoundError) as exc:  # busy now: the next sweep
                    logger.info("retention: call %s kept for now: %s", call_id, exc)
                    kept.add(call_id)
                    continue
                erased += 1
                audit(storage, system, "call.erase", call_id, detail=done.as_dict())
        skipped += len(kept)
    with storage.store.session() as session:
        older_than = now - timedelta(days=storage.settings.service.audit_retention_days)
        purged = purge_audit(session, older_than, signer=storage.signer)
    if erased or purged:
        logger.info("retention: %d calls erased, %d audit entries purged", erased, purged)
    return RetentionReport(erased, skipped, purged)


class RetentionSweeper:
    """Runs ``purge_expired`` now and then every ``every_s`` seconds until stopped.

    Safe to run in several processes at once: erasures and purges lock the tenant's chain head.
    """

    def __init__(self, storage: Storage, every_s: float = 3600.0) -> None:
        self.storage = storage
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="callqa-retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                purge_expired(self.storage, datetime.now(UTC))
            except Exception:  # a failed sweep must not end the thread; the next one retries
                logger.exception("retention sweep failed")
            self._stop.wait(self.every_s)
