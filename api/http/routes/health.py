"""Liveness and Prometheus metrics (no authentication)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, generate_latest
from sqlalchemy import func, select, text

from api.http.deps import ServicesDep
from api.store.schema import Job

router = APIRouter(tags=["health"])

UPLOADS = Counter("callqa_uploads_total", "Recordings accepted for analysis")
EXPORTS = Counter("callqa_exports_total", "Export bundles streamed to the end")
JOBS = Gauge("callqa_jobs", "Jobs by status", ["status"])


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
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
