"""API keys (stored as SHA-256, shown once), roles, and the principal of a request."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.store import KEY_PREFIX
from api.store.schema import ApiKey, Tenant

logger = logging.getLogger(__name__)

ROLES = ("admin", "qa_analyst", "auditor", "ingest")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's name, tenant and roles, and where from."""

    name: str
    tenant: str
    roles: frozenset[str]
    origin: str | None = None

    def has_any(self, roles: Iterable[str]) -> bool:
        return not self.roles.isdisjoint(roles)


def hash_key(key: str) -> str:
    """Keys are 256-bit random tokens, so one SHA-256 is a safe way to keep them."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def ensure_tenant(session: Session, tenant: str) -> Tenant:
    row = session.get(Tenant, tenant)
    if row is None:
        row = Tenant(name=tenant, created_at=datetime.now(UTC), score_agents=False)
        session.add(row)
        session.flush()
    return row


def create_key(
    session: Session,
    name: str,
    tenant: str,
    roles: Iterable[str],
    *,
    created_by: str | None,
    key: str | None = None,
) -> str:
    """Store a new key (hashed) and return it in clear, the only time it is seen."""
    clear = key or new_key()
    ensure_tenant(session, tenant)
    session.add(
        ApiKey(
            name=name,
            tenant=tenant,
            roles=",".join(sorted(set(roles))),
            key_sha256=hash_key(clear),
            created_at=datetime.now(UTC),
            created_by=created_by,
        )
    )
    session.flush()
    return clear


def lookup_key(session: Session, key: str, origin: str | None) -> Principal | None:
    row = session.scalar(
        select(ApiKey).where(ApiKey.key_sha256 == hash_key(key), ApiKey.revoked_at.is_(None))
    )
    if row is None:
        return None
    return Principal(row.name, row.tenant, frozenset(row.roles.split(",")), origin)


def bootstrap_admin(session: Session, tenant: str, admin_key: str | None) -> str | None:
    """On a store without keys, create the first admin key; returns it when generated here.

    With ``CALLQA_ADMIN_KEY`` set that key is used (and nothing is returned to print).
    """
    if session.scalar(select(ApiKey.id).limit(1)) is not None:
        return None
    if admin_key:
        create_key(session, "admin", tenant, ["admin"], created_by="bootstrap", key=admin_key)
        logger.info("created the first admin key from CALLQA_ADMIN_KEY")
        return None
    return create_key(session, "admin", tenant, ["admin"], created_by="bootstrap")
