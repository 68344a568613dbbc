"""Re-scoring a stored call: its transcript, as the record keeps it (redacted, with roles and
the customer's emotion), checked against another policy or version without re-transcribing.

The batch pipeline checks compliance on exactly these segments (after redaction and emotion),
so a re-score gives the verdicts an analysis of the audio with that policy would give.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipelines.compliance.checker import ComplianceChecker, compliance_to_dict
from pipelines.compliance.policy import Policy
from pipelines.core.errors import InvalidRequestError
from pipelines.core.types import Segment
from pipelines.record.schema import segment_from_dict
from pipelines.record.view import RecordView


@dataclass(frozen=True, slots=True)
class VerdictChange:
    """A rule whose verdict differs from the record's (None: the rule was not checked)."""

    rule_id: str
    before: bool | None
    after: bool | None


@dataclass(frozen=True, slots=True)
class Rescore:
    """The record's ``compliance`` object under the new policy, and what changed."""

    compliance: Mapping[str, Any]
    changes: tuple[VerdictChange, ...]

    def to_dict(self, call_id: str | None) -> dict[str, Any]:
        """``{call_id, policy: {id, version, sha256}, score, passed, checks, changes}``."""
        return {"call_id": call_id, **self.outcome()}

    def outcome(self) -> dict[str, Any]:
        """``{policy, score, passed, checks, changes}``: what a ``rescore`` entry keeps."""
        changes = [
            {"rule_id": c.rule_id, "before": c.before, "after": c.after} for c in self.changes
        ]
        return {**self.compliance, "changes": changes}


def transcript_of(record: Mapping[str, Any]) -> tuple[Segment, ...]:
    """The record's segments as the stages made them; `InvalidRequestError` when the record
    holds no transcript (an erased call, a call with no speech) or a malformed one."""
    raw = record.get("segments")
    if not isinstance(raw, list) or not raw:
        raise InvalidRequestError("the call has no transcript to score")
    try:
        return tuple(segment_from_dict(segment) for segment in raw)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidRequestError(f"the record's segments are malformed: {exc!r}") from exc


def rescore(record: Mapping[str, Any], policy: Policy, checker: ComplianceChecker) -> Rescore:
    """Check the record's transcript against ``policy``; changes against the record's verdicts."""
    result = checker.check(transcript_of(record), policy)
    before = RecordView.from_dict(record).compliance
    was = {c.rule_id: c.passed for c in before.checks} if before is not None else {}
    now = {c.rule_id: c.passed for c in result.checks}
    changes = tuple(
        VerdictChange(rule, was.get(rule), now.get(rule))
        for rule in dict.fromkeys([*was, *now])
        if rule is not None and was.get(rule) != now.get(rule)
    )
    return Rescore(compliance_to_dict(result), changes)
