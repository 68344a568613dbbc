"""Stored compliance policies: each tenant's versions in the ``policies`` table, read back as
`pipelines.compliance.policy.Policy`."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.store.schema import Policy as PolicyRow
from pipelines.compliance.policy import Policy, parse_policy
from pipelines.core.errors import InvalidRequestError, PolicyError


def latest_policy(session: Session, tenant: str, policy_id: str) -> int:
    """The newest stored version of a tenant's policy (`InvalidRequestError` when none is)."""
    version = session.scalar(
        select(func.max(PolicyRow.version)).where(
            PolicyRow.tenant == tenant, PolicyRow.id == policy_id
        )
    )
    if version is None:
        raise InvalidRequestError(f"no policy {policy_id!r}; PUT /v1/policies/{{id}} first")
    return int(version)


def stored_policy(
    session: Session, tenant: str, policy_id: str | None, version: int | None
) -> Policy | None:
    """A policy from the ``policies`` table: that version, or the newest when none is given."""
    if policy_id is None:
        return None
    query = select(PolicyRow).where(PolicyRow.tenant == tenant, PolicyRow.id == policy_id)
    if version is not None:
        query = query.where(PolicyRow.version == version)
    row = session.scalars(query.order_by(PolicyRow.version.desc()).limit(1)).first()
    if row is None:
        which = f"version {version} of " if version is not None else ""
        raise PolicyError(f"{which}policy {policy_id!r} is not stored for tenant {tenant}")
    text = row.source
    return parse_policy(
        text,
        source=f"{row.id} v{row.version}",
        format="json" if text.lstrip().startswith("{") else "yaml",
    )
