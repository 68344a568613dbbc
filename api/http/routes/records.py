"""Interaction records: search, read (JSON, transcripts, RTTM, redacted audio, timeline picture),
review, erase.

Every route reads only the caller's tenant: another tenant's call is a 404, like an unknown
one. Every read, override and erasure is written to the audit log with its result.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.http.auditing import audited
from api.http.deps import Services, ServicesDep, require
from api.http.errors import ApiError
from api.records.review import MAX_REASON, ReviewIn, make_override, review_block
from api.records.search import (
    Filters,
    encode_cursor,
    iso_z,
    page_query,
    search_query,
    summary,
    window,
)
from api.store.keys import Principal
from api.store.schema import Call, Job, LedgerEntry
from pipelines.compliance.policy import ID_PATTERN
from pipelines.record.formats import MEDIA_TYPES, RENDERERS
from pipelines.record.verdicts import as_reviewed, with_current

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["records"])

# uuid4().hex for uploads; Twilio's callSid (CA + 32 hex) for calls streamed from Twilio
CALL_ID = r"^(?:CA)?[0-9a-f]{32}$"
CallId = Annotated[str, Path(pattern=CALL_ID, description="the call id (32 hex digits)")]
Reader = Annotated[Principal, Depends(require("qa_analyst", "auditor"))]
Analyst = Annotated[Principal, Depends(require("qa_analyst"))]
Admin = Annotated[Principal, Depends(require("admin"))]
MAX_OFFSET = 1_000_000


@dataclass(frozen=True, slots=True)
class Stored:
    """A call of the caller's tenant whose record is stored (and not erased)."""

    call: Call | None  # None: a record without a call row (e.g. from an older store)
    entry: LedgerEntry


def _processing(session: Session, tenant: str, call: Call) -> ApiError:
    """Why a known call has no record yet: queued, running or failed (409 with the job)."""
    job = session.scalars(
        select(Job)
        .where(Job.tenant == tenant, Job.call_id == call.id)
        .order_by(Job.created_at.desc())
        .limit(1)
    ).first()
    if job is None:
        return ApiError(409, f"call {call.id} has no record yet (status {call.status})", "pending")
    if job.status == "failed":
        return ApiError(409, f"the analysis of call {call.id} failed: {job.error}", "failed")
    step = f", step {job.step}" if job.step else ""
    return ApiError(
        409,
        f"call {call.id} is still processing (job {job.id} {job.status}{step}, "
        f"{round(job.progress * 100)}%); GET /v1/jobs/{job.id}",
        "processing",
    )


def stored(session: Session, tenant: str, call_id: str) -> Stored:
    """The call's stored record; 404 unknown (or another tenant's), 410 erased, 409 pending."""
    from api.store.ledger import find_record

    call = session.get(Call, call_id)
    if call is not None and call.tenant != tenant:
        call = None
    entry = find_record(session, tenant, call_id)
    if call is None and entry is None:
        raise ApiError(404, f"no call {call_id}")
    if (entry is not None and entry.body is None) or (call is not None and call.status == "erased"):
        at = (entry.erased_at if entry is not None else None) or (call.erased_at if call else None)
        reason = entry.erasure_reason if entry is not None else None
        because = f" (reason: {reason})" if reason else ""
        raise ApiError(410, f"call {call_id} was erased at {iso_z(at)}{because}", "erased")
    if entry is None:
        assert call is not None
        raise _processing(session, tenant, call)
    return Stored(call, entry)


def _record(session: Session, tenant: str, found: Stored) -> dict[str, Any]:
    """The record as served: body, integrity block, its re-scores (newest last), the review
    overrides and the current ``verdict`` (what lists show)."""
    from api.store.ledger import record_dict
    from api.store.verdicts import current_policy, overrides_of, rescores_of

    record = record_dict(found.entry)
    rescores = rescores_of(session, tenant, found.entry.call_id)
    overrides = overrides_of(session, tenant, found.entry.call_id)
    record["rescores"] = rescores
    record["review"] = review_block(record.get("review"), overrides)
    if overrides and found.call is not None:  # the outcome after review, as calls are listed
        record["review"].update(score=found.call.score, passed=found.call.passed)
    if found.call is not None and found.call.score is not None:
        policy_id, version = current_policy(found.call, record, rescores)
        record["verdict"] = {
            "source": "review" if overrides else "rescore" if rescores else "analysis",
            "policy_id": policy_id,
            "policy_version": version,
            "score": found.call.score,
            "passed": found.call.passed,
            "close_calls": found.call.close_calls,
        }
    return record


