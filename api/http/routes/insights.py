"""What the contact center learns from its calls: call drivers, early warnings, first-contact
resolution and the fairness report (`api.records.insights`, `alerts`, `fairness`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.http.auditing import audited
from api.http.deps import ServicesDep, require
from api.records.fairness import FairnessGroup, FairnessOptions
from api.records.insights import FcrGroup
from api.records.search import window
from api.store.keys import Principal

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])

Analyst = Annotated[Principal, Depends(require("qa_analyst"))]
Reader = Annotated[Principal, Depends(require("qa_analyst", "auditor"))]
From = Annotated[str | None, Query(alias="from", max_length=64)]
To = Annotated[str | None, Query(max_length=64)]
DEFAULTS = FairnessOptions()


@router.get("/drivers")
def drivers(
    principal: Analyst, services: ServicesDep, from_: From = None, to: To = None
) -> dict[str, Any]:
    """Discovered call drivers, largest first: ``{drivers: [{id, label, terms, calls, share,
    trend, examples}], topics, unplaced, without_reason}``."""
    from api.records.insights import drivers_report

    detail: dict[str, Any] = {}
    with audited(services, principal, "analytics.drivers", None, detail):
        win = window(from_, to)
        with services.store.session() as session:
            report = drivers_report(session, principal.tenant, win)
        detail.update(calls=report["calls"], drivers=len(report["drivers"]))
    return report


@router.get("/alerts")
def alerts(
    principal: Analyst, services: ServicesDep, from_: From = None, to: To = None
) -> dict[str, Any]:
    """Volume spikes per driver and topic (a monthly one flagged ``recurring``) and rate jumps
    per agent, topic and driver, newest first; the last 30 days unless ``from``/``to``."""
    from api.records.alerts import alerts_report

    detail: dict[str, Any] = {}
    with audited(services, principal, "analytics.alerts", None, detail):
        win = window(from_, to)
        with services.store.session() as session:
            report = alerts_report(session, principal.tenant, win)
        detail.update(alerts=len(report["alerts"]))
    return report


@router.get("/fcr")
def fcr(
    principal: Analyst,
    services: ServicesDep,
    group_by: FcrGroup = "day",
    from_: From = None,
    to: To = None,
) -> dict[str, Any]:
    """First-contact resolution per agent, topic, driver or day: resolved by the call's summary
    and no repeat contact by the same customer within the repeat window."""
    from api.records.insights import fcr_report

    detail: dict[str, Any] = {"group_by": group_by}
    with audited(services, principal, "analytics.fcr", None, detail):
        win = window(from_, to)
        days = services.settings.service.repeat_window_days
        with services.store.session() as session:
            report = fcr_report(session, principal.tenant, win, group_by, days)
        detail.update(calls=report["overall"]["calls"])
    return report


@router.get("/fairness")
def fairness(
    principal: Reader,
    services: ServicesDep,
    group_by: FairnessGroup = "language",
    from_: From = None,
    to: To = None,
    margin: Annotated[float, Query(gt=0, le=1)] = DEFAULTS.margin,
    min_calls: Annotated[int, Query(ge=1, le=100_000)] = DEFAULTS.min_calls,
) -> dict[str, Any]:
    """Per group: calls, ASR confidence, pass, escalation and override rates, and ``flags``
    where a group differs from the rest by more than the margin."""
    from api.records.fairness import fairness_report

    detail: dict[str, Any] = {"group_by": group_by}
    with audited(services, principal, "analytics.fairness", None, detail):
        win = window(from_, to)
        options = FairnessOptions(margin=margin, min_calls=min_calls)
        with services.store.session() as session:
            report = fairness_report(session, principal.tenant, win, group_by, options)
        detail.update(groups=len(report["groups"]))
    return report
