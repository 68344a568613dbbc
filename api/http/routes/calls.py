"""Uploads (``POST /v1/calls``) and job status (``GET /v1/jobs/{id}``).

An upload is streamed to the data directory, fsynced, sniffed (the file name and content
type are not trusted), and committed to the database with its job before the 202.
"""

from __future__ import annotations

import json
import logging
import math
import re
import uuid
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as DuplicateKey
from starlette.concurrency import run_in_threadpool

from api.http.deps import Services, ServicesDep, require
from api.http.errors import ApiError
from api.http.routes.health import UPLOADS
from api.http.upload import Upload, check_stored_audio, receive_upload
from api.jobs.intake import Intake, store_call
from api.jobs.leftovers import part_path
from api.store.audit import audit
from api.store.contacts import CALLER
from api.store.keys import Principal
from api.store.schema import Call, Job
from pipelines.core.types import LAYOUTS
from voice.containers import describe_non_audio, sniff
from voice.decode import RAW_FORMATS

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["calls"])

ID_PATTERN = r"^[0-9a-f]{32}$"
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,128}")
METADATA_KEYS = 64
Uploader = Annotated[Principal, Depends(require("ingest", "qa_analyst"))]
AnyRole = Annotated[Principal, Depends(require("admin", "qa_analyst", "auditor", "ingest"))]

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "metadata": {"type": "string", "description": "JSON object"},
                        "policy_id": {"type": "string"},
                        "layout": {"type": "string", "enum": list(LAYOUTS)},
                        "input_format": {"type": "string", "enum": list(RAW_FORMATS)},
                    },
                }
            }
        },
    }
}


class Accepted(BaseModel):
    call_id: str
    job_id: str


class JobStatus(BaseModel):
    job_id: str
    call_id: str
    kind: str = "analyze"  # analyze | rescore
    status: str
    step: str | None
    progress: float
    attempts: int
    error: str | None
    params: dict[str, Any] | None = None  # a re-score's request
    result: dict[str, Any] | None = None  # a re-score's report


def audio_dir(services: Services, tenant: str) -> FilePath:
    path = services.settings.data_path / "audio" / tenant
    path.mkdir(parents=True, exist_ok=True)
    return path


def _check_audio(upload: Upload, input_format: str | None) -> str:
    """The sniffed container format (or the declared raw format); 415 for anything else, 422
    for a header that does not parse or raw audio too short to use."""
    if upload.size == 0:
        raise ApiError(422, "the uploaded file is empty")
    found = sniff(upload.head)
    if found == "mp3" and input_format is not None and not upload.head.startswith(b"ID3"):
        found = None  # a bare MPEG frame sync is weak evidence next to a declared raw format
    if found is not None:
        check_stored_audio(upload, found)
        return found
    what = describe_non_audio(upload.head)
    if what is not None:
        raise ApiError(415, f"the upload is not audio (it looks like {what})")
    if input_format is not None:
        check_stored_audio(upload, input_format)
        return input_format
    raise ApiError(
        415,
        "unrecognised audio format; send WAV, FLAC, Ogg, Opus, MP3 or M4A, or declare "
        f"headerless audio with input_format ({', '.join(RAW_FORMATS)})",
    )


def _metadata(text: str | None) -> dict[str, Any]:
    """The upload's metadata: a flat JSON object of short values, personal data redacted.

    ``caller`` (the caller's number) is left in for `_caller_keys` to take out."""
    from pipelines.pii.redactor import redact_text

    if not text:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError(422, f"metadata is not valid JSON: {exc.msg}") from exc
    except ValueError as exc:  # an integer past Python's digit limit for int()
        raise ApiError(422, "metadata holds a number with too many digits") from exc
    except RecursionError as exc:
        raise ApiError(422, "metadata is nested too deeply") from exc
    if not isinstance(data, dict) or len(data) > METADATA_KEYS:
        raise ApiError(422, f"metadata must be a JSON object with at most {METADATA_KEYS} keys")
    clean: dict[str, Any] = {}
    for key, value in data.items():
        if len(key) > 64 or not key.isprintable():
            raise ApiError(422, "metadata keys are printable and at most 64 characters")
        if isinstance(value, float) and not math.isfinite(value):
            raise ApiError(422, f"metadata {key!r}: numbers are finite (no NaN or Infinity)")
        if isinstance(value, bool | int | float) or value is None:
            clean[key] = value
        elif key == CALLER and isinstance(value, str) and len(value) <= 256:
            clean[key] = value  # raw until _caller_keys turns it into a pseudonym
        elif isinstance(value, str) and len(value) <= 1024:
            clean[key] = redact_text(value)[0]
        else:
            raise ApiError(422, f"metadata {key!r}: values are numbers or strings <= 1024 chars")
    return clean