@router.get("/calls")
def list_calls(
    principal: Reader,
    services: ServicesDep,
    from_: Annotated[str | None, Query(alias="from", max_length=64)] = None,
    to: Annotated[str | None, Query(max_length=64)] = None,
    agent: Annotated[str | None, Query(max_length=128)] = None,
    passed: bool | None = None,
    topic: Annotated[str | None, Query(max_length=32)] = None,
    emotion: Annotated[
        str | None, Query(pattern=r"^[a-z_]{1,16}$", description="a label, or 'negative'")
    ] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="text in the redacted transcript")
    ] = None,
    include_erased: bool = False,
    close_call: Annotated[
        bool | None, Query(description="true: calls with a close call (the machine unsure)")
    ] = None,
    policy_id: Annotated[
        str | None, Query(pattern=ID_PATTERN, description="current verdict's")
    ] = None,
    driver_id: Annotated[
        str | None, Query(pattern=r"^d[0-9]{1,9}$", description="a discovered call driver")
    ] = None,
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> dict[str, Any]:
    """The tenant's calls, newest first: ``{items, next}``; pass ``next`` as ``cursor``."""
    filters = Filters(
        window(from_, to), agent, passed, topic, emotion, q or None, include_erased,
        close_call, policy_id, driver_id,
    )  # fmt: skip
    size = min(limit or services.settings.service.page_size, services.settings.service.page_size)
    with audited(services, principal, "call.search", None, filters.as_dict()):
        query = page_query(search_query(principal.tenant, filters), cursor, offset, size)
        with services.store.session() as session:
            calls = list(session.scalars(query))
        more = len(calls) > size
        calls = calls[:size]
        following = encode_cursor(calls[-1]) if more and calls else None
    return {"items": [summary(call) for call in calls], "next": following}


@router.get("/review/sample")
def review_sample(
    principal: Analyst,
    services: ServicesDep,
    size: Annotated[int, Query(ge=1, le=500)] = 20,
    random_share: Annotated[float, Query(ge=0.0, le=1.0)] = 0.2,
    policy_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=64)] = None,
    to: Annotated[str | None, Query(max_length=64)] = None,
    seed: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
) -> dict[str, Any]:
    """Unreviewed calls to review next: the machine's close calls first, and a
    ``random_share`` drawn at random from the rest; each item says ``why``."""
    from api.records.sampling import SampleRequest
    from api.records.sampling import review_sample as draw

    detail: dict[str, Any] = {"size": size, "random_share": random_share}
    with audited(services, principal, "review.sample", policy_id, detail):
        request = SampleRequest(size, random_share, window(from_, to), policy_id, seed)
        with services.store.session() as session:
            sample = draw(session, principal.tenant, request)
        detail.update(close_call=sample["close_call"], random=sample["random"])
    return sample


@router.get("/calls/{call_id}")
def read_call(call_id: CallId, principal: Reader, services: ServicesDep) -> dict[str, Any]:
    """The interaction record with its integrity block and review overrides."""
    with audited(services, principal, "call.read", call_id), services.store.session() as session:
        return _record(session, principal.tenant, stored(session, principal.tenant, call_id))


@router.get("/calls/{call_id}/audio", response_class=FileResponse)
def read_audio(call_id: CallId, principal: Reader, services: ServicesDep) -> FileResponse:
    """The redacted audio (WAV); the original upload is never served."""
    with audited(services, principal, "call.audio", call_id):
        with services.store.session() as session:
            found = stored(session, principal.tenant, call_id)
            name = found.call.redacted_audio_path if found.call is not None else None
        root = (services.settings.data_path / "audio").resolve()
        path = FilePath(name).resolve() if name else None
        if path is None or not path.is_relative_to(root) or not path.is_file():
            raise ApiError(404, f"call {call_id} has no redacted audio")
    return FileResponse(path, media_type="audio/wav", filename=f"{call_id}.wav")


def _rendered(call_id: str, principal: Principal, services: Services, fmt: str) -> Response:
    with audited(services, principal, f"call.{fmt}", call_id), services.store.session() as session:
        record = record_dict_of(session, principal.tenant, call_id)
    text = RENDERERS[fmt](record)
    return Response(
        text,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'inline; filename="{call_id}.{fmt}"'},
    )


def record_dict_of(session: Session, tenant: str, call_id: str) -> dict[str, Any]:
    """The stored record body (no review block): what the transcript formats need."""
    from api.store.ledger import record_dict

    return record_dict(stored(session, tenant, call_id).entry)


@router.get(
    "/calls/{call_id}/transcript.{fmt}",
    response_class=Response,
    responses={200: {"content": {t.split(";")[0]: {} for t in MEDIA_TYPES.values()}}},
)
def read_transcript(
    call_id: CallId,
    fmt: Annotated[Literal["vtt", "srt", "txt"], Path(description="vtt, srt or txt")],
    principal: Reader,
    services: ServicesDep,
) -> Response:
    """The transcript as WebVTT (voice tags), SubRip or plain text, lines labelled by role."""
    return _rendered(call_id, principal, services, fmt)


