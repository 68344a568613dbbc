"""Request dependencies: the services of the app, the caller's principal, role checks, audit."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from api.http.errors import ApiError
from api.jobs.queue import JobQueue
from api.live.hub import LiveHub
from api.store.contacts import Pseudonyms, load_master_key
from api.store.db import Store
from api.store.integrity import Signer
from api.store.keys import Principal, lookup_key
from pipelines.core.settings import Settings

if TYPE_CHECKING:  # started after the services exist (their threads take them)
    from api.jobs.worker import EmbeddedWorkers
    from api.records.retention import RetentionSweeper

logger = logging.getLogger(__name__)

AUTH_FAILURES_PER_MINUTE = 30


@dataclass
class Services:
    """What the routes share: settings, the store, the signer and the job queue, and what
    runs beside them (in-process workers, the retention sweep, the live calls). It is the
    `api.store.storage.Storage` and `api.jobs.intake.JobStorage` the rooms below take."""

    settings: Settings
    store: Store
    signer: Signer
    queue: JobQueue
    live: LiveHub
    workers: EmbeddedWorkers | None = None
    retention: RetentionSweeper | None = None
    failures: dict[str, deque[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _pseudonyms: Pseudonyms | None = None

    def pseudonyms(self) -> Pseudonyms:
        """The keyed pseudonyms of callers (the master key read, or made, once)."""
        with self.lock:
            if self._pseudonyms is None:
                self._pseudonyms = Pseudonyms(load_master_key(self.settings))
            return self._pseudonyms

    def note_auth_failure(self, origin: str) -> bool:
        """Count a failed sign-in from ``origin``; True when it is over the limit."""
        now = time.monotonic()
        with self.lock:
            recent = self.failures.setdefault(origin, deque())
            while recent and now - recent[0] > 60:
                recent.popleft()
            recent.append(now)
            if len(self.failures) > 10_000:  # a flood of origins must not grow memory
                self.failures.clear()
            return len(recent) > AUTH_FAILURES_PER_MINUTE


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def origin_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def authenticate(services: Services, token: str | None, origin: str) -> Principal:
    """The principal of an API key, or a 401 (429 after too many failures from one origin)."""
    if token is None:
        raise ApiError(401, "an API key is required: Authorization: Bearer <key>")
    if len(token) > 512:
        raise ApiError(401, "the API key is not valid")
    with services.store.session() as session:
        principal = lookup_key(session, token, origin)
    if principal is None:
        if services.note_auth_failure(origin):
            raise ApiError(429, "too many failed sign-ins; wait a minute")
        raise ApiError(401, "the API key is not valid")
    return principal


def current_principal(request: Request, services: ServicesDep) -> Principal:
    return authenticate(services, bearer_token(request), origin_of(request))


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency that lets in keys holding any of ``roles``."""

    def check(principal: PrincipalDep) -> Principal:
        if not principal.has_any(roles):
            raise ApiError(403, f"this needs the role {' or '.join(roles)}")
        return principal

    return check
