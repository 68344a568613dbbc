"""Search over the calls' summary columns: time windows, filters, keyset cursors, summaries.

Every query built here starts from the caller's tenant; nothing is ever read across tenants.
Times are stored in UTC; a window is half-open ``[from, to)``, a date-only ``to`` covers its
whole day and a date-time ``to`` is inclusive.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVarTuple

from sqlalchemy import Select, and_, or_, select

from api.store.schema import Call
from pipelines.core.errors import InvalidRequestError

MAX_TIME_TEXT = 64
MAX_QUERY_TEXT = 200


def utc(moment: datetime) -> datetime:
    """An aware UTC time (stored naive times are UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso_z(moment: datetime | None) -> str | None:
    """``2025-01-02T10:00:00.000000Z`` (None stays None)."""
    if moment is None:
        return None
    return utc(moment).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_bound(text: str | None, name: str, *, end: bool = False) -> datetime | None:
    """An ISO date or date-time query value as a UTC bound; ``end`` gives the exclusive end.

    A date-only ``end`` is the next midnight; a date-time ``end`` includes that moment.
    Naive date-times are UTC. Anything else is a 422.
    """
    if text is None or not text.strip():
        return None
    value = text.strip()
    try:
        if len(value) > MAX_TIME_TEXT:
            raise ValueError("too long")
        if len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), time(), UTC)
            return moment + timedelta(days=1) if end else moment
        moment = utc(datetime.fromisoformat(value))
        return moment + timedelta(microseconds=1) if end else moment
    except (ValueError, OverflowError) as exc:
        raise InvalidRequestError(
            f"{name}: expected an ISO 8601 date or date-time, e.g. 2025-01-31T09:00:00Z"
        ) from exc


Columns = TypeVarTuple("Columns")


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open time window ``[start, end)``; either side may be open."""

    start: datetime | None = None
    end: datetime | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"from": iso_z(self.start), "to": iso_z(self.end)}


def window(from_: str | None, to: str | None) -> Window:
    """The window of ``from``/``to`` query values (422 when ``from`` is not before ``to``)."""
    start = parse_bound(from_, "from")
    end = parse_bound(to, "to", end=True)
    if start is not None and end is not None and start >= end:
        raise InvalidRequestError("'from' must be before 'to'")
    return Window(start, end)


def in_window(query: Select[*Columns], win: Window) -> Select[*Columns]:
    if win.start is not None:
        query = query.where(Call.created_at >= win.start)
    if win.end is not None:
        query = query.where(Call.created_at < win.end)
    return query


def like_pattern(text: str) -> str:
    """A substring LIKE pattern for ``text`` with ``\\``, ``%`` and ``_`` escaped (by ``\\``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True, slots=True)
class Filters:
    """What ``GET /v1/calls`` may filter on (None: any)."""

    window: Window = Window()
    agent: str | None = None
    passed: bool | None = None
    topic: str | None = None
    emotion: str | None = None  # a customer emotion label, or "negative"
    q: str | None = None
    include_erased: bool = False
    close_call: bool | None = None  # the current verdict has (or has no) close call
    policy_id: str | None = None  # the current verdict's policy
    driver_id: str | None = None  # the discovered call driver

    def as_dict(self) -> dict[str, Any]:
        """The filters that were set (for the audit log; personal data in ``q`` redacted)."""
        from pipelines.pii.redactor import redact_text

        out: dict[str, Any] = {
            key: value
            for key, value in (
                ("agent", self.agent),
                ("passed", self.passed),
                ("topic", self.topic),
                ("emotion", self.emotion),
                ("q", redact_text(self.q)[0] if self.q else None),
                ("close_call", self.close_call),
                ("policy_id", self.policy_id),
                ("driver_id", self.driver_id),
            )
            if value is not None
        }
        out.update({k: v for k, v in self.window.as_dict().items() if v is not None})
        return out


def search_query(tenant: str, filters: Filters) -> Select[Any]:
    """The tenant's calls matching ``filters`` (unordered)."""
    query = in_window(select(Call).where(Call.tenant == tenant), filters.window)
    if not filters.include_erased:
        query = query.where(Call.status != "erased")
    if filters.agent is not None:
        query = query.where(Call.agent == filters.agent)
    if filters.passed is not None:
        query = query.where(Call.passed == filters.passed)
    if filters.topic is not None:
        query = query.where(Call.topic == filters.topic)
    if filters.emotion == "negative":
        query = query.where(Call.negative_emotion.is_(True))
    elif filters.emotion is not None:
        query = query.where(Call.customer_emotion == filters.emotion)
    if filters.close_call is True:
        query = query.where(Call.close_calls > 0)
    elif filters.close_call is False:
        query = query.where(Call.close_calls == 0)
    if filters.policy_id is not None:
        query = query.where(Call.verdict_policy_id == filters.policy_id)
    if filters.driver_id is not None:
        query = query.where(Call.driver_id == filters.driver_id)
    if filters.q:
        if len(filters.q) > MAX_QUERY_TEXT:
            raise InvalidRequestError(f"q: at most {MAX_QUERY_TEXT} characters")
        query = query.where(Call.search_text.ilike(like_pattern(filters.q), escape="\\"))
    return query


# --- keyset pagination: newest first, by (created_at, id) -------------------------------------


def encode_cursor(call: Call) -> str:
    raw = json.dumps([iso_z(call.created_at), call.id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (created_at, id) a cursor points after; 422 for anything not made by us."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        stamp, call_id = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if not isinstance(stamp, str) or not isinstance(call_id, str) or len(call_id) > 64:
            raise ValueError("bad cursor fields")
        return utc(datetime.fromisoformat(stamp)), call_id
    except (ValueError, TypeError, OverflowError, UnicodeError, binascii.Error) as exc:
        raise InvalidRequestError("cursor: not a cursor from a previous page's 'next'") from exc


def page_query(query: Select[Any], cursor: str | None, offset: int, limit: int) -> Select[Any]:
    """One page (plus one row to tell whether more follow), newest first."""
    if cursor is not None:
        stamp, call_id = decode_cursor(cursor)
        query = query.where(
            or_(Call.created_at < stamp, and_(Call.created_at == stamp, Call.id < call_id))
        )
    query = query.order_by(Call.created_at.desc(), Call.id.desc())
    if offset:
        query = query.offset(offset)
    return query.limit(limit + 1)


def summary(call: Call) -> dict[str, Any]:
    """A call as listed by ``GET /v1/calls`` (no transcript text, no file names)."""
    return {
        "id": call.id,
        "created_at": iso_z(call.created_at),
        "status": call.status,
        "source": call.source,
        "layout": call.layout,
        "policy_id": call.policy_id,
        "policy_version": call.policy_version,
        "metadata": call.metadata_json,
        "agent": call.agent,
        "passed": call.passed,
        "score": call.score,
        "verdict_policy_id": call.verdict_policy_id,
        "verdict_policy_version": call.verdict_policy_version,
        "close_calls": call.close_calls,
        "topic": call.topic,
        "customer_emotion": call.customer_emotion,
        "negative_emotion": call.negative_emotion,
        "duration_s": call.duration_s,
        "outcome": call.outcome,
        "driver_id": call.driver_id,
        "repeat_of": call.repeat_of,
        "record_seq": call.record_seq,
        "erased_at": iso_z(call.erased_at),
    }
