"""The tenant's own words: ``PUT /v1/vocabulary`` ``{terms}`` and ``GET /v1/vocabulary``.

Terms bias whisper in batch and live analyses started after the ``PUT`` and widen the
compliance matcher and re-scores; each record names the version it was analysed with
(``provenance.options.vocabulary``). Older records are not re-transcribed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import IntegrityError as DatabaseIntegrityError

from api.http.auditing import audited
from api.http.deps import ServicesDep, require
from api.http.errors import ApiError
from api.records.search import iso_z
from api.store.keys import Principal
from api.store.schema import Vocabulary as VocabularyRow

router = APIRouter(prefix="/v1", tags=["vocabulary"])

Editor = Annotated[Principal, Depends(require("qa_analyst", "admin"))]


class VocabularyIn(BaseModel):
    """``{terms: [{term, spoken?: [...]}, ...]}`` (plain strings are terms without forms)."""

    model_config = ConfigDict(extra="forbid")

    terms: list[Any]


def _served(row: VocabularyRow | None) -> dict[str, Any]:
    if row is None:
        return {"version": None, "sha256": None, "created_at": None, "created_by": None,
                "terms": []}  # fmt: skip
    return {
        "version": row.version,
        "sha256": row.sha256,
        "created_at": iso_z(row.created_at),
        "created_by": row.created_by,
        "terms": row.terms,
    }


@router.get("/vocabulary")
def read_vocabulary(principal: Editor, services: ServicesDep) -> dict[str, Any]:
    """The tenant's newest vocabulary (version null and no terms before the first ``PUT``)."""
    from api.store.vocabulary import newest_row

    with (
        audited(services, principal, "vocabulary.read", None),
        services.store.session() as session,
    ):
        return _served(newest_row(session, principal.tenant))


@router.put("/vocabulary")
def put_vocabulary(
    body: VocabularyIn, principal: Editor, services: ServicesDep, response: Response
) -> dict[str, Any]:
    """Store the terms as the next version (201); the newest version's terms again: 200."""
    from api.store.vocabulary import store_vocabulary
    from pipelines.compliance.vocabulary import parse_terms

    detail: dict[str, Any] = {"terms": len(body.terms)}
    with audited(services, principal, "vocabulary.put", None, detail):
        terms = parse_terms(body.terms)
        try:
            with services.store.session() as session:
                row, created = store_vocabulary(session, principal.tenant, terms, principal.name)
                served = _served(row)
        except DatabaseIntegrityError as exc:  # two PUTs at once took the same version
            raise ApiError(409, "the vocabulary changed meanwhile; send it again") from exc
        detail.update(version=served["version"], created=created)
    response.status_code = 201 if created else 200
    return served
