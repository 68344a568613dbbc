"""The tamper-evident record ledger: one signed hash chain per tenant.

Entries are ``record`` (an interaction record), ``review`` (an override with its reason),
``rescore`` (the call's transcript scored again against a policy version) and ``erasure`` (who
erased which entries, and why). ``body`` is canonical JSON and ``content_sha256`` its SHA-256;
``prev_sha256`` is the previous entry's ``content_sha256``. Erasing a call sets its bodies to
NULL and keeps every hash and signature (a tombstone), and appends a signed ``erasure`` entry
that vouches for the tombstones, so the chain still verifies.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
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
from api.store.schema import ChainHead, LedgerEntry
from pipelines.record.schema import INTEGRITY_FIELD, canonical_json

logger = logging.getLogger(__name__)

CHAIN = "ledger"
RECORD, REVIEW, RESCORE, ERASURE = "record", "review", "rescore", "erasure"
ANNOTATIONS = (REVIEW, RESCORE)  # entries about a stored record, erased with it


def record_key(tenant: str, call_id: str) -> str:
    """The unique key of a call's record: a retried job can never store it twice."""
    return sha256_hex(f"{tenant}\x00{call_id}".encode())


def integrity_block(entry: LedgerEntry) -> dict[str, Any]:
    """The ``integrity`` block of a served record: enough to check it alone."""
    return {
        "content_sha256": entry.content_sha256,
        "prev_sha256": entry.prev_sha256,
        "signature": entry.signature,
        "key_id": entry.key_id,
        "seq": entry.seq,
        "signed_at": iso(entry.created_at),
    }


def record_dict(entry: LedgerEntry) -> dict[str, Any]:
    """The stored body with its integrity block; a tombstone says when and why it was erased."""
    if entry.body is None:
        body: dict[str, Any] = {
            "id": entry.call_id,
            "kind": entry.kind,
            "erased": {
                "at": iso(entry.erased_at) if entry.erased_at else None,
                "reason": entry.erasure_reason,
            },
        }
    else:
        body = json.loads(entry.body)
    body[INTEGRITY_FIELD] = integrity_block(entry)
    return body


def new_entry(
    tenant: str,
    kind: str,
    call_id: str,
    body: Mapping[str, Any],
    seq: int,
    prev_sha256: str | None,
    signer: Signer,
    key: str | None = None,
) -> LedgerEntry:
    """A signed entry at ``seq`` after ``prev_sha256``, created now (not yet in a session)."""
    text = canonical_json(body).decode("utf-8")
    content = sha256_hex(text.encode("utf-8"))
    created = now_utc()
    message = entry_message(tenant, kind, call_id, seq, iso(created), content, prev_sha256)
    return LedgerEntry(
        tenant=tenant,
        seq=seq,
        kind=kind,
        call_id=call_id,
        record_key=key,
        created_at=created,
        content_sha256=content,
        prev_sha256=prev_sha256,
        signature=signer.sign(message),
        key_id=signer.key_id,
        body=text,
    )


def _append(
    session: Session,
    head: ChainHead,
    kind: str,
    call_id: str,
    body: Mapping[str, Any],
    signer: Signer,
    key: str | None = None,
) -> LedgerEntry:
    """Append one entry after the locked ``head`` and advance it."""
    entry = new_entry(head.tenant, kind, call_id, body, head.seq + 1, head.head_sha256, signer, key)
    return append_entry(session, head, entry, entry.content_sha256, signer)


def find_record(session: Session, tenant: str, call_id: str) -> LedgerEntry | None:
    """The ledger entry holding a call's record (maybe a tombstone), if stored."""
    query = select(LedgerEntry).where(LedgerEntry.record_key == record_key(tenant, call_id))
    return session.scalars(query.execution_options(populate_existing=True)).one_or_none()


def append_record(
    session: Session, tenant: str, call_id: str, record: dict[str, Any], signer: Signer
) -> LedgerEntry:
    """Store a call's record once and fill ``record["integrity"]``.

    Idempotent per call: when the call's record is already stored, that entry is returned and
    ``record`` is replaced by the stored record (a retried job may have produced other
    timestamps). Raises ValueError when the record's ``id`` or ``tenant`` disagree.
    """
    if record.get("id") != call_id or record.get("tenant") != tenant:
        raise ValueError(
            f"record id/tenant {record.get('id')!r}/{record.get('tenant')!r} "
            f"do not match call {call_id!r} of tenant {tenant!r}"
        )
    head = lock_head(session, tenant, CHAIN)  # then a concurrent append of it is visible
    entry = find_record(session, tenant, call_id)
    if entry is None:
        body = {k: v for k, v in record.items() if k != INTEGRITY_FIELD}
        key = record_key(tenant, call_id)
        entry = _append(session, head, RECORD, call_id, body, signer, key)
    else:
        logger.info("record of call %s already stored", call_id, extra={"call_id": call_id})
        if entry.body is not None:
            record.clear()
            record.update(json.loads(entry.body))
    record[INTEGRITY_FIELD] = integrity_block(entry)
    return entry


def append_review(
    session: Session, tenant: str, call_id: str, override: Mapping[str, Any], signer: Signer
) -> LedgerEntry:
    """Append a review override (``rule_id`` or ``score``, ``by``, ``at``, ``reason``,
    ``value``); overrides are never overwritten. LookupError when the call has no record."""
    if not override.get("reason") or not override.get("by"):
        raise ValueError("a review override needs a reason and who made it")
    return append_annotation(session, tenant, call_id, REVIEW, override, signer)


