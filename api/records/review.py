"""Review overrides: an analyst overrides one compliance check or the score, with a reason.

Overrides are ledger entries of their own (kind ``review``), never edits of the record; the
record is served with ``review = {status, overrides}`` built from them, oldest first. An
override is ``{rule_id, value: bool}`` (the check's verdict) or ``{score: true, value: 0-100}``
(the call's score), plus ``previous`` (the verdict or score it replaced), ``by``, ``at``,
``reason`` (personal data in it redacted, like every stored text).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.store.schema import LedgerEntry
from pipelines.core.errors import InvalidRequestError, NotFoundError
from pipelines.record.view import CheckView, ComplianceView, OverrideView, RecordView, ReviewView

MAX_REASON = 2000
RULE_ID = r"^[A-Za-z0-9_.-]{1,64}$"
Verdict = bool | float | None  # a check's verdict (true: passed), or a score, as stored


class ReviewIn(BaseModel):
    """``{rule_id, value: true|false, reason}`` or ``{score: true, value: 0-100, reason}``
    (``{score: 85, reason}`` is short for the latter)."""

    model_config = ConfigDict(extra="forbid")

    rule_id: str | None = Field(default=None, pattern=RULE_ID)
    score: bool | float | None = None
    value: bool | float | None = None
    reason: str = Field(min_length=1, max_length=MAX_REASON)


def overrides_of(entries: Iterable[LedgerEntry]) -> list[dict[str, Any]]:
    """The overrides stored in review entries (erased ones left out), oldest first."""
    out: list[dict[str, Any]] = []
    for entry in entries:
        if entry.body is None:
            continue
        body = json.loads(entry.body)
        body.pop("call_id", None)
        out.append({**body, "seq": entry.seq})
    return out


def review_block(base: Mapping[str, Any] | None, overrides: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``review`` block of a served record."""
    status = "reviewed" if overrides else ReviewView.from_dict(base or {}).status or "unreviewed"
    return {"status": status, "overrides": overrides}


def _views(overrides: Iterable[Mapping[str, Any]]) -> tuple[OverrideView, ...]:
    return tuple(OverrideView.from_dict(item) for item in overrides)


def _current_check(
    compliance: ComplianceView | None, overrides: Iterable[OverrideView], rule_id: str
) -> Verdict:
    check = compliance.check(rule_id) if compliance is not None else None
    if check is None:
        raise NotFoundError(f"no rule {rule_id!r} among this call's compliance checks")
    return _check_overrides(overrides).get(rule_id, check.passed)


def _current_score(compliance: ComplianceView | None, overrides: Iterable[OverrideView]) -> Verdict:
    if compliance is None or compliance.score is None:
        raise InvalidRequestError("this call was not scored against a policy; there is no score")
    current: Verdict = compliance.score
    for item in overrides:
        if item.score:
            current = item.value
    return current


def make_override(
    body: ReviewIn,
    record: Mapping[str, Any],
    overrides: list[dict[str, Any]],
    by: str,
    at: datetime,
) -> dict[str, Any]:
    """The override entry for ``body`` (404 for an unknown rule, 422 for a bad value)."""
    from api.records.search import iso_z
    from pipelines.pii.redactor import redact_text

    reason = redact_text(body.reason.strip())[0]
    if not reason:
        raise InvalidRequestError("reason: say why (it must not be blank)")
    common = {"by": by, "at": iso_z(at), "reason": reason}
    compliance = RecordView.from_dict(record).compliance
    if body.rule_id is not None:
        if body.score is not None:
            raise InvalidRequestError("override either a rule (rule_id) or the score, not both")
        if not isinstance(body.value, bool):
            raise InvalidRequestError("value: a rule override is true (passed) or false (failed)")
        previous = _current_check(compliance, _views(overrides), body.rule_id)
        return {"rule_id": body.rule_id, "value": body.value, "previous": previous, **common}
    value: Any = body.value
    if body.score is None or body.score is False:
        raise InvalidRequestError("give rule_id (a check) or score (the call's score) to override")
    if body.score is not True:  # {"score": 85}: the new score itself
        if value is not None and value != body.score:
            raise InvalidRequestError("score and value disagree; send {score: true, value: N}")
        value = body.score
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidRequestError("value: a score override is a number from 0 to 100")
    if not 0 <= value <= 100:
        raise InvalidRequestError("value: a score override is a number from 0 to 100")
    previous = _current_score(compliance, _views(overrides))
    return {"score": True, "value": float(value), "previous": previous, **common}


def _check_overrides(overrides: Iterable[OverrideView]) -> dict[str | None, Verdict]:
    """rule_id -> the newest overriding verdict."""
    return {item.rule_id: item.value for item in overrides if item.rule_id}


def reviewed_outcome(
    record: Mapping[str, Any], overrides: list[dict[str, Any]], pass_score: float | None
) -> tuple[float | None, bool | None]:
    """The call's score and verdict with the overrides applied (the newest of each wins).

    Check overrides re-score the call with the policy's weights; a score override replaces
    the score. The verdict needs the policy's pass score: without it (the policy is no longer
    stored) the analysis' verdict stands.
    """
    from pipelines.compliance.checker import passes, scorecard
    from pipelines.core.types import ComplianceCheck

    compliance = RecordView.from_dict(record).compliance
    if compliance is None or compliance.score is None:
        return None, None
    items = _views(overrides)
    verdicts = _check_overrides(items)
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
    verdicts = _check_overrides(review.overrides)
    stored = record["compliance"]  # served as stored, but for the verdicts
    checks = [_reviewed_check(check, verdicts) for check in stored.get("checks") or []]
    reviewed = {**stored, "checks": checks}
    if review.score is not None:
        reviewed.update(score=review.score, passed=review.passed)
    return {**record, "compliance": reviewed}