def _caller_keys(
    services: Services, tenant: str, metadata: dict[str, Any]
) -> tuple[tuple[str, str], ...]:
    """Take ``caller`` out of the metadata: its keyed pseudonym, never the number, is kept."""
    if CALLER not in metadata:
        return ()
    raw = metadata.pop(CALLER)
    if isinstance(raw, bool) or (raw is not None and not isinstance(raw, str | int)):
        raise ApiError(422, "metadata 'caller' is the caller's number or id as a string")
    keys = services.pseudonyms().caller_keys(tenant, raw) if raw is not None else ()
    metadata["caller_known"] = bool(keys)
    return keys


def _fields(upload: Upload) -> tuple[str | None, str | None, str | None]:
    layout = upload.fields.get("layout") or None
    if layout is not None and layout not in LAYOUTS:
        raise ApiError(422, f"layout must be one of {', '.join(LAYOUTS)}")
    input_format = upload.fields.get("input_format") or None
    if input_format is not None and input_format not in RAW_FORMATS:
        raise ApiError(422, f"input_format must be one of {', '.join(RAW_FORMATS)}")
    policy_id = upload.fields.get("policy_id") or None
    if policy_id is not None and (len(policy_id) > 64 or not policy_id.isprintable()):
        raise ApiError(422, "policy_id is at most 64 printable characters")
    return layout, input_format, policy_id


@router.post("/calls", status_code=202, openapi_extra=_UPLOAD_BODY)
async def upload_call(
    request: Request, response: Response, principal: Uploader, services: ServicesDep
) -> Accepted:
    """Store a recording and queue its analysis; answers once both are durable.

    With an ``Idempotency-Key`` header, a retry (after a lost answer) gets the first upload's
    call and job back, and stores nothing new (``Idempotent-Replayed: true``).
    """
    key = _idempotency_key(request.headers.get("idempotency-key"))
    if key is not None and (first := await _replayed(services, principal, key, response)):
        return first
    call_id = uuid.uuid4().hex
    folder = audio_dir(services, principal.tenant)
    partial = part_path(folder, call_id)
    try:
        upload = await receive_upload(
            request.headers.get("content-type"),
            request.stream(),
            partial,
            services.settings.service.max_upload_bytes,
        )
        layout, input_format, policy_id = _fields(upload)
        fmt = _check_audio(upload, input_format)
        metadata = _metadata(upload.fields.get("metadata"))
        contact_keys = _caller_keys(services, principal.tenant, metadata)
        final = folder / f"{call_id}.upload"
        partial.rename(final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    intake = Intake(
        call_id=call_id,
        tenant=principal.tenant,
        path=final,
        size=upload.size,
        format=fmt,
        filename=_safe_name(upload.filename),
        metadata=metadata,
        policy_id=policy_id,
        layout=layout,
        idempotency_key=key,
        contact_keys=contact_keys,
    )
    try:
        job_id = await run_in_threadpool(store_call, services, intake)
    except DuplicateKey:  # a concurrent retry with the same key stored its call first
        final.unlink(missing_ok=True)
        first = await _replayed(services, principal, key or "", response)
        if first is None:
            raise
        return first
    except BaseException:
        final.unlink(missing_ok=True)
        raise
    UPLOADS.inc()
    audit(services, principal, "call.upload", call_id, detail={"bytes": upload.size})
    return Accepted(call_id=call_id, job_id=job_id)


def _idempotency_key(value: str | None) -> str | None:
    if value is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(value):
        raise ApiError(422, "Idempotency-Key is 1 to 128 printable ASCII characters")
    return value


async def _replayed(
    services: Services, principal: Principal, key: str, response: Response
) -> Accepted | None:
    """The answer to a retry: the first upload's call, marked as replayed; None if new."""
    first = await run_in_threadpool(_first_upload, services, principal.tenant, key)
    if first is not None:
        response.headers["Idempotent-Replayed"] = "true"
    return first


def _first_upload(services: Services, tenant: str, key: str) -> Accepted | None:
    """The call (and its first job) an earlier upload with this key made, if any."""
    with services.store.session() as session:
        call_id = session.scalar(
            select(Call.id).where(Call.tenant == tenant, Call.idempotency_key == key)
        )
        if call_id is None:
            return None
        job_id = session.scalar(
            select(Job.id)
            .where(Job.tenant == tenant, Job.call_id == call_id)
            .order_by(Job.created_at)
            .limit(1)
        )
    return Accepted(call_id=call_id, job_id=job_id or "")


def _safe_name(name: str | None) -> str | None:
    if not name:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in base if ch.isprintable())[:255] or None


@router.get("/jobs/{job_id}")
def job_status(
    job_id: Annotated[str, Path(pattern=ID_PATTERN)], principal: AnyRole, services: ServicesDep
) -> JobStatus:
    """Where a job is: queued, running (with step and progress), done or failed."""
    with services.store.session() as session:
        job = session.get(Job, job_id)
        if job is None or job.tenant != principal.tenant:
            raise ApiError(404, f"no job {job_id}")
        return JobStatus(
            job_id=job.id,
            call_id=job.call_id,
            kind=job.kind,
            status=job.status,
            step=job.step,
            progress=round(job.progress, 3),
            attempts=job.attempts,
            error=job.error,
            params=job.params,
            result=job.result,
        )