def append_annotation(
    session: Session,
    tenant: str,
    call_id: str,
    kind: str,
    body: Mapping[str, Any],
    signer: Signer,
) -> LedgerEntry:
    """Append a ``review`` or ``rescore`` entry about a call's stored record (never an edit of
    it). LookupError when the call has no record (or it was erased)."""
    if kind not in ANNOTATIONS:
        raise ValueError(f"not an annotation kind: {kind!r}")
    head = lock_head(session, tenant, CHAIN)
    record = find_record(session, tenant, call_id)
    if record is None or record.body is None:
        raise LookupError(f"call {call_id} has no stored record")
    return _append(session, head, kind, call_id, {**body, "call_id": call_id}, signer)


def list_reviews(session: Session, tenant: str, call_id: str) -> list[LedgerEntry]:
    """A call's review entries, oldest first."""
    return list_annotations(session, tenant, call_id, REVIEW)


def annotation_bodies(entries: Iterable[LedgerEntry]) -> list[dict[str, Any]]:
    """The bodies of review or rescore entries (erased ones left out) with their ``seq``,
    oldest first."""
    out: list[dict[str, Any]] = []
    for entry in entries:
        if entry.body is None:
            continue
        body = json.loads(entry.body)
        body.pop("call_id", None)
        out.append({**body, "seq": entry.seq})
    return out


def list_annotations(session: Session, tenant: str, call_id: str, kind: str) -> list[LedgerEntry]:
    """A call's entries of one kind, oldest first."""
    query = (
        select(LedgerEntry)
        .where(
            LedgerEntry.tenant == tenant,
            LedgerEntry.call_id == call_id,
            LedgerEntry.kind == kind,
        )
        .order_by(LedgerEntry.seq)
    )
    return list(session.scalars(query))


def erase_call(
    session: Session,
    tenant: str,
    call_id: str,
    reason: str,
    by: str,
    signer: Signer | None = None,
) -> int:
    """Erase a call's record, reviews and re-scores: bodies become NULL, hashes and signatures
    stay, and a signed ``erasure`` entry names them. Returns how many entries were erased (0:
    nothing left to erase). ``signer`` defaults to the configured key."""
    if not reason.strip():
        raise ValueError("an erasure needs a reason")
    head = lock_head(session, tenant, CHAIN)
    query = (
        select(LedgerEntry)
        .where(
            LedgerEntry.tenant == tenant,
            LedgerEntry.call_id == call_id,
            LedgerEntry.kind.in_((RECORD, *ANNOTATIONS)),
            LedgerEntry.body.is_not(None),
        )
        .order_by(LedgerEntry.seq)
    )
    entries = list(session.scalars(query))
    if not entries:
        return 0
    at = now_utc()
    for entry in entries:
        entry.body = None
        entry.erased_at = at
        entry.erasure_reason = reason
    body = {
        "call_id": call_id,
        "reason": reason,
        "by": by,
        "at": iso(at),
        "seqs": [entry.seq for entry in entries],
    }
    _append(session, head, ERASURE, call_id, body, signer or default_signer())
    logger.info("erased %d entries of call %s", len(entries), call_id, extra={"call_id": call_id})
    return len(entries)


def iter_entries(
    session: Session, tenant: str, start: int | None = None, end: int | None = None
) -> Iterator[LedgerEntry]:
    """A tenant's entries in chain order, seq ``start`` to ``end`` inclusive, fetched in
    batches (bounded memory)."""
    where: list[ColumnElement[bool]] = []
    if start is not None:
        where.append(LedgerEntry.seq >= start)
    if end is not None:
        where.append(LedgerEntry.seq <= end)
    yield from iter_chain(session, LedgerEntry, tenant, *where)


def seq_range(
    session: Session, tenant: str, from_: datetime | None, to: datetime | None
) -> tuple[int, int] | None:
    """The contiguous seq range of entries created in ``[from_, to)`` (naive times are UTC);
    None when empty.

    A range of seqs, not a filter on times, so an export is always an unbroken piece of chain.
    """
    first = select(func.min(LedgerEntry.seq)).where(LedgerEntry.tenant == tenant)
    last = select(func.max(LedgerEntry.seq)).where(LedgerEntry.tenant == tenant)
    if from_ is not None:
        first = first.where(LedgerEntry.created_at >= as_utc(from_))
        last = last.where(LedgerEntry.created_at >= as_utc(from_))
    if to is not None:
        first = first.where(LedgerEntry.created_at < as_utc(to))
        last = last.where(LedgerEntry.created_at < as_utc(to))
    low, high = session.scalar(first), session.scalar(last)
    if low is None or high is None:
        return None
    return (low, high)


def chain_link(entry: LedgerEntry) -> ChainLink:
    """What the verifier checks of a stored entry."""
    covers: tuple[int, ...] = ()
    if entry.kind == ERASURE and entry.body is not None:
        covers = tuple(int(seq) for seq in json.loads(entry.body).get("seqs", ()))
    return ChainLink(
        seq=entry.seq,
        kind=entry.kind,
        subject=entry.call_id,
        at=iso(entry.created_at),
        content_sha256=entry.content_sha256,
        prev_sha256=entry.prev_sha256,
        signature=entry.signature,
        key_id=entry.key_id,
        computed_sha256=sha256_hex(entry.body.encode("utf-8")) if entry.body is not None else None,
        erased=entry.body is None and entry.erased_at is not None,
        covers=covers,
    )


def verify_ledger(session: Session, tenant: str, keys: Keyring) -> ChainReport:
    """Check a tenant's whole ledger against its signed head."""
    return verify_tenant_chain(session, LedgerEntry, tenant, CHAIN, keys, chain_link)