@router.get(
    "/calls/{call_id}/diarization.rttm",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
def read_rttm(call_id: CallId, principal: Reader, services: ServicesDep) -> Response:
    """Who spoke when, as NIST RTTM (file id: the call id)."""
    return _rendered(call_id, principal, services, "rttm")


@router.get(
    "/calls/{call_id}/timeline.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
def read_timeline(call_id: CallId, principal: Reader, services: ServicesDep) -> Response:
    """The call timeline picture (SVG): turns by speaker, overtalk, silence, customer emotion,
    compliance marks (as reviewed) and redacted spans; its root element's ``data-t0/t1/x0/x1``
    map x to time.
    """
    from pipelines.record.timeline import render_timeline

    with audited(services, principal, "call.timeline", call_id):
        with services.store.session() as session:
            record = _record(session, principal.tenant, stored(session, principal.tenant, call_id))
        svg = render_timeline(as_reviewed(with_current(record, record["rescores"])), "svg")
    return Response(
        svg,
        media_type="image/svg+xml",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'inline; filename="{call_id}.timeline.svg"',
            # opened on its own, the picture may style itself and nothing else
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/calls/{call_id}/review", status_code=201)
def review(
    call_id: CallId, body: ReviewIn, principal: Analyst, services: ServicesDep
) -> dict[str, Any]:
    """Override a check's verdict or the score, with a reason; answers the review block.

    A check's verdict is the current one: the newest re-score's, else the analysis'."""
    from api.store.ledger import append_review
    from api.store.verdicts import refresh_verdict

    detail: dict[str, Any] = {"rule_id": body.rule_id} if body.rule_id else {"score": True}
    with (
        audited(services, principal, "call.review", call_id, detail),
        services.store.session() as session,
    ):
        found = stored(session, principal.tenant, call_id)
        record = _record(session, principal.tenant, found)
        current = with_current(record, record["rescores"])
        overrides = record["review"]["overrides"]
        override = make_override(body, current, overrides, principal.name, datetime.now(UTC))
        entry = append_review(session, principal.tenant, call_id, override, services.signer)
        detail.update(value=override["value"], previous=override["previous"], seq=entry.seq)
        block = review_block(record.get("review"), [*overrides, {**override, "seq": entry.seq}])
        if found.call is not None:  # lists, search and analytics show the reviewed outcome
            score, passed = refresh_verdict(
                session, found.call, record, record["rescores"], block["overrides"]
            )
            block.update(score=score, passed=passed)
    return block


class RescoreIn(BaseModel):
    """``{policy_id, version?}``: the stored policy version (the newest when omitted)."""

    model_config = ConfigDict(extra="forbid")

    policy_id: str = Field(pattern=ID_PATTERN)
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)


@router.post("/calls/{call_id}/rescore", status_code=201)
def rescore_call(
    call_id: CallId, body: RescoreIn, principal: Analyst, services: ServicesDep
) -> dict[str, Any]:
    """Score the call's stored transcript against another policy or version, without
    re-transcribing; kept as a signed chain entry and shown in the record's ``rescores``.

    Answers ``{call_id, policy: {id, version, sha256}, score, passed, checks, changes}``
    (changes against the call's current verdict), plus the entry's ``seq``.
    """
    from api.jobs.rescore import keep_rescore, resolve_target, score_stored

    tenant = principal.tenant
    detail: dict[str, Any] = {"policy_id": body.policy_id, "version": body.version}
    with (
        audited(services, principal, "call.rescore", call_id, detail),
        services.store.session() as session,
    ):
        found = stored(session, tenant, call_id)
        if found.call is None:
            raise ApiError(409, f"call {call_id} has no call row to keep a verdict in")
        target = resolve_target(session, tenant, body.policy_id, body.version)
        checker = services.queue.compliance_checker()  # loaded once, on first use
        scored = score_stored(session, tenant, call_id, target, checker)
        answer = keep_rescore(session, found.call, scored, target, services.signer, principal.name)
        detail.update(version=target.version, seq=answer["seq"], changes=len(answer["changes"]))
    return answer


class EraseIn(BaseModel):
    reason: str = Field(min_length=1, max_length=MAX_REASON)


@router.delete("/calls/{call_id}")
def erase(
    call_id: CallId,
    principal: Admin,
    services: ServicesDep,
    reason: Annotated[str | None, Query(max_length=MAX_REASON)] = None,
    body: Annotated[EraseIn | None, Body()] = None,
) -> dict[str, Any]:
    """Erase a call (``?reason=`` or ``{"reason"}``): content and audio go, a tombstone stays."""
    from api.records.retention import erase_call_content
    from pipelines.pii.redactor import redact_text

    why = (reason if reason is not None else body.reason if body is not None else "").strip()
    why = redact_text(why)[0] if why else why
    detail: dict[str, Any] = {"reason": why}
    with audited(services, principal, "call.erase", call_id, detail):
        if not why:
            raise ApiError(422, 'reason: an erasure needs a reason (?reason= or {"reason": ...})')
        done = erase_call_content(
            services, principal.tenant, call_id, why, principal.name, datetime.now(UTC)
        )
        detail.update(done.as_dict())
    return done.as_dict()
