"""Review overrides: an analyst overrides one compliance check or the score, with a reason.

Overrides are ledger entries of their own (kind ``review``), never edits of the record; the
record is served with ``review = {status, overrides}`` built from them, oldest first. An
override is ``{rule_id, value: bool}`` (the check's verdict) or ``{score: true, value: 0-100}``
(the call's score), plus ``previous`` (the verdict or score it replaced), ``by``, ``at``,
``reason`` (personal data in it redacted, like every stored text).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pipelines.compliance.policy import ID_PATTERN
from pipelines.core.errors import InvalidRequestError, NotFoundError
from pipelines.record.verdicts import Verdict, check_overrides, override_views
from pipelines.record.view import ComplianceView, OverrideView, RecordView, ReviewView

MAX_REASON = 2000
RULE_ID = ID_PATTERN


class ReviewIn(BaseModel):
    """``{rule_id, value: true|false, reason}`` or ``{score: true, value: 0-100, reason}``
    (``{score: 85, reason}`` is short for the latter)."""

    model_config = ConfigDict(extra="forbid")

    rule_id: str | None = Field(default=None, pattern=RULE_ID)
    score: bool | float | None = None
    value: bool | float | None = None
    reason: str = Field(min_length=1, max_length=MAX_REASON)


def review_block(base: Mapping[str, Any] | None, overrides: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``review`` block of a served record."""
    status = "reviewed" if overrides else ReviewView.from_dict(base or {}).status or "unreviewed"
    return {"status": status, "overrides": overrides}


def _current_check(
    compliance: ComplianceView | None, overrides: Iterable[OverrideView], rule_id: str
) -> Verdict:
    check = compliance.check(rule_id) if compliance is not None else None
    if check is None:
        raise NotFoundError(f"no rule {rule_id!r} among this call's compliance checks")
    return check_overrides(overrides).get(rule_id, check.passed)


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
        previous = _current_check(compliance, override_views(overrides), body.rule_id)
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
    previous = _current_score(compliance, override_views(overrides))
    return {"score": True, "value": float(value), "previous": previous, **common}
