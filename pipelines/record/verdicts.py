"""A stored call's current verdict: its analysis or newest re-score, with reviewers' overrides.

The record keeps the compliance of its analysis; each re-score (a ledger entry) holds the
compliance of the call's transcript against another policy version, newest last. The *current*
compliance is the newest re-score's, else the analysis'. Review overrides win over both: a
check's newest override replaces its verdict (when the current policy has that rule) and a score
override replaces the score. Lists, search and analytics show this outcome. A reviewed call's
checks beside the reviewer's verdicts measure the machine against its reviewers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pipelines.compliance.agreement import ReviewedCheck
from pipelines.compliance.checker import passes, scorecard
from pipelines.core.types import ComplianceCheck
from pipelines.record.view import CheckView, OverrideView, RecordView

Verdict = bool | float | None  # a check's verdict (true: passed), or a score, as stored
COMPLIANCE_FIELDS = ("policy", "score", "passed", "checks")


def current_compliance(
    record: Mapping[str, Any], rescores: Sequence[Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    """The newest re-score's ``{policy, score, passed, checks}``, else the record's."""
    if rescores:
        newest = rescores[-1]
        return {name: newest.get(name) for name in COMPLIANCE_FIELDS}
    compliance = record.get("compliance")
    return compliance if isinstance(compliance, Mapping) else None


def with_current(
    record: Mapping[str, Any], rescores: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The record with its ``compliance`` replaced by the current one (served as is otherwise)."""
    if not rescores:
        return dict(record)
    return {**record, "compliance": current_compliance(record, rescores)}


def override_views(overrides: Iterable[Mapping[str, Any]]) -> tuple[OverrideView, ...]:
    return tuple(OverrideView.from_dict(item) for item in overrides)


def check_overrides(overrides: Iterable[OverrideView]) -> dict[str | None, Verdict]:
    """rule_id -> the newest overriding verdict."""
    return {item.rule_id: item.value for item in overrides if item.rule_id}


def reviewed_outcome(
    record: Mapping[str, Any], overrides: Sequence[Mapping[str, Any]], pass_score: float | None
) -> tuple[float | None, bool | None]:
    """The call's score and verdict with the overrides applied (the newest of each wins).

    Check overrides re-score the call with the policy's weights; a score override replaces
    the score. The verdict needs the policy's pass score: without it (the policy is no longer
    stored) the analysis' verdict stands.
    """
    compliance = RecordView.from_dict(record).compliance
    if compliance is None or compliance.score is None:
        return None, None
    items = override_views(overrides)
    verdicts = check_overrides(items)
    checks = [
        ComplianceCheck(
            rule_id=str(check.rule_id),
            kind=str(check.kind),
            passed=bool(verdicts.get(check.rule_id, check.passed)),
            severity=str(check.severity),
            weight=float(check.weight or 0.0),
        )
        for check in compliance.checks
    ]
    score, passed = scorecard(checks, 0.0 if pass_score is None else pass_score)
    scores = [float(item.value) for item in items if item.score and item.value is not None]
    if scores:
        score = round(scores[-1], 2)
        passed = pass_score is not None and passes(score, checks, pass_score)
    if pass_score is None:
        return score, compliance.passed
    return score, passed


def close_calls(record: Mapping[str, Any]) -> int | None:
    """How many checks of the record's compliance are close calls (None: not calibrated)."""
    compliance = RecordView.from_dict(record).compliance
    if compliance is None or not compliance.checks:
        return None
    if all(check.score is None for check in compliance.checks):
        return None  # scored before checks carried the matcher's score
    return sum(check.close_call for check in compliance.checks)


def _reviewed_check(
    stored: Mapping[str, Any], verdicts: Mapping[str | None, Verdict]
) -> dict[str, Any]:
    """A stored check as served, with the newest override of its verdict."""
    check = CheckView.from_dict(stored)
    return {**stored, "passed": verdicts.get(check.rule_id, check.passed)}


def as_reviewed(record: Mapping[str, Any]) -> dict[str, Any]:
    """The served record (with its review block) with the compliance verdicts as reviewed:
    each check's newest override, and the reviewed score and verdict when there is one."""
    view = RecordView.from_dict(record)
    review = view.review
    if review is None or not review.overrides or view.compliance is None:
        return dict(record)
    verdicts = check_overrides(review.overrides)
    stored = record["compliance"]  # served as stored, but for the verdicts
    checks = [_reviewed_check(check, verdicts) for check in stored.get("checks") or []]
    reviewed = {**stored, "checks": checks}
    if review.score is not None:
        reviewed.update(score=review.score, passed=review.passed)
    return {**record, "compliance": reviewed}


def reviewed_checks(
    call_id: str,
    record: Mapping[str, Any],
    rescores: Sequence[Mapping[str, Any]],
    overrides: Sequence[Mapping[str, Any]],
) -> list[ReviewedCheck]:
    """Each check of a reviewed call's current verdict beside the reviewer's: the newest
    override of that rule, else the machine's verdict, which the reviewer let stand. A call
    without overrides was not reviewed and gives nothing."""
    if not overrides:
        return []
    compliance = RecordView.from_dict(with_current(record, rescores)).compliance
    if compliance is None:
        return []
    human = check_overrides(override_views(overrides))
    out: list[ReviewedCheck] = []
    for check in compliance.checks:
        if check.rule_id is None or check.passed is None:
            continue
        said = human.get(check.rule_id, check.passed)
        out.append(
            ReviewedCheck(
                call_id=call_id,
                rule_id=check.rule_id,
                kind=check.kind or "",
                machine=check.passed,
                human=bool(said),
                score=check.score,
                threshold=check.threshold,
            )
        )
    return out
