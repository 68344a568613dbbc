"""Sealed call rows: what a ``calls`` row says of a call's origin and fate, signed.

A row's seal covers its id, tenant, creation time, source, stored audio (path, size, format),
metadata, policy, upload idempotency key and erasure time. Every code path that changes one of
them re-seals the row in the same transaction (:func:`seal_call`). The row's status is checked
against the ledger instead (:func:`verify_calls`): a call is ``done`` exactly when the chain
holds its record, and ``erased`` exactly when its erasure is sealed. So a row rewritten outside
those paths (another tenant's audio path, a finished call put back in the queue, an erased call
brought back) is named by ``callqa verify``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.store.integrity import ChainReport, Keyring, Problem, Signer, check_signature, iso
from api.store.schema import Call, LedgerEntry
from pipelines.record.schema import canonical_json

logger = logging.getLogger(__name__)

CHAIN = "calls"
BATCH = 500
SETTLED = ("done", "erased")  # statuses a call with a record in the chain may have


def seal_message(call: Call) -> bytes:
    """What a row's seal signs."""
    return canonical_json(
        [
            "callqa.call/v1",
            call.id,
            call.tenant,
            iso(call.created_at),
            call.source,
            call.audio_path,
            call.size_bytes,
            call.format,
            call.metadata_json,
            call.policy_id,
            call.idempotency_key,
            iso(call.erased_at) if call.erased_at is not None else None,
        ]
    )


def seal_call(call: Call, signer: Signer) -> None:
    """(Re)seal a row after its sealed fields were set."""
    call.seal = signer.sign(seal_message(call))
    call.seal_key_id = signer.key_id


def seal_unsealed(session: Session, signer: Signer) -> int:
    """Seal rows stored before seals existed (once, at start); returns how many."""
    count = 0
    for call in session.scalars(select(Call).where(Call.seal.is_(None))):
        seal_call(call, signer)
        count += 1
    if count:
        logger.warning("sealed %d call rows stored before call seals existed", count)
    return count


def _recorded(session: Session, tenant: str) -> dict[str, bool]:
    """The tenant's calls with a record in the ledger: call id -> the record was erased."""
    rows = session.execute(
        select(LedgerEntry.call_id, LedgerEntry.body).where(
            LedgerEntry.tenant == tenant, LedgerEntry.kind == "record"
        )
    )
    return {call_id: body is None for call_id, body in rows}


def _rows(session: Session, tenant: str) -> Iterator[Call]:
    query = select(Call).where(Call.tenant == tenant).order_by(Call.created_at, Call.id)
    yield from session.scalars(query.execution_options(yield_per=BATCH))


def _row_problem(call: Call, keys: Keyring, recorded: dict[str, bool]) -> str:
    why = check_signature(keys, call.seal_key_id, seal_message(call), call.seal)
    if why:
        return f"row {why}" if call.seal else "row has no seal"
    if (call.status == "erased") != (call.erased_at is not None):
        return f"status {call.status!r} does not match its sealed erasure"
    if call.id in recorded:
        if call.status not in SETTLED:
            return f"status {call.status!r}, but the chain holds its record"
        if recorded[call.id] and call.status != "erased":
            return "its record was erased but the row was not"
    elif call.status == "done":
        return "status 'done', but the chain holds no record of it"
    return ""


def verify_calls(session: Session, tenant: str, keys: Keyring) -> ChainReport:
    """Check every ``calls`` row of a tenant: its seal, and its status against the ledger.

    A record with no row at all is no problem: the record is the truth and stays readable
    (stores from before call rows held one per record)."""
    recorded = _recorded(session, tenant)
    count = 0
    for call in _rows(session, tenant):
        why = _row_problem(call, keys, recorded)
        if why:
            problem = Problem("altered", None, call.id, why)
            return ChainReport(tenant, CHAIN, count, None, None, problem)
        count += 1
    return ChainReport(tenant, CHAIN, count, None, None, None)
