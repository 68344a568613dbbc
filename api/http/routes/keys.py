"""API keys: created by admins, shown once, stored hashed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.http.deps import ServicesDep, require
from api.http.errors import ApiError
from api.store.audit import audit
from api.store.keys import ROLES, Principal, create_key
from api.store.schema import ApiKey

router = APIRouter(prefix="/v1/keys", tags=["keys"])

NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
Admin = Annotated[Principal, Depends(require("admin"))]


class KeyIn(BaseModel):
    name: str = Field(pattern=NAME)
    roles: list[str] = Field(min_length=1, max_length=4)
    tenant: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")


class KeyOut(BaseModel):
    name: str
    tenant: str
    roles: list[str]
    key: str


class KeyListed(BaseModel):
    name: str
    roles: list[str]
    created_at: str | None
    created_by: str | None
    revoked_at: str | None


@router.get("")
def list_keys(principal: Admin, services: ServicesDep) -> dict[str, list[KeyListed]]:
    """The keys of the admin's tenant, newest first (names and roles; never a key)."""
    from api.records.search import iso_z

    with services.store.session() as session:
        rows = session.scalars(
            select(ApiKey)
            .where(ApiKey.tenant == principal.tenant)
            .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
        ).all()
        items = [
            KeyListed(
                name=row.name,
                roles=sorted(row.roles.split(",")),
                created_at=iso_z(row.created_at),
                created_by=row.created_by,
                revoked_at=iso_z(row.revoked_at),
            )
            for row in rows
        ]
    audit(services, principal, "key.list", None, detail={"count": len(items)})
    return {"items": items}


@router.post("", status_code=201)
def create(body: KeyIn, principal: Admin, services: ServicesDep) -> KeyOut:
    """A new key for ``tenant`` (default: the admin's own); the key is shown only here.

    Admins of the operator tenant (``CALLQA_TENANT``) may create keys for any tenant.
    """
    unknown = sorted(set(body.roles) - set(ROLES))
    if unknown:
        raise ApiError(422, f"unknown roles {unknown}; roles are {list(ROLES)}")
    tenant = body.tenant or principal.tenant
    if tenant != principal.tenant and principal.tenant != services.settings.tenant:
        raise ApiError(403, "only the operator tenant's admins create keys for other tenants")
    with services.store.session() as session:
        named = select(ApiKey.id).where(ApiKey.tenant == tenant, ApiKey.name == body.name)
        if session.scalar(named) is not None:
            raise ApiError(409, f"tenant {tenant!r} has a key named {body.name!r}")
        key = create_key(session, body.name, tenant, body.roles, created_by=principal.name)
    audit(services, principal, "key.create", body.name, detail={"tenant": tenant})
    return KeyOut(name=body.name, tenant=tenant, roles=sorted(set(body.roles)), key=key)


@router.delete("/{name}", status_code=204)
def revoke(
    name: Annotated[str, Path(pattern=NAME)], principal: Admin, services: ServicesDep
) -> None:
    """Revoke a key of the admin's tenant (it stops working at once)."""
    with services.store.session() as session:
        row = session.scalar(
            select(ApiKey).where(ApiKey.name == name, ApiKey.tenant == principal.tenant)
        )
        if row is None or row.revoked_at is not None:
            raise ApiError(404, f"no key named {name!r}")
        row.revoked_at = datetime.now(UTC)
    audit(services, principal, "key.revoke", name)
