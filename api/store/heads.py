"""Chain heads: the signed length and last hash of each chain, and the lock appenders take."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from api.store.integrity import ChainReport, Keyring, Problem, Signer, check_signature, head_message
from api.store.schema import ChainHead


def now_utc() -> datetime:
    return datetime.now(UTC)


def lock_head(session: Session, tenant: str, chain: str) -> ChainHead:
    """The head row of ``(tenant, chain)``, created when missing and locked until commit.

    PostgreSQL: ``INSERT ... ON CONFLICT DO NOTHING`` then ``SELECT ... FOR UPDATE``, so two
    appenders never read the same head. SQLite: the insert takes the database write lock
    first (the driver begins the transaction there), so the read after it is current.
    """
    dialect = session.get_bind().dialect.name
    values = {"tenant": tenant, "chain": chain, "seq": 0}
    if dialect == "postgresql":
        session.execute(postgresql.insert(ChainHead).values(values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        # an INSERT, even one that changes nothing, takes the database's write lock
        session.execute(sqlite.insert(ChainHead).values(values).on_conflict_do_nothing())
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        if session.get(ChainHead, (tenant, chain)) is None:
            session.add(ChainHead(tenant=tenant, chain=chain, seq=0))
            session.flush()
    query = (
        select(ChainHead)
        .where(ChainHead.tenant == tenant, ChainHead.chain == chain)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalars(query).one()


def advance_head(head: ChainHead, seq: int, head_sha256: str, signer: Signer) -> None:
    """Move a locked head to ``seq``/``head_sha256`` and sign it."""
    head.seq = seq
    head.head_sha256 = head_sha256
    head.signature = signer.sign(head_message(head.tenant, head.chain, seq, head_sha256))
    head.key_id = signer.key_id


def read_head(session: Session, tenant: str, chain: str) -> ChainHead | None:
    return session.get(ChainHead, (tenant, chain), populate_existing=True)


def head_end(
    head: ChainHead | None, keys: Keyring, tenant: str, chain: str, has_entries: bool
) -> tuple[int, str | None] | Problem:
    """The trusted end of a chain from its head, or the problem with the head."""
    if head is None:
        if has_entries:
            return Problem("inserted", None, None, f"entries without a signed {chain} head")
        return (0, None)
    message = head_message(tenant, chain, head.seq, head.head_sha256)
    if head.seq == 0 and head.signature is None:
        return (0, None)  # created, never advanced (the append rolled back)
    why = check_signature(keys, head.key_id, message, head.signature)
    if why:
        return Problem("altered", head.seq, None, f"chain head: {why}")
    return (head.seq, head.head_sha256)


def head_failure(tenant: str, chain: str, problem: Problem) -> ChainReport:
    return ChainReport(tenant, chain, 0, None, None, problem)
