"""The FastAPI application: ``create_app()`` wires storage, signer, job queue and routers."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.http.deps import Services
from api.http.errors import install_error_handlers
from api.http.log_filters import install_secrets_filter
from api.http.request_timeouts import BodyIdleTimeout
from api.http.security_headers import SecurityHeaders
from api.store.db import Store, migrate
from api.store.keys import bootstrap_admin
from pipelines.core.settings import Settings, get_settings

logger = logging.getLogger(__name__)

API_VERSION = "1"


def open_store(settings: Settings) -> Store:
    """The configured store, migrated to the newest schema."""
    settings.data_path.mkdir(parents=True, exist_ok=True)
    store = Store(settings.resolved_database_url)
    migrate(store.engine)
    return store


def first_admin_key(settings: Settings) -> str | None:
    """On an empty store, create the first admin key; returns it when generated here."""
    store = open_store(settings)
    try:
        with store.session() as session:
            secret = settings.admin_key.get_secret_value() if settings.admin_key else None
            return bootstrap_admin(session, settings.tenant, secret)
    finally:
        store.dispose()


def open_services(settings: Settings, *, workers: int | None = None) -> Services:
    """Open the store (migrated), the signer and the queue; start in-process workers."""
    from api.jobs.leftovers import remove_stale_parts
    from api.jobs.runner import build_queue
    from api.store.integrity import load_signer
    from api.store.seals import seal_unsealed

    store = open_store(settings)
    signer = load_signer(settings)
    with store.session() as session:
        admin_key = settings.admin_key.get_secret_value() if settings.admin_key else None
        if admin_key:
            bootstrap_admin(session, settings.tenant, admin_key)
        seal_unsealed(session, signer)
    remove_stale_parts(settings.data_path / "audio")
    from api.live.hub import LiveHub
    from api.live.recovery import recover_live_calls
    from api.records.retention import RetentionSweeper

    services = Services(
        settings=settings,
        store=store,
        signer=signer,
        queue=build_queue(settings, store),
        live=LiveHub(settings, store, signer),
    )

    recover_live_calls(services)  # what a killed server was receiving live

    services.retention = RetentionSweeper(services)
    services.retention.start()
    threading.Thread(target=_warm_redactor, name="callqa-warm-pii", daemon=True).start()
    count = settings.service.workers if workers is None else workers
    if count > 0:
        from api.jobs.worker import start_embedded_workers

        services.workers = start_embedded_workers(settings, count, queue=services.queue)
    return services


def _warm_redactor() -> None:
    """Load the PII recognizers now (about 20 s), not in the first upload's request."""
    from pipelines.pii.redactor import redact_text

    redact_text("")


def close_services(services: Services) -> None:
    services.live.close()
    if services.retention is not None:
        services.retention.stop()
    if services.workers is not None:
        services.workers.stop()
    services.queue.close()
    services.store.dispose()


def create_app(
    settings: Settings | None = None,
    *,
    workers: int | None = None,
    services: Services | None = None,
) -> FastAPI:
    """The callqa API. ``workers`` overrides ``CALLQA_SERVICE__WORKERS`` (0: queue only).

    ``services`` already opened (tests, benchmarks) are used as they are and left open.
    """
    from api.http.routes import (
        analytics,
        audit_export,
        calls,
        health,
        insights,
        keys,
        policies,
        records,
        stream,
        vocabulary,
        web,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if services is not None:
            app.state.services = services
            yield
            return
        opened = open_services(settings or get_settings(), workers=workers)
        app.state.services = opened
        try:
            yield
        finally:
            close_services(opened)

    app = FastAPI(
        title="callqa",
        version=API_VERSION,
        summary="Call-center QA: interaction records, compliance, audit and export.",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI and ReDoc load their scripts from a CDN; the schema stays
        redoc_url=None,
    )
    install_secrets_filter()  # uvicorn logs request lines with their ?token=
    install_error_handlers(app)
    app.add_middleware(SecurityHeaders)

    def body_idle_timeout_s() -> float:
        opened: Services | None = getattr(app.state, "services", None)
        current = opened.settings if opened is not None else settings or get_settings()
        return current.service.body_idle_timeout_s

    app.add_middleware(BodyIdleTimeout, timeout_s=body_idle_timeout_s)
    routers = (
        health,
        keys,
        calls,
        records,
        policies,
        vocabulary,
        analytics,
        insights,
        audit_export,
    )
    for module in (*routers, stream, web):
        app.include_router(module.router)
    app.mount("/static", web.page_files(), name="static")
    return app
