"""Audit a route's work with its outcome: ``ok``, or the code of the error it answered."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from api.auth import Principal
from api.deps import Services, audit
from api.http_errors import ApiError


@contextmanager
def audited(
    services: Services,
    principal: Principal,
    action: str,
    target: str | None,
    detail: dict[str, Any] | None = None,
) -> Iterator[None]:
    """Append one audit entry for the block: result ``ok`` or the ApiError's code.

    ``detail`` is read when the block ends, so the block may add to it.
    """
    try:
        yield
    except ApiError as exc:
        audit(services, principal, action, target, exc.code, detail)
        raise
    audit(services, principal, action, target, "ok", detail)
