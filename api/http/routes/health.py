"""Liveness and Prometheus metrics (no authentication).

``callqa_alerts`` counts each tenant's early warnings of the last two days by kind (volume,
rate) and dimension (driver, topic, agent): counts only, no keys (agents' names stay behind
authentication). They are computed at most once per ``ALERTS_EVERY_S``."""

from __future__ import annotations

import threading
import time

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, generate_latest
from sqlalchemy import func, select, text

from api.http.deps import ServicesDep
from api.store.schema import Job

router = APIRouter(tags=["health"])

UPLOADS = Counter("callqa_uploads_total", "Recordings accepted for analysis")
EXPORTS = Counter("callqa_exports_total", "Export bundles streamed to the end")
JOBS = Gauge("callqa_jobs", "Jobs by status", ["status"])
ALERTS = Gauge(
    "callqa_alerts", "Early warnings of the last two days", ["tenant", "kind", "dimension"]
)
ALERTS_EVERY_S = 300.0
_alerts_lock = threading.Lock()
_alerts_at = [float("-inf")]


@router.get("/healthz")
def healthz(services: ServicesDep) -> dict[str, str]:
    """Liveness: the store answers."""
    with services.store.session() as session:
        session.execute(text("SELECT 1"))
    return {"status": "ok"}


@router.get("/metrics", response_class=Response)
def metrics(services: ServicesDep) -> Response:
    """Prometheus text format."""
    with services.store.session() as session:
        counts = dict(session.execute(select(Job.status, func.count()).group_by(Job.status)).all())
    for status in ("queued", "running", "done", "failed"):
        JOBS.labels(status).set(counts.get(status, 0))
    _refresh_alerts(services)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _refresh_alerts(services: ServicesDep) -> None:
    from api.records.alerts import active_alert_counts

    with _alerts_lock:
        if time.monotonic() - _alerts_at[0] < ALERTS_EVERY_S:
            return
        with services.store.session() as session:
            counts = active_alert_counts(session)
        ALERTS.clear()
        for (tenant, kind, dimension), n in counts.items():
            ALERTS.labels(tenant, kind, dimension).set(n)
        _alerts_at[0] = time.monotonic()
