"""A recording on disk becomes a stored call with a queued analysis job (uploads and live
calls alike): committed before anyone is told, then queued (the sweeper re-queues a lost
message)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.deps import Services
from api.http_errors import ApiError
from api.store.schema import Call, Policy

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


def latest_policy(session: Session, tenant: str, policy_id: str) -> int:
    version = session.scalar(
        select(func.max(Policy.version)).where(Policy.tenant == tenant, Policy.id == policy_id)
    )
    if version is None:
        raise ApiError(422, f"no policy {policy_id!r}; PUT /v1/policies/{{id}} first")
    return int(version)


def agent_of(metadata: dict[str, Any]) -> str | None:
    agent = metadata.get("agent") or metadata.get("agent_id")
    return str(agent)[:128] if agent is not None else None


def store_call(services: Services, intake: Intake) -> str:
    """Commit the call and its job, then queue the job; returns the job id."""
    from api.jobs import enqueue, new_job

    with services.store.session() as session:
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
        }
        call = session.get(Call, intake.call_id)
        if call is None:
            session.add(
                Call(
                    id=intake.call_id, tenant=intake.tenant, created_at=datetime.now(UTC), **values
                )
            )
        else:  # a live call's row, opened when the stream started
            for key, value in values.items():
                setattr(call, key, value)
        job_id = new_job(session, intake.tenant, intake.call_id).id
    try:
        enqueue(services.queue, job_id)
    except Exception:  # the job is durable; the sweeper queues it again
        logger.exception("could not queue job %s now; the sweeper will", job_id)
    return job_id
