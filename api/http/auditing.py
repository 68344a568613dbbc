"""Audit a route's work with its outcome: ``ok``, or the code of the error it answered."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from api.http.deps import Services
from api.http.errors import ApiError, answer_of
from api.store.audit import audit
from api.store.keys import Principal
from pipelines.core.errors import CallQAError


@contextmanager
def audited(
    services: Services,
    principal: Principal,
    action: str,
    target: str | None,
    detail: dict[str, Any] | None = None,
) -> Iterator[None]:
    """Append one audit entry for the block: result ``ok`` or the code of the error answered.

    ``detail`` is read when the block ends, so the block may add to it.
    """
    try:
        yield
    except (ApiError, CallQAError) as exc:
        audit(services, principal, action, target, answer_of(exc)[1], detail)
        raise
    audit(services, principal, action, target, "ok", detail)
