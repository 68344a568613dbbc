"""A recording on disk becomes a stored call with a queued analysis job (uploads and live
calls alike): committed before anyone is told, then queued (the sweeper re-queues a lost
message)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import delete

from api.store.contacts import remember_contacts
from api.store.db import Store
from api.store.integrity import Signer
from api.store.policies import latest_policy
from api.store.schema import Call
from api.store.seals import seal_call
from api.store.storage import Storage
from pipelines.core.errors import ConfigError

if TYPE_CHECKING:
    from api.jobs.queue import JobQueue

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Intake:
    """A recording on disk and what the caller said about it."""

    call_id: str
    tenant: str
    path: Path
    size: int
    format: str
    source: str = "upload"
    filename: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    policy_id: str | None = None
    layout: str | None = None
    idempotency_key: str | None = None
    contact_keys: tuple[tuple[str, str], ...] = ()  # (kind, keyed pseudonym) of who called


def agent_of(metadata: Mapping[str, object]) -> str | None:
    """The call's agent from upload metadata (``agent``, else ``agent_id``), cut to its column."""
    agent = metadata.get("agent") or metadata.get("agent_id")
    return str(agent)[:128] if agent is not None else None


class JobStorage(Storage, Protocol):
    """Storage with the queue that takes the analysis jobs."""

    @property
    def queue(self) -> JobQueue: ...


class LiveClaim(Protocol):
    """What a live call says of itself when it starts (`api.live.hub.LiveStart`)."""

    @property
    def call_id(self) -> str: ...

    @property
    def tenant(self) -> str: ...

    @property
    def metadata(self) -> dict[str, Any]: ...

    @property
    def policy_id(self) -> str | None: ...

    @property
    def layout(self) -> str: ...


class CallIdTaken(Exception):
    """A live call's id names a call that exists already (any tenant, any state)."""


def claim_live_call(store: Store, signer: Signer, start: LiveClaim) -> None:
    """Insert the row of a live call that starts now; `CallIdTaken` when the id exists.

    The primary key decides atomically, so two streams (of one tenant or two) opening the same
    id at once can never both hold it, and no existing call is ever touched.
    """
    from sqlalchemy.exc import IntegrityError as DuplicateKey

    try:
        with store.session() as session:
            call = Call(
                id=start.call_id,
                tenant=start.tenant,
                created_at=datetime.now(UTC),
                status="live",
                source="stream",
                metadata_json=start.metadata,
                policy_id=start.policy_id,
                layout=start.layout,
            )
            seal_call(call, signer)
            session.add(call)
    except DuplicateKey as exc:
        raise CallIdTaken(start.call_id) from exc


def release_live_claim(store: Store, call_id: str, tenant: str) -> None:
    """Drop a live call's claim when nothing of it was stored (no audio came, or it failed
    to start); a row that holds audio or a job is never touched."""
    with store.session() as session:
        session.execute(
            delete(Call).where(
                Call.id == call_id,
                Call.tenant == tenant,
                Call.status == "live",
                Call.audio_path.is_(None),
            )
        )


def store_call(storage: JobStorage, intake: Intake) -> str:
    """Commit the call and its job, then queue the job; returns the job id.

    An upload inserts a new row; a live call fills the row it claimed when it started
    (`claim_live_call`), and only that row: never another tenant's, never a finished call's.
    """
    from api.jobs.queue import enqueue, new_job

    with storage.store.session() as session:
        version = None
        if intake.policy_id is not None:
            version = latest_policy(session, intake.tenant, intake.policy_id)
        values = {
            "status": "queued",
            "source": intake.source,
            "filename": intake.filename,
            "audio_path": str(intake.path),
            "size_bytes": intake.size,
            "format": intake.format,
            "metadata_json": intake.metadata,
            "policy_id": intake.policy_id,
            "policy_version": version,
            "layout": intake.layout,
            "agent": agent_of(intake.metadata),
            "idempotency_key": intake.idempotency_key,
        }
        if intake.source == "stream":
            call = session.get(Call, intake.call_id, with_for_update=True)
            if call is None or (call.tenant, call.status, call.source) != (
                intake.tenant,
                "live",
                "stream",
            ):
                raise ConfigError(f"live call {intake.call_id} holds no claim on its row")
            for key, value in values.items():
                setattr(call, key, value)
        else:
            call = Call(
                id=intake.call_id, tenant=intake.tenant, created_at=datetime.now(UTC), **values
            )
            session.add(call)
        seal_call(call, storage.signer)
        remember_contacts(
            session, intake.tenant, intake.call_id, intake.contact_keys, call.created_at
        )
        job_id = new_job(session, intake.tenant, intake.call_id).id
    try:
        enqueue(storage.queue, job_id)
    except Exception:  # the job is durable; the sweeper queues it again
        logger.exception("could not queue job %s now; the sweeper will", job_id)
    return job_id
