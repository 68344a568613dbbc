"""Compliance policies of a tenant: YAML or JSON documents, versioned, never overwritten.

``PUT /v1/policies/{id}`` validates the document
(``pipelines.compliance.policy.parse_policy``) and stores it as the next version with the
SHA-256 of the bytes sent; sending the newest version's bytes again stores nothing and answers
that version. Uploads name a policy by id and get its newest version at upload time.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import yaml
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError as DatabaseIntegrityError
from starlette.concurrency import run_in_threadpool

from api.http.auditing import audited
from api.http.deps import Services, ServicesDep, require
from api.http.errors import ApiError
from api.records.search import iso_z
from api.store.audit import audit
from api.store.keys import Principal
from api.store.schema import Policy
from pipelines.compliance.policy import ID_PATTERN
from pipelines.core.errors import PolicyError

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/policies", tags=["policies"])

POLICY_ID = ID_PATTERN
PolicyId = Annotated[str, Path(pattern=POLICY_ID, description="letters, digits, '_', '-', '.'")]
Editor = Annotated[Principal, Depends(require("qa_analyst", "admin"))]
Analyst = Annotated[Principal, Depends(require("qa_analyst"))]
MAX_POLICY_BYTES = 256 * 1024
MAX_LISTED = 1000
YAML_TYPES = frozenset({"application/yaml", "text/yaml", "application/x-yaml", "text/x-yaml"})
JSON_TYPES = frozenset({"application/json"})

_PUT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}


def _listed(row: Policy) -> dict[str, Any]:
    return {
        "id": row.id,
        "version": row.version,
        "sha256": row.sha256,
        "created_at": iso_z(row.created_at),
        "created_by": row.created_by,
    }


@router.get("")
def list_policies(
    principal: Editor,
    services: ServicesDep,
    id: Annotated[str | None, Query(pattern=POLICY_ID, description="every version of this id")] = (
        None
    ),
) -> dict[str, Any]:
    """The newest version of each policy, or (``?id=``) every version of one, newest first."""
    tenant = principal.tenant
    if id is not None:
        query = select(Policy).where(Policy.tenant == tenant, Policy.id == id)
        query = query.order_by(Policy.version.desc())
    else:
        newest = (
            select(Policy.id, func.max(Policy.version).label("version"))
            .where(Policy.tenant == tenant)
            .group_by(Policy.id)
            .subquery()
        )
        query = (
            select(Policy)
            .join(newest, (Policy.id == newest.c.id) & (Policy.version == newest.c.version))
            .where(Policy.tenant == tenant)
            .order_by(Policy.id)
        )
    with audited(services, principal, "policy.list", id):
        with services.store.session() as session:
            items = [_listed(row) for row in session.scalars(query.limit(MAX_LISTED))]
        if id is not None and not items:
            raise ApiError(404, f"no policy {id!r}")
    return {"items": items}


@router.get("/{policy_id}")
def read_policy(
    policy_id: PolicyId,
    principal: Editor,
    services: ServicesDep,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> dict[str, Any]:
    """One version of a policy (the newest by default) with its source as uploaded."""
    query = select(Policy).where(Policy.tenant == principal.tenant, Policy.id == policy_id)
    if version is not None:
        query = query.where(Policy.version == version)
    query = query.order_by(Policy.version.desc()).limit(1)
    with audited(services, principal, "policy.read", policy_id, {"version": version}):
        with services.store.session() as session:
            row = session.scalars(query).first()
        if row is None:
            which = f"version {version} of " if version is not None else ""
            raise ApiError(404, f"no {which}policy {policy_id!r}")
        try:
            document = yaml.safe_load(row.source)
        except yaml.YAMLError:  # stored sources were validated; this is only a fallback
            document = None
    return {**_listed(row), "source": row.source, "document": document}


def _format(content_type: str | None) -> Literal["yaml", "json"]:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in YAML_TYPES:
        return "yaml"
    if media in JSON_TYPES:
        return "json"
    raise ApiError(415, "send the policy as application/yaml (or text/yaml) or application/json")


async def _read_capped(request: Request) -> bytes:
    """The request body, 413 beyond ``MAX_POLICY_BYTES`` (read no further than that)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_POLICY_BYTES:
        raise ApiError(413, f"a policy is at most {MAX_POLICY_BYTES // 1024} KiB")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_POLICY_BYTES:
            raise ApiError(413, f"a policy is at most {MAX_POLICY_BYTES // 1024} KiB")
    return bytes(data)


