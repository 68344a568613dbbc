"""Aggregates over the calls' summary columns: one SQL ``GROUP BY`` on SQLite or PostgreSQL.

Only calls with a stored record (status ``done``) count. ``pass_rate`` is over the calls scored
against a policy, ``negative_emotion_rate`` over the calls with a customer emotion, and
``handle_time`` is the mean call duration in seconds.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import InstrumentedAttribute

from api.http.auditing import audited
from api.http.deps import ServicesDep, require
from api.http.errors import ApiError
from api.records.search import in_window, window
from api.store.keys import Principal
from api.store.schema import Call
from pipelines.compliance.policy import ID_PATTERN

router = APIRouter(prefix="/v1", tags=["analytics"])

Analyst = Annotated[Principal, Depends(require("qa_analyst"))]
Reader = Annotated[Principal, Depends(require("qa_analyst", "auditor"))]
GroupBy = Literal["day", "agent", "topic"]
METRICS = ("volume", "pass_rate", "negative_emotion_rate", "handle_time")
MAX_GROUPS = 1000


def parse_metrics(text: str | None) -> tuple[str, ...]:
    """``metric=a,b`` as a tuple in the canonical order; all of them when omitted."""
    if text is None or not text.strip():
        return METRICS
    asked = {part.strip() for part in text.split(",") if part.strip()}
    unknown = sorted(asked - set(METRICS))
    if unknown:
        raise ApiError(422, f"metric: unknown {', '.join(unknown)}; one of {', '.join(METRICS)}")
    return tuple(m for m in METRICS if m in asked)


def _rate(column: Any) -> ColumnElement[Any]:
    """1.0 for true, 0.0 for false, NULL for unknown: its average is the rate."""
    return case((column.is_(True), 1.0), (column.is_(False), 0.0), else_=None)


def group_key(group_by: str, dialect: str) -> ColumnElement[Any] | InstrumentedAttribute[Any]:
    """The grouping expression; days are UTC calendar days on both databases."""
    if group_by == "agent":
        return Call.agent
    if group_by == "topic":
        return Call.topic
    if dialect == "postgresql":
        return func.date(func.timezone("UTC", Call.created_at))
    return func.date(Call.created_at)  # SQLite stores UTC text: date() takes its day


def _value(name: str, row: Any) -> float | int | None:
    if name == "volume":
        return int(row.volume)
    value = getattr(row, name)
    if value is None:
        return None
    return round(float(value), 4 if name.endswith("rate") else 3)


@router.get("/analytics")
def analytics(
    principal: Analyst,
    services: ServicesDep,
    group_by: GroupBy = "day",
    metric: Annotated[
        str | None, Query(max_length=200, description=f"one or more of {', '.join(METRICS)}")
    ] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=64)] = None,
    to: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_GROUPS)] = 100,
) -> dict[str, Any]:
    """Volume, pass rate, negative-emotion rate and handle time per day, agent or topic.

    Days come oldest first; agents and topics by volume, largest first.
    """
    detail: dict[str, Any] = {"group_by": group_by}
    with audited(services, principal, "analytics.read", None, detail):
        metrics = parse_metrics(metric)
        win = window(from_, to)
        detail.update(metrics=list(metrics), **{k: v for k, v in win.as_dict().items() if v})
        key = group_key(group_by, services.store.engine.dialect.name).label("key")
        volume = func.count().label("volume")
        query = in_window(
            select(
                key,
                volume,
                func.avg(_rate(Call.passed)).label("pass_rate"),
                func.avg(_rate(Call.negative_emotion)).label("negative_emotion_rate"),
                func.avg(Call.duration_s).label("handle_time"),
            ).where(Call.tenant == principal.tenant, Call.status == "done"),
            win,
        ).group_by(key)
        order = (key,) if group_by == "day" else (volume.desc(), key)
        query = query.order_by(*order)
        with services.store.session() as session:
            rows = session.execute(query.limit(limit)).all()
    groups: list[dict[str, Any]] = [
        {"key": None if row.key is None else str(row.key)}
        | {name: _value(name, row) for name in metrics}
        for row in rows
    ]
    return {"group_by": group_by, "metrics": list(metrics), **win.as_dict(), "groups": groups}


@router.get("/analytics/agreement")
def agreement(
    principal: Reader,
    services: ServicesDep,
    policy_id: Annotated[str, Query(pattern=ID_PATTERN)],
    from_: Annotated[str | None, Query(alias="from", max_length=64)] = None,
    to: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """Per rule of the policy, over the reviewed calls: how many, the share where the machine
    agreed with the reviewer, Cohen's kappa, false passes and fails, and a suggested threshold
    with the agreement it would have had; ``low_agreement`` names the rules to look at."""
    from api.records.agreement import agreement_report

    detail: dict[str, Any] = {"policy_id": policy_id}
    with audited(services, principal, "analytics.agreement", policy_id, detail):
        win = window(from_, to)
        with services.store.session() as session:
            report = agreement_report(session, principal.tenant, policy_id, win)
        detail.update(reviewed_calls=report["reviewed_calls"], low=report["low_agreement"])
    return report
