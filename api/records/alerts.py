"""Early warnings over a tenant's stored calls (`pipelines.analytics.alerts` does the judging).

The window defaults to the last ``DEFAULT_DAYS`` days up to now (at most ``MAX_DAYS``, else
422); each series also reads
``HISTORY_DAYS`` before it (the weekday baseline and earlier months' spikes). Volume: calls per
UTC day per driver and per configured topic, every series starting on the tenant's first day
in that range (a driver or topic silent so far counts zeros, so a new one surging is news).
Rates: per agent, topic and driver, the share of calls with a negative customer emotion and
the share that failed their policy, last ``recent_days`` against before.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.records.search import Window, in_window
from api.store.integrity import as_utc
from api.store.schema import Call, Driver
from pipelines.analytics.alerts import DEFAULT_OPTIONS, AlertOptions, rate_alerts, volume_alerts
from pipelines.core.errors import InvalidRequestError

DEFAULT_DAYS = 30
MAX_DAYS = 366  # a longer window is refused: every day of it is judged per key
EARLIEST = date(1970, 1, 1)
HISTORY_DAYS = 124  # eight weeks of weekdays, and the same day of the last four months


def alert_window(win: Window, now: datetime | None = None) -> tuple[date, date]:
    """The first and last UTC day judged."""
    end = as_utc(win.end) - timedelta(microseconds=1) if win.end else now or datetime.now(UTC)
    if end.date() < EARLIEST + timedelta(days=HISTORY_DAYS + DEFAULT_DAYS):
        raise InvalidRequestError(f"alerts: 'to' must be after {EARLIEST.isoformat()}")
    start = as_utc(win.start) if win.start else end - timedelta(days=DEFAULT_DAYS - 1)
    if (end.date() - start.date()).days >= MAX_DAYS:
        raise InvalidRequestError(f"alerts: a window of at most {MAX_DAYS} days")
    return start.date(), end.date()


def alerts_report(
    session: Session,
    tenant: str,
    win: Window,
    options: AlertOptions = DEFAULT_OPTIONS,
    now: datetime | None = None,
) -> dict[str, Any]:
    start, end = alert_window(win, now)
    first = start - timedelta(days=HISTORY_DAYS)
    reading = Window(
        datetime.combine(first, datetime.min.time(), UTC),
        datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC),
    )
    rows = session.execute(
        in_window(
            select(
                Call.created_at,
                Call.driver_id,
                Call.topic,
                Call.agent,
                Call.negative_emotion,
                Call.passed,
            ).where(Call.tenant == tenant, Call.status == "done"),
            reading,
        )
    ).all()
    labels = dict(
        session.execute(select(Driver.id, Driver.label).where(Driver.tenant == tenant)).all()
    )
    volumes: dict[tuple[str, str], Counter[date]] = defaultdict(Counter)
    outcomes: dict[tuple[str, str, str], list[tuple[date, bool]]] = defaultdict(list)
    days = [as_utc(row.created_at).date() for row in rows]
    for day, row in zip(days, rows, strict=True):
        keys = {"driver": row.driver_id, "topic": row.topic, "agent": row.agent}
        for dimension in ("driver", "topic"):
            if keys[dimension] is not None:
                volumes[(dimension, keys[dimension])][day] += 1
        for dimension, key in keys.items():
            if key is None:
                continue
            if row.negative_emotion is not None:
                outcomes[(dimension, key, "negative_emotion_rate")].append(
                    (day, bool(row.negative_emotion))
                )
            if row.passed is not None:
                outcomes[(dimension, key, "failure_rate")].append((day, not row.passed))
    alerts: list[dict[str, Any]] = []
    series_start = min(days, default=start)
    for (dimension, key), counts in sorted(volumes.items()):
        counts.setdefault(series_start, 0)
        for found in volume_alerts(dimension, key, counts, start, end, options):
            alerts.append(found.to_dict())
    for (dimension, key, metric), seen in sorted(outcomes.items()):
        for rate in rate_alerts(dimension, key, seen, start, end, metric, options):
            alerts.append(rate.to_dict())
    for alert in alerts:
        if alert["dimension"] == "driver":
            alert["label"] = labels.get(alert["key"])
    alerts.sort(
        key=lambda a: (str(a.get("day") or a.get("end")), a["kind"], a["key"]), reverse=True
    )
    return {"from": start.isoformat(), "to": end.isoformat(), "alerts": alerts}


def active_alert_counts(
    session: Session, now: datetime | None = None, recent_days: int = 2
) -> Counter[tuple[str, str, str]]:
    """Per tenant, kind and dimension: the alerts of the last ``recent_days`` days (a volume
    spike on one of them, a rate jump whose window ends in them), for Prometheus."""
    now = now or datetime.now(UTC)
    since = (now - timedelta(days=recent_days - 1)).date()
    tenants = session.scalars(select(Call.tenant).where(Call.status == "done").distinct())
    counts: Counter[tuple[str, str, str]] = Counter()
    for tenant in sorted(tenants):
        report = alerts_report(session, tenant, Window(end=now), now=now)
        for alert in report["alerts"]:
            if date.fromisoformat(alert.get("day") or alert["end"]) >= since:
                counts[(tenant, alert["kind"], alert["dimension"])] += 1
    return counts
