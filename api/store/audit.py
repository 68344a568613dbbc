"""The append-only audit log: who did what, when, from where, with what result.

Chained and signed like the ledger (chain ``audit`` per tenant): ``entry_sha256`` covers every
field, ``prev_sha256`` is the previous entry's hash. Entries older than the retention period are
purged from the front; each purge appends a signed ``purge`` entry naming the last seq and hash
it removed, and verification starts right after it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from api.store.chain import append_entry, default_signer, iter_chain, verify_tenant_chain
from api.store.heads import lock_head, now_utc
from api.store.integrity import (
    ChainLink,
    ChainReport,
    Keyring,
    Signer,
    as_utc,
    entry_message,
    iso,
    sha256_hex,
)
from api.store.keys import Principal
from api.store.schema import AuditEntry
from api.store.storage import Storage
from pipelines.record.schema import canonical_json

CHAIN = "audit"
KIND = "audit"
PURGE = "purge"
_LIMITS = {"actor": 64, "action": 32, "target": 255, "origin": 128, "result": 32}


def _fields(entry: AuditEntry) -> dict[str, Any]:
    return {
        "tenant": entry.tenant,
        "seq": entry.seq,
        "at": iso(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "origin": entry.origin,
        "result": entry.result,
        "detail": entry.detail,
    }


def audit_sha256(entry: AuditEntry) -> str:
    """SHA-256 of an audit entry's canonical fields (everything but the chain columns)."""
    return sha256_hex(canonical_json(_fields(entry)))


def _clip(field: str, value: str | None) -> str | None:
    return None if value is None else value[: _LIMITS[field]]


def append_audit(
    session: Session,
    tenant: str,
    actor: str,
    action: str,
    target: str | None,
    origin: str | None,
    result: str,
    detail: Mapping[str, Any] | None = None,
    *,
    signer: Signer | None = None,
) -> AuditEntry:
    """Append one audit entry (``detail`` must be JSON); ``signer`` defaults to the configured
    key. Over-long fields are cut to their column size before hashing."""
    head = lock_head(session, tenant, CHAIN)
    signer = signer or default_signer()
    entry = AuditEntry(
        tenant=tenant,
        seq=head.seq + 1,
        at=now_utc(),
        actor=_clip("actor", actor) or "",
        action=_clip("action", action) or "",
        target=_clip("target", target),
        origin=_clip("origin", origin),
        result=_clip("result", result) or "",
        detail=json.loads(canonical_json(dict(detail))) if detail is not None else None,
        prev_sha256=head.head_sha256,
        key_id=signer.key_id,
    )
    entry.entry_sha256 = audit_sha256(entry)
    entry.signature = signer.sign(_message(entry))
    return append_entry(session, head, entry, entry.entry_sha256, signer)


def _message(entry: AuditEntry) -> bytes:
    return entry_message(
        entry.tenant,
        KIND,
        entry.target or "",
        entry.seq,
        iso(entry.at),
        entry.entry_sha256,
        entry.prev_sha256,
    )


def purge_audit(session: Session, older_than: datetime, *, signer: Signer | None = None) -> int:
    """Delete every tenant's entries from before ``older_than`` (a prefix of each chain) and
    append a signed ``purge`` entry naming the last removed seq and hash. Returns how many
    entries were removed."""
    per_tenant = session.execute(
        select(AuditEntry.tenant, func.max(AuditEntry.seq))
        .where(AuditEntry.at < as_utc(older_than))
        .group_by(AuditEntry.tenant)
    ).all()
    removed = 0
    for tenant, through in per_tenant:
        lock_head(session, tenant, CHAIN)
        last = session.scalars(
            select(AuditEntry).where(AuditEntry.tenant == tenant, AuditEntry.seq == through)
        ).one()
        through_sha256 = last.entry_sha256
        result = session.execute(
            delete(AuditEntry).where(AuditEntry.tenant == tenant, AuditEntry.seq <= through)
        )
        removed += int(getattr(result, "rowcount", 0) or 0)
        detail = {
            "through_seq": through,
            "through_sha256": through_sha256,
            "before": iso(older_than),
        }
        append_audit(session, tenant, "system", PURGE, None, None, "ok", detail, signer=signer)
    return removed


def iter_audit(
    session: Session, tenant: str, from_: datetime | None = None, to: datetime | None = None
) -> Iterator[AuditEntry]:
    """A tenant's audit entries with ``from_ <= at < to`` (naive times are UTC), in order,
    fetched in batches."""
    where: list[ColumnElement[bool]] = []
    if from_ is not None:
        where.append(AuditEntry.at >= as_utc(from_))
    if to is not None:
        where.append(AuditEntry.at < as_utc(to))
    yield from iter_chain(session, AuditEntry, tenant, *where)


def audit_dict(entry: AuditEntry) -> dict[str, Any]:
    """An audit entry as served by ``GET /v1/audit``."""
    return {
        **_fields(entry),
        "integrity": {
            "entry_sha256": entry.entry_sha256,
            "prev_sha256": entry.prev_sha256,
            "signature": entry.signature,
            "key_id": entry.key_id,
        },
    }


def chain_link(entry: AuditEntry) -> ChainLink:
    return ChainLink(
        seq=entry.seq,
        kind=KIND,
        subject=entry.target or "",
        at=iso(entry.at),
        content_sha256=entry.entry_sha256,
        prev_sha256=entry.prev_sha256,
        signature=entry.signature,
        key_id=entry.key_id,
        computed_sha256=audit_sha256(entry),
    )


def _start(session: Session, tenant: str) -> tuple[int, str | None]:
    """Where the chain starts: after the newest purge, else at seq 1."""
    purge = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.tenant == tenant, AuditEntry.action == PURGE)
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).one_or_none()
    if purge is None or not isinstance(purge.detail, dict):
        return (1, None)
    through, sha = purge.detail.get("through_seq"), purge.detail.get("through_sha256")
    if not isinstance(through, int) or not isinstance(sha, str):
        return (1, None)  # a damaged purge entry fails its own hash check
    return (through + 1, sha)


def verify_audit(session: Session, tenant: str, keys: Keyring) -> ChainReport:
    """Check a tenant's audit chain from its newest purge (or seq 1) to its signed head."""
    start = _start(session, tenant)
    return verify_tenant_chain(session, AuditEntry, tenant, CHAIN, keys, chain_link, start)


def audit(
    storage: Storage,
    principal: Principal,
    action: str,
    target: str | None,
    result: str = "ok",
    detail: dict[str, object] | None = None,
) -> None:
    """Append to the tenant's audit log (who, what, when, from where, result)."""
    with storage.store.session() as session:
        append_audit(
            session,
            principal.tenant,
            principal.name,
            action,
            target,
            principal.origin,
            result,
            detail,
            signer=storage.signer,
        )
