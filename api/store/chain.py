"""Hash-chain mechanics shared by the record ledger and the audit log.

Each chain is one table, one chain per tenant: entries in ``seq`` order, each signed and
linked to the previous one by ``prev_sha256``, behind a signed head (`api.store.heads`).
The modules that own a chain build its entries and links; this one appends them after the
locked head, reads them in order and verifies them against the head.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from api.store.heads import advance_head, head_end, head_failure, read_head
from api.store.integrity import ChainLink, ChainReport, Keyring, Signer, verify_chain
from api.store.schema import AuditEntry, ChainHead, LedgerEntry

BATCH = 500
"""Entries fetched per round trip when a chain is read in order."""

Entry = TypeVar("Entry", LedgerEntry, AuditEntry)


def default_signer() -> Signer:
    """The configured signing key (created on first use)."""
    from api.store.integrity import load_signer
    from pipelines.core.settings import get_settings

    return load_signer(get_settings())


def append_entry(
    session: Session, head: ChainHead, entry: Entry, content_sha256: str, signer: Signer
) -> Entry:
    """Add a signed ``entry`` (seq ``head.seq + 1``) and advance the locked ``head`` to it."""
    session.add(entry)
    advance_head(head, entry.seq, content_sha256, signer)
    session.flush()
    return entry


def iter_chain(
    session: Session, model: type[Entry], tenant: str, *where: ColumnElement[bool]
) -> Iterator[Entry]:
    """A tenant's entries matching ``where``, in chain order, fetched in batches."""
    query = select(model).where(model.tenant == tenant, *where)
    yield from session.scalars(query.order_by(model.seq).execution_options(yield_per=BATCH))


def verify_tenant_chain(
    session: Session,
    model: type[Entry],
    tenant: str,
    chain: str,
    keys: Keyring,
    link: Callable[[Entry], ChainLink],
    start: tuple[int, str | None] = (1, None),
) -> ChainReport:
    """Check a tenant's chain from ``start`` (first seq, its prev hash) to its signed head."""
    has_entries = session.scalar(select(model.seq).where(model.tenant == tenant).limit(1))
    end = head_end(read_head(session, tenant, chain), keys, tenant, chain, has_entries is not None)
    if not isinstance(end, tuple):
        return head_failure(tenant, chain, end)
    links = (link(entry) for entry in iter_chain(session, model, tenant))
    return verify_chain(links, keys, tenant=tenant, chain=chain, start=start, end=end)
