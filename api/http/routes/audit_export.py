"""Auditors' routes: the streamed, signed export bundle and the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from api.http.deps import ServicesDep, require
from api.http.errors import ApiError
from api.http.routes.health import EXPORTS
from api.store.audit import audit, audit_dict
from api.store.integrity import as_utc
from api.store.keys import Principal
from api.store.schema import AuditEntry

router = APIRouter(prefix="/v1", tags=["audit"])

Auditor = Annotated[Principal, Depends(require("auditor"))]
AuditReader = Annotated[Principal, Depends(require("auditor", "admin"))]
AUDIT_PAGE = 500


def _window(from_: datetime | None, to: datetime | None) -> tuple[datetime | None, datetime | None]:
    """``from`` and ``to`` in UTC (naive: UTC); 422 when one is out of range or out of order."""
    try:
        start = as_utc(from_) if from_ is not None else None
        end = as_utc(to) if to is not None else None
    except OverflowError as exc:  # e.g. 0001-01-01T00:00+14:00 has no UTC time
        raise ApiError(422, "'from'/'to': date-time out of range") from exc
    if start is not None and end is not None and start > end:
        raise ApiError(422, "'from' is after 'to'")
    return start, end


@router.get("/export", response_class=StreamingResponse)
def export_bundle(
    principal: Auditor,
    services: ServicesDep,
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: Annotated[datetime | None, Query()] = None,
    format: Annotated[Literal["jsonl", "csv"], Query()] = "jsonl",
) -> StreamingResponse:
    """A ZIP bundle (records + signed manifest) streamed in bounded memory."""
    from api.records.export import iter_bundle_chunks

    start, end = _window(from_, to)
    audit(services, principal, "export", None, detail={"format": format})
    chunks = iter_bundle_chunks(
        services.store, principal.tenant, start, end, format, services.signer
    )

    def counted() -> Iterator[bytes]:
        yield from chunks
        EXPORTS.inc()

    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    return StreamingResponse(
        counted(),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="callqa-{principal.tenant}-{stamp}.zip"'
        },
    )


@router.get("/audit")
def audit_log(
    principal: AuditReader,
    services: ServicesDep,
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: Annotated[datetime | None, Query()] = None,
    after: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=AUDIT_PAGE)] = 100,
) -> dict[str, Any]:
    """The tenant's audit log (``from <= at < to``), oldest first, paginated by ``after``."""
    start, end = _window(from_, to)
    query = select(AuditEntry).where(AuditEntry.tenant == principal.tenant, AuditEntry.seq > after)
    if start is not None:
        query = query.where(AuditEntry.at >= start)
    if end is not None:
        query = query.where(AuditEntry.at < end)
    with services.store.session() as session:
        rows = session.scalars(query.order_by(AuditEntry.seq).limit(limit))
        items = [audit_dict(entry) for entry in rows]
    audit(services, principal, "audit.read", None, detail={"count": len(items)})
    following = items[-1]["seq"] if len(items) == limit else None
    return {"items": items, "next_after": following}
