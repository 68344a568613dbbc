"""What a stored call adds to the tenant's insights, in the transaction that stores its record:
its summary columns for the analytics (outcome, stated reason and its embedding, fairness
groups), its keyed contact pseudonyms, the earlier call it repeats (written into the record's
``metrics.repeat_contact`` before the record is signed) and its call driver."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from api.store.contacts import previous_contact, remember_contacts
from api.store.drivers import assign_driver
from api.store.heads import lock_head
from api.store.integrity import as_utc
from api.store.ledger import CHAIN, find_record
from api.store.schema import Call
from pipelines.analytics.drivers import DriverOptions
from pipelines.compliance.matching import TextEncoder
from pipelines.record.view import RecordView

logger = logging.getLogger(__name__)
CONTEXT_UNITS = 2  # the caller's turns after the reason that join it for the driver
MIN_CONTEXT_WORDS = 6


@dataclass(frozen=True, slots=True)
class InsightInput:
    """A call's record with what it alone cannot tell: who called (pseudonyms) and when."""

    tenant: str
    call_id: str
    at: datetime
    keys: Sequence[tuple[str, str]]  # (kind, keyed pseudonym)
    metadata: Mapping[str, object]
    source: str  # upload | stream


def reason_text(record: Mapping[str, Any]) -> str | None:
    """The customer's stated reason in English (the summary's), or None."""
    summary = record.get("summary")
    if not isinstance(summary, Mapping):
        return None
    english = summary.get("english")
    block = english if isinstance(english, Mapping) else summary
    reason = block.get("reason")
    if isinstance(reason, Mapping) and isinstance(reason.get("text"), str) and reason["text"]:
        return str(reason["text"])
    return None


def customer_language(view: RecordView) -> str | None:
    """The language most of the customer's words are in (everyone's when no segment is the
    customer's); the record's first language when nothing was said."""
    words: Counter[str] = Counter()
    customer = [s for s in view.segments if s.role == "customer"] or list(view.segments)
    for segment in customer:
        if segment.language and segment.text:
            words[segment.language] += len(segment.text.split())
    if not words:
        return view.languages[0] if view.languages else None
    return min(words, key=lambda k: (-words[k], k))[:16]


def reason_context(record: Mapping[str, Any], following: int = CONTEXT_UNITS) -> str | None:
    """What a call's driver is judged on: its stated reason and the caller's next
    ``following`` turns that say more (in English): more of the same problem than one noisy
    sentence holds ("... it was due on Tuesday. I've been watching the door all week.")."""
    reason = reason_text(record)
    summary = record.get("summary")
    if reason is None or not isinstance(summary, Mapping):
        return None
    english = summary.get("english")
    block: Mapping[str, Any] = english if isinstance(english, Mapping) else summary
    reason_item = block.get("reason")
    said = reason_item.get("segments") or [] if isinstance(reason_item, Mapping) else []
    last = max((i for i in said if isinstance(i, int)), default=-1)
    view = RecordView.from_dict(dict(record))
    after = [
        (s.translation.text if s.translation and s.translation.language == "en" else s.text)
        for s in view.segments
        if s.role == "customer" and s.id is not None and s.id > last and s.text
    ]
    said_more = [t for t in after if t and says_more(t)]
    return " ".join([reason, *said_more[:following]])


def says_more(text: str) -> bool:
    """A turn that can tell more of the problem: six words or more, and no detail given on
    request (a number, a redacted value) nor a mere "thank you so much"."""
    return len(text.split()) >= MIN_CONTEXT_WORDS and not any(c.isdigit() or c == "[" for c in text)


def group_columns(
    record: Mapping[str, Any], metadata: Mapping[str, object], source: str
) -> dict[str, Any]:
    """The fairness report's groups and figures: the customer's spoken language, the accent
    group and channel the platform declared (``metadata.accent_group``, ``metadata.channel``;
    the channel defaults to how the call came: ``upload`` or ``stream``), the words' mean ASR
    confidence (each segment weighted by its length) and whether the customer's emotion
    escalated."""
    view = RecordView.from_dict(dict(record))
    summary = record.get("summary")
    weights = [(max((s.end or 0.0) - (s.start or 0.0), 0.0), s.confidence) for s in view.segments]
    total = sum(w for w, c in weights if c is not None)
    confidence = sum(w * c for w, c in weights if c is not None) / total if total > 0 else None
    escalation = view.metrics.escalation
    accent = metadata.get("accent_group")
    channel = metadata.get("channel")
    return {
        "outcome": summary.get("outcome") if isinstance(summary, Mapping) else None,
        "language": customer_language(view),
        "accent_group": str(accent)[:64] if accent not in (None, "") else None,
        "channel": str(channel)[:64] if channel not in (None, "") else source,
        "asr_confidence": round(confidence, 4) if confidence is not None else None,
        "escalated": escalation.detected if escalation is not None else None,
    }


def add_insights(
    session: Session,
    call: Call,
    record: dict[str, Any],
    given: InsightInput,
    encoder: TextEncoder | None,
    window_days: int,
    options: DriverOptions,
) -> None:
    """Fill the call's insight columns, link its contacts, write ``metrics.repeat_contact``
    into ``record`` and place the call in a driver (the tenant's ledger head is locked)."""
    for column, value in group_columns(record, given.metadata, given.source).items():
        setattr(call, column, value)
    reason = reason_text(record)
    call.reason = reason
    context = reason_context(record)
    if context is not None and encoder is not None:
        vector = encoder.encode([context])[0]
        call.reason_vector = [round(float(x), 5) for x in vector]
    driver = assign_driver(session, given.tenant, call, given.at, options)
    remember_contacts(session, given.tenant, given.call_id, given.keys, given.at)
    session.flush()
    previous = previous_contact(session, given.tenant, given.call_id, given.at, window_days)
    repeat = None
    if previous is not None:
        earlier = session.get(Call, previous[0])
        call.repeat_of, call.repeat_days = previous
        repeat = {
            "previous_call_id": previous[0],
            "days_since": previous[1],
            "same_driver": (
                driver is not None and earlier is not None and earlier.driver_id == driver
            ),
        }
    record.setdefault("metrics", {})["repeat_contact"] = repeat
    logger.info(
        "call %s: driver %s, %s", given.call_id, driver, "repeat" if repeat else "first contact"
    )


def learn_from_call(
    session: Session,
    tenant: str,
    call_id: str,
    record: dict[str, Any],
    keys: Sequence[tuple[str, str]],
    metadata: Mapping[str, object],
    encoder: TextEncoder | None,
    window_days: int,
) -> None:
    """`add_insights` for a call whose record is about to be stored, under the tenant's ledger
    head lock (one writer of drivers and contacts at a time); nothing when a record of the call
    is already stored (a retried job keeps the first)."""
    lock_head(session, tenant, CHAIN)
    call = session.get(Call, call_id)
    if call is None or find_record(session, tenant, call_id) is not None:
        return
    given = InsightInput(tenant, call_id, as_utc(call.created_at), keys, metadata, call.source)
    add_insights(session, call, record, given, encoder, window_days, DriverOptions())
