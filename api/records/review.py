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

MAX_REASON = 2000
RULE_ID = r"^[A-Za-z0-9_.-]{1,64}$"


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
    status = "reviewed" if overrides else str((base or {}).get("status") or "unreviewed")
    return {"status": status, "overrides": overrides}


def _current_check(record: Mapping[str, Any], overrides: list[dict[str, Any]], rule_id: str) -> Any:
    checks = (record.get("compliance") or {}).get("checks") or []
    found = [check for check in checks if check.get("rule_id") == rule_id]
    if not found:
        raise NotFoundError(f"no rule {rule_id!r} among this call's compliance checks")
    return _check_overrides(overrides).get(rule_id, found[0].get("passed"))


def _current_score(record: Mapping[str, Any], overrides: list[dict[str, Any]]) -> Any:
    compliance = record.get("compliance")
    if not compliance or compliance.get("score") is None:
        raise InvalidRequestError("this call was not scored against a policy; there is no score")
    current = compliance.get("score")
    for item in overrides:
        if item.get("score") is True:
            current = item.get("value")
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
    if body.rule_id is not None:
        if body.score is not None:
            raise InvalidRequestError("override either a rule (rule_id) or the score, not both")
        if not isinstance(body.value, bool):
            raise InvalidRequestError("value: a rule override is true (passed) or false (failed)")
        previous = _current_check(record, overrides, body.rule_id)
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
    previous = _current_score(record, overrides)
    return {"score": True, "value": float(value), "previous": previous, **common}


def _check_overrides(overrides: list[dict[str, Any]]) -> dict[str, Any]:
    """rule_id -> the newest overriding verdict."""
    return {item["rule_id"]: item["value"] for item in overrides if item.get("rule_id")}


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

    compliance = record.get("compliance")
    if not compliance or compliance.get("score") is None:
        return None, None
    verdicts = _check_overrides(overrides)
    checks = [
        ComplianceCheck(
            rule_id=str(check.get("rule_id")),
            kind=str(check.get("kind")),
            passed=bool(verdicts.get(check.get("rule_id"), check.get("passed"))),
            severity=str(check.get("severity")),
            weight=float(check.get("weight") or 0.0),
        )
        for check in compliance.get("checks") or []
    ]
    score, passed = scorecard(checks, 0.0 if pass_score is None else pass_score)
    scores = [float(item["value"]) for item in overrides if item.get("score") is True]
    if scores:
        score = round(scores[-1], 2)
        passed = pass_score is not None and passes(score, checks, pass_score)
    if pass_score is None:
        return score, compliance.get("passed")
    return score, passed


def as_reviewed(record: Mapping[str, Any]) -> dict[str, Any]:
    """The served record (with its review block) with the compliance verdicts as reviewed:
    each check's newest override, and the reviewed score and verdict when there is one."""
    review = record.get("review") or {}
    overrides = review.get("overrides") or []
    compliance = record.get("compliance")
    if not overrides or not compliance:
        return dict(record)
    verdicts = _check_overrides(overrides)
    checks = [
        {**check, "passed": verdicts.get(check.get("rule_id"), check.get("passed"))}
        for check in compliance.get("checks") or []
    ]
    reviewed = {**compliance, "checks": checks}
    if review.get("score") is not None:
        reviewed.update(score=review["score"], passed=review.get("passed"))
    return {**record, "compliance": reviewed}
