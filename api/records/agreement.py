"""How far the machine's verdicts agree with the reviewers': ``GET /v1/analytics/agreement``.

A call counts as reviewed once an analyst overrode anything on it (a check or its score): the
reviewer then looked at every check, so a check without an override is one the reviewer let
stand. Per rule, over the reviewed calls whose current verdict is of the policy: how many, the
share where the machine agreed, Cohen's kappa, false passes and fails, and a threshold the
matcher scores of those calls suggest (`pipelines.compliance.agreement`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.records.search import Window, in_window
from api.store.ledger import find_record
from api.store.schema import Call
from api.store.schema import Policy as PolicyRow
from api.store.verdicts import is_reviewed, overrides_of, rescores_of
from pipelines.compliance.agreement import ReviewedCheck, agreement_by_rule
from pipelines.core.errors import NotFoundError
from pipelines.record.verdicts import reviewed_checks

MAX_CALLS = 20_000  # reviewed calls read for one answer (newest first)


def reviewed_call_ids(session: Session, tenant: str, policy_id: str, win: Window) -> list[str]:
    """The tenant's stored calls of ``policy_id`` (current verdict) with a review, newest
    first."""
    query = in_window(
        select(Call.id).where(
            Call.tenant == tenant,
            Call.status == "done",
            Call.verdict_policy_id == policy_id,
            is_reviewed(tenant),
        ),
        win,
    )
    return list(session.scalars(query.order_by(Call.created_at.desc()).limit(MAX_CALLS)))


def _checks(session: Session, tenant: str, call_ids: list[str]) -> Iterator[ReviewedCheck]:
    for call_id in call_ids:
        entry = find_record(session, tenant, call_id)
        if entry is None or entry.body is None:
            continue
        record = json.loads(entry.body)
        rescores = rescores_of(session, tenant, call_id)
        yield from reviewed_checks(
            call_id, record, rescores, overrides_of(session, tenant, call_id)
        )


def agreement_report(session: Session, tenant: str, policy_id: str, win: Window) -> dict[str, Any]:
    """``{policy_id, from, to, reviewed_calls, rules: [...], low_agreement: [rule ids]}``;
    NotFoundError when the tenant has no such policy."""
    known = select(PolicyRow.id).where(PolicyRow.tenant == tenant, PolicyRow.id == policy_id)
    if session.scalars(known.limit(1)).first() is None:
        raise NotFoundError(f"no policy {policy_id!r}")
    call_ids = reviewed_call_ids(session, tenant, policy_id, win)
    rules = agreement_by_rule(_checks(session, tenant, call_ids))
    return {
        "policy_id": policy_id,
        **win.as_dict(),
        "reviewed_calls": len(call_ids),
        "rules": [rule.to_dict() for rule in rules],
        "low_agreement": [rule.rule_id for rule in rules if rule.low_agreement],
    }
