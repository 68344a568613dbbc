"""Why customers call and whether it was solved the first time: the call-driver and
first-contact-resolution reports over a tenant's stored calls.

Both read the insight columns a stored record fills (`api.jobs.insights`). A call counts in
the window of its ``created_at``; days are UTC days.

- **Drivers**: per discovered driver, its stable id and label, key terms (c-TF-IDF of the
  window's reasons against the other drivers'), calls, share of the window's calls, a daily
  trend and the newest example calls with their stated reason. The configured topics are the
  second view (``topics``), and ``unplaced`` counts calls with a reason no driver holds yet.
- **FCR**: a call is resolved on first contact when its summary's outcome is ``resolved`` and
  the same customer did not call again within the repeat window (a later call's
  ``repeat_of``). Calls without a summary outcome are not rated; ``pending`` counts rated calls
  younger than the window, whose repeat may still come.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.records.search import Window, in_window
from api.store.integrity import as_utc
from api.store.schema import Call, Driver
from pipelines.analytics.drivers import key_terms

FcrGroup = Literal["agent", "topic", "driver", "day"]
EXAMPLES = 3
MAX_TREND_DAYS = 366
UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class CallRow:
    id: str
    day: date
    at: datetime
    agent: str | None
    topic: str | None
    driver_id: str | None
    reason: str | None
    outcome: str | None


def call_rows(session: Session, tenant: str, win: Window) -> list[CallRow]:
    """The tenant's stored calls in the window, oldest first."""
    query = in_window(
        select(
            Call.id,
            Call.created_at,
            Call.agent,
            Call.topic,
            Call.driver_id,
            Call.reason,
            Call.outcome,
        ).where(Call.tenant == tenant, Call.status == "done"),
        win,
    ).order_by(Call.created_at, Call.id)
    rows = []
    for row in session.execute(query):
        at = as_utc(row.created_at)
        rows.append(
            CallRow(
                row.id, at.date(), at, row.agent, row.topic, row.driver_id, row.reason, row.outcome
            )
        )
    return rows


def days_of(rows: Sequence[CallRow], win: Window) -> list[date]:
    """Every day of the window (of the calls' span where the window is open), at most a year."""
    if not rows and (win.start is None or win.end is None):
        return []
    first = as_utc(win.start).date() if win.start else rows[0].day
    last = (as_utc(win.end) - timedelta(microseconds=1)).date() if win.end else rows[-1].day
    if (last - first).days >= MAX_TREND_DAYS:  # the last year of a longer window
        first = last - timedelta(days=MAX_TREND_DAYS - 1)
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]


def drivers_report(session: Session, tenant: str, win: Window) -> dict[str, Any]:
    rows = call_rows(session, tenant, win)
    drivers = {d.id: d for d in session.scalars(select(Driver).where(Driver.tenant == tenant))}
    members: dict[str, list[CallRow]] = defaultdict(list)
    for row in rows:
        if row.driver_id is not None and row.driver_id in drivers:
            members[row.driver_id].append(row)
    terms = key_terms(
        {d: [r.reason or "" for r in calls] for d, calls in members.items()}, max_terms=5
    )
    days = days_of(rows, win)
    out = []
    for driver_id, calls in sorted(members.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        per_day = Counter(r.day for r in calls)
        out.append(
            {
                "id": driver_id,
                "label": drivers[driver_id].label,
                "terms": terms.get(driver_id, []),
                "calls": len(calls),
                "share": round(len(calls) / len(rows), 4),
                "trend": [{"day": d.isoformat(), "calls": per_day.get(d, 0)} for d in days],
                "examples": [
                    {"call_id": r.id, "reason": r.reason, "at": r.at.isoformat()}
                    for r in sorted(calls, key=lambda r: r.at, reverse=True)[:EXAMPLES]
                ],
            }
        )
    topics = Counter(r.topic or UNKNOWN for r in rows)
    return {
        **win.as_dict(),
        "calls": len(rows),
        "drivers": out,
        "unplaced": sum(1 for r in rows if r.reason and r.driver_id not in drivers),
        "without_reason": sum(1 for r in rows if not r.reason),
        "topics": [
            {"label": label, "calls": n, "share": round(n / len(rows), 4)}
            for label, n in sorted(topics.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    }


def repeated_calls(session: Session, tenant: str, ids: Sequence[str]) -> set[str]:
    """Which of these calls a later call of the same customer repeats."""
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        found.update(
            session.scalars(
                select(Call.repeat_of).where(
                    Call.tenant == tenant, Call.repeat_of.in_(chunk), Call.status != "erased"
                )
            )
        )
    return found


def _group_key(row: CallRow, group_by: FcrGroup) -> str:
    if group_by == "day":
        return row.day.isoformat()
    value = {"agent": row.agent, "topic": row.topic, "driver": row.driver_id}[group_by]
    return value or UNKNOWN


def fcr_report(
    session: Session,
    tenant: str,
    win: Window,
    group_by: FcrGroup,
    window_days: int,
    now: datetime | None = None,
) -> dict[str, Any]:
    rows = [r for r in call_rows(session, tenant, win) if r.outcome is not None]
    repeated = repeated_calls(session, tenant, [r.id for r in rows])
    now = now or datetime.now(UTC)
    groups: dict[str, list[CallRow]] = defaultdict(list)
    for row in rows:
        groups[_group_key(row, group_by)].append(row)

    def rates(calls: Sequence[CallRow]) -> dict[str, Any]:
        resolved = [r for r in calls if r.outcome == "resolved"]
        again = [r for r in calls if r.id in repeated]
        first_time = [r for r in resolved if r.id not in repeated]
        return {
            "calls": len(calls),
            "resolved": len(resolved),
            "repeated": len(again),
            "fcr": round(len(first_time) / len(calls), 4) if calls else None,
            "repeat_rate": round(len(again) / len(calls), 4) if calls else None,
            "pending": sum(1 for r in calls if now - r.at < timedelta(days=window_days)),
        }

    order = (
        sorted(groups) if group_by == "day" else sorted(groups, key=lambda k: (-len(groups[k]), k))
    )
    return {
        "group_by": group_by,
        **win.as_dict(),
        "repeat_window_days": window_days,
        "overall": rates(rows),
        "groups": [{"key": key, **rates(groups[key])} for key in order],
    }
