"""Which calls reviewers should listen to next: ``GET /v1/review/sample``.

Most of the sample targets the machine's uncertainty: unreviewed calls whose current verdict
has close calls (a check's score within a margin of its threshold), the most close calls first,
then the newest. The rest (``random_share``) is drawn at random from the other unreviewed calls,
so that the agreement measured on reviewed calls is not only about the hard ones.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from api.records.search import Window, in_window, summary
from api.store.schema import Call
from api.store.verdicts import is_reviewed

MAX_POOL = 10_000  # unreviewed calls the random share is drawn from


@dataclass(frozen=True, slots=True)
class SampleRequest:
    size: int
    random_share: float
    window: Window
    policy_id: str | None = None
    seed: int | None = None  # a reproducible draw; None: a fresh one


def _unreviewed(tenant: str, request: SampleRequest) -> Select[Any]:
    query = select(Call).where(
        Call.tenant == tenant, Call.status == "done", Call.score.is_not(None), ~is_reviewed(tenant)
    )
    if request.policy_id is not None:
        query = query.where(Call.verdict_policy_id == request.policy_id)
    return in_window(query, request.window)


def review_sample(session: Session, tenant: str, request: SampleRequest) -> dict[str, Any]:
    """``{items: [{...call, why: close_call|random}], close_call, random}``."""
    randoms = round(request.size * request.random_share)
    targeted_size = request.size - randoms
    base = _unreviewed(tenant, request)
    targeted = list(
        session.scalars(
            base.where(Call.close_calls > 0)
            .order_by(Call.close_calls.desc(), Call.created_at.desc(), Call.id)
            .limit(targeted_size)
        )
    )
    chosen = {call.id for call in targeted}
    ids = base.with_only_columns(Call.id).order_by(Call.created_at.desc(), Call.id)
    pool = [i for i in session.scalars(ids.limit(MAX_POOL)) if i not in chosen]
    draw = random.Random(request.seed) if request.seed is not None else random.SystemRandom()
    wanted = request.size - len(targeted)  # fewer close calls: more at random
    picked = draw.sample(pool, min(wanted, len(pool)))
    rows = {c.id: c for c in session.scalars(select(Call).where(Call.id.in_(picked)))}
    drawn = [rows[i] for i in picked]
    items = [{**summary(c), "why": "close_call"} for c in targeted]
    items += [{**summary(c), "why": "random"} for c in drawn]
    return {"items": items, "close_call": len(targeted), "random": len(drawn)}
