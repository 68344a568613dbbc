"""Each tenant's own words (`pipelines.compliance.vocabulary`), versioned, never overwritten:
a ``PUT`` stores the next version unless it repeats the newest one."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.store.heads import now_utc
from api.store.schema import Vocabulary as VocabularyRow
from pipelines.compliance.vocabulary import Term, Vocabulary, parse_terms


def newest_row(session: Session, tenant: str) -> VocabularyRow | None:
    query = select(VocabularyRow).where(VocabularyRow.tenant == tenant)
    return session.scalars(query.order_by(VocabularyRow.version.desc()).limit(1)).first()


def current_vocabulary(session: Session, tenant: str) -> Vocabulary:
    """The tenant's newest words (none stored: an empty vocabulary, version None)."""
    row = newest_row(session, tenant)
    if row is None:
        return Vocabulary()
    return Vocabulary(parse_terms(row.terms), row.version)


def store_vocabulary(
    session: Session, tenant: str, terms: tuple[Term, ...], by: str
) -> tuple[VocabularyRow, bool]:
    """Store ``terms`` as the tenant's next version; (row, False) when they are the newest's."""
    newest = newest_row(session, tenant)
    words = Vocabulary(terms)
    if newest is not None and newest.sha256 == words.sha256:
        return newest, False
    row = VocabularyRow(
        tenant=tenant,
        version=(newest.version if newest is not None else 0) + 1,
        created_at=now_utc(),
        created_by=by,
        sha256=words.sha256,
        terms=words.to_dict(),
    )
    session.add(row)
    session.flush()
    return row, True
