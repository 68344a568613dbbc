"""The current verdict of a stored call, kept in its row for lists, search and analytics.

A call's verdict changes when it is re-scored (a ``rescore`` entry) or a reviewer overrides a
check or the score (a ``review`` entry); both paths call :func:`refresh_verdict` in the same
transaction as the entry, so the row always says what `pipelines.record.verdicts` works out
from the chain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, exists
from sqlalchemy.orm import Session

from api.store.ledger import RESCORE, REVIEW, annotation_bodies, list_annotations
from api.store.policies import stored_policy
from api.store.schema import Call, LedgerEntry
from pipelines.core.errors import PolicyError
from pipelines.record.verdicts import close_calls, reviewed_outcome, with_current


def is_reviewed(tenant: str) -> ColumnElement[bool]:
    """A ``calls`` filter: the call has a (not erased) review override."""
    return exists().where(
        LedgerEntry.tenant == tenant,
        LedgerEntry.call_id == Call.id,
        LedgerEntry.kind == REVIEW,
        LedgerEntry.body.is_not(None),
    )


def rescores_of(session: Session, tenant: str, call_id: str) -> list[dict[str, Any]]:
    """A call's re-scores, oldest first (each with its ``seq``)."""
    return annotation_bodies(list_annotations(session, tenant, call_id, RESCORE))


def overrides_of(session: Session, tenant: str, call_id: str) -> list[dict[str, Any]]:
    """A call's review overrides, oldest first (each with its ``seq``)."""
    return annotation_bodies(list_annotations(session, tenant, call_id, REVIEW))


def current_policy(
    call: Call | None, record: Mapping[str, Any], rescores: Sequence[Mapping[str, Any]]
) -> tuple[str | None, int | None]:
    """The policy id and stored version of the call's current verdict (the version is unknown
    for a record scored outside the store, e.g. by ``callqa analyze --policy FILE``)."""
    if rescores:
        newest = rescores[-1]
        version = newest.get("policy_version")
        return policy_id_of(newest), int(version) if isinstance(version, int) else None
    compliance = record.get("compliance")
    analysed = policy_id_of(compliance) if isinstance(compliance, Mapping) else None
    if call is None or analysed is None:
        return analysed, None
    return analysed, call.policy_version if call.policy_id == analysed else None


def policy_id_of(compliance: Mapping[str, Any]) -> str | None:
    policy = compliance.get("policy")
    found = policy.get("id") if isinstance(policy, Mapping) else None
    return found if isinstance(found, str) else None


def current_pass_score(
    session: Session,
    tenant: str,
    call: Call | None,
    record: Mapping[str, Any],
    rescores: Sequence[Mapping[str, Any]],
) -> float | None:
    """The pass score of the current verdict's policy (None when it is no longer stored)."""
    if rescores and isinstance(rescores[-1].get("pass_score"), int | float):
        return float(rescores[-1]["pass_score"])
    policy_id, version = current_policy(call, record, rescores)
    if policy_id is None or version is None:
        return None
    try:
        policy = stored_policy(session, tenant, policy_id, version)
    except PolicyError:
        return None
    return policy.pass_score if policy is not None else None


def refresh_verdict(
    session: Session,
    call: Call,
    record: Mapping[str, Any],
    rescores: Sequence[Mapping[str, Any]],
    overrides: Sequence[Mapping[str, Any]],
) -> tuple[float | None, bool | None]:
    """Write the call's current score, verdict, policy and close calls into its row."""
    current = with_current(record, rescores)
    pass_score = current_pass_score(session, call.tenant, call, record, rescores)
    score, passed = reviewed_outcome(current, overrides, pass_score)
    call.score, call.passed = score, passed
    call.verdict_policy_id, call.verdict_policy_version = current_policy(call, record, rescores)
    call.close_calls = close_calls(current)
    return score, passed