def _store_version(
    services: Services, tenant: str, policy_id: str, source: str, sha256: str, by: str
) -> tuple[Policy, bool]:
    """The stored version for ``source``: the newest when identical, else a new one."""
    for _attempt in range(3):
        try:
            with services.store.session() as session:
                newest = session.scalars(
                    select(Policy)
                    .where(Policy.tenant == tenant, Policy.id == policy_id)
                    .order_by(Policy.version.desc())
                    .limit(1)
                ).first()
                if newest is not None and newest.sha256 == sha256:
                    return newest, False
                row = Policy(
                    tenant=tenant,
                    id=policy_id,
                    version=(newest.version + 1) if newest is not None else 1,
                    created_at=datetime.now(UTC),
                    created_by=by,
                    sha256=sha256,
                    source=source,
                )
                session.add(row)
            return row, True
        except DatabaseIntegrityError:  # another writer took that version number
            logger.info("policy %s: version taken concurrently; retrying", policy_id)
    raise ApiError(409, f"policy {policy_id!r} is being changed by someone else; try again")


MAX_DEPTH = 32


def _check_yaml(text: str) -> None:
    """Refuse YAML aliases (they can expand a small document into billions of nodes) and
    deep nesting; syntax errors are left for ``parse_policy`` to describe."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise ApiError(422, f"policy {event.anchor!r}: YAML aliases are not accepted")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise ApiError(422, f"policy: nested deeper than {MAX_DEPTH} levels")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return


def _put(
    services: Services,
    principal: Principal,
    policy_id: str,
    fmt: Literal["yaml", "json"],
    data: bytes,
) -> dict[str, Any]:
    from pipelines.compliance.policy import parse_policy

    detail: dict[str, Any] = {"bytes": len(data)}
    with audited(services, principal, "policy.write", policy_id, detail):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ApiError(422, "the policy is not UTF-8 text") from exc
        if fmt == "yaml":
            _check_yaml(text)
        try:
            policy = parse_policy(text, source=policy_id, format=fmt)
        except PolicyError as exc:
            raise ApiError(422, " ".join(str(exc).split())) from exc
        except RecursionError as exc:
            raise ApiError(422, f"policy: nested deeper than {MAX_DEPTH} levels") from exc
        if policy.id != policy_id:
            raise ApiError(422, f"the document's id {policy.id!r} differs from {policy_id!r}")
        sha256 = hashlib.sha256(data).hexdigest()
        row, created = _store_version(
            services, principal.tenant, policy_id, text, sha256, principal.name
        )
        detail.update(version=row.version, sha256=sha256, created=created)
    return {
        "id": row.id,
        "version": row.version,
        "sha256": row.sha256,
        "created": created,
        "policy_version": policy.version,
        "policy_sha256": policy.sha256,
    }


@router.put("/{policy_id}", openapi_extra=_PUT_BODY)
async def put_policy(
    policy_id: PolicyId,
    request: Request,
    response: Response,
    principal: Editor,
    services: ServicesDep,
) -> dict[str, Any]:
    """Validate and store a policy as its next version; 201 when a version was added, 200
    when the newest version already has these bytes."""
    try:
        fmt = _format(request.headers.get("content-type"))
        data = await _read_capped(request)
    except ApiError as exc:
        await run_in_threadpool(
            audit, services, principal, "policy.write", policy_id, exc.code, None
        )
        raise
    answer = await run_in_threadpool(_put, services, principal, policy_id, fmt, data)
    response.status_code = 201 if answer["created"] else 200
    return answer


class PolicyRescoreIn(BaseModel):
    """``{version?, from?, to?, dry_run}``: which stored calls, against which version."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    version: int | None = Field(default=None, ge=1, le=2**31 - 1)
    from_: str | None = Field(default=None, alias="from", max_length=64)
    to: str | None = Field(default=None, max_length=64)
    dry_run: bool


@router.post("/{policy_id}/rescore", status_code=202)
def rescore_policy(
    policy_id: PolicyId, body: PolicyRescoreIn, principal: Analyst, services: ServicesDep
) -> dict[str, Any]:
    """Re-score every stored call whose current verdict is of this policy (created in
    ``[from, to)``) against ``version`` (the newest when omitted), as a durable job; a dry run
    stores nothing and reports how many verdicts and which rules would change, with example
    calls. Answers ``{job_id, status_url}``; the report is the job's ``result``."""
    from api.jobs.queue import enqueue, new_job
    from api.jobs.rescore import resolve_target
    from api.records.search import window

    detail: dict[str, Any] = {"policy_id": policy_id, "dry_run": body.dry_run}
    with audited(services, principal, "policy.rescore", policy_id, detail):
        win = window(body.from_, body.to)
        with services.store.session() as session:
            target = resolve_target(session, principal.tenant, policy_id, body.version)
            params: dict[str, object] = {
                "policy_id": policy_id,
                "version": target.version,
                **win.as_dict(),
                "dry_run": body.dry_run,
                "by": principal.name,
            }
            job = new_job(session, principal.tenant, "", kind="rescore", params=params)
            job_id = job.id
        detail.update(version=target.version, job_id=job_id, **win.as_dict())
        enqueue(services.queue, job_id)
    return {"job_id": job_id, "status_url": f"/v1/jobs/{job_id}"}
