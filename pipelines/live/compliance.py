"""Script compliance while a call runs: the live half of `pipelines.live.alerts`.

Each new (redacted) final is matched, with the previous final of its role when that ended at
most ``join_gap_s`` before it, against the lines still worth listening for: forbidden phrases
not yet said, the triggers of conditionals not yet triggered, and required lines whose deadline
has not passed. A forbidden phrase is an alert at once; a trigger starts its conditional's
clock; a required line said in time is settled.

When a deadline passes (`LiveCompliance.tick`), its rule is judged once by the compliance
checker over the finals inside its window, as a one-rule policy: a required line over the
finals starting by its deadline (``after_rule``/``before_rule`` are left to the batch verdict),
a conditional over the finals from its trigger's window to the end of the response window.
Finals are kept only while a pending rule or the next match may need them.

`LiveCompliance.checklist` is the scorecard as it fills in, for supervisors: every rule of the
policy with its live status (see `CheckStatus`). Required lines without a deadline are watched
too, so that they show as said; order and closing rules stay ``batch``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from pipelines.compliance.checker import ComplianceChecker
from pipelines.compliance.policy import Conditional, ForbiddenPhrase, Policy, RequiredLine, Rule
from pipelines.core.types import ComplianceCheck, Evidence, Segment
from pipelines.live.alert import Alert

logger = logging.getLogger(__name__)

LONGEST_FINAL_S = 15.0  # the live engine cuts utterances at 15 s (LiveOptions.max_utterance_s)

CheckStatus = Literal["pending", "said", "missed", "clear", "violated", "triggered", "batch"]
"""``pending``: a required line not heard yet; ``said``: heard (in time, if it has a deadline);
``missed``: its deadline passed unsaid, or a conditional's response did not come in time;
``clear``: a forbidden phrase or an untriggered conditional, so far; ``violated``: the forbidden
phrase was said; ``triggered``: a conditional's trigger was heard, its response is awaited;
``batch``: judged only by the record (order, closing)."""


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    """One rule of the call's policy as the live call stands (``at_s``: when it last changed)."""

    rule_id: str
    kind: str
    description: str
    status: CheckStatus
    at_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "kind": self.kind,
            "description": self.description,
            "status": self.status,
            "at_s": None if self.at_s is None else round(self.at_s, 3),
        }


@dataclass(frozen=True, slots=True)
class _Deadline:
    """A rule to judge once ``due_s`` has passed, over the finals in ``[low_s, due_s]``."""

    rule: RequiredLine | Conditional
    low_s: float
    due_s: float
    trigger_s: float | None = None


class LiveCompliance:
    """One call's live compliance state (not thread-safe: `LiveMonitor` holds the lock)."""

    def __init__(self, checker: ComplianceChecker, policy: Policy, join_gap_s: float) -> None:
        self.checker = checker
        self.policy = policy
        self.join_gap_s = join_gap_s
        self.forbidden = {r.id: r for r in policy.rules if isinstance(r, ForbiddenPhrase)}
        self.untriggered = {r.id: r for r in policy.rules if isinstance(r, Conditional)}
        self.deadlines: dict[str, _Deadline] = {}
        self.unsaid: dict[str, RequiredLine] = {}  # required lines without a deadline
        self.status: dict[str, ChecklistItem] = {}
        for rule in policy.rules:
            status: CheckStatus = "batch"
            if isinstance(rule, RequiredLine):
                status = "pending"
                due = rule.within_s if rule.within_s is not None else rule.before_s
                plain = replace(rule, after_rule=None, before_rule=None)
                if due is not None:
                    self.deadlines[rule.id] = _Deadline(plain, 0.0, due)
                else:
                    self.unsaid[rule.id] = plain
            elif isinstance(rule, ForbiddenPhrase | Conditional):
                status = "clear"
            self.status[rule.id] = ChecklistItem(rule.id, rule.kind, rule.description, status)
        self.segments: list[Segment] = []
        self.now_s = 0.0

    def checklist(self) -> tuple[ChecklistItem, ...]:
        """Every rule of the policy, in the policy's order, with its live status."""
        return tuple(self.status.values())

    def _mark(self, rule_id: str, status: CheckStatus, at_s: float) -> None:
        self.status[rule_id] = replace(self.status[rule_id], status=status, at_s=at_s)

    def on_final(self, segment: Segment) -> list[Alert]:
        """Alerts for what the new final says (forbidden phrases); notes triggers and lines."""
        self.now_s = max(self.now_s, segment.end)
        previous = next((s for s in reversed(self.segments) if s.role == segment.role), None)
        self.segments.append(segment)
        self._prune()
        watched: list[Rule] = list(self.forbidden.values())
        watched += [
            ForbiddenPhrase(id=r.id, weight=1.0, severity=r.severity, line=r.trigger)
            for r in self.untriggered.values()
        ]
        watched += [
            d.rule
            for d in self.deadlines.values()
            if isinstance(d.rule, RequiredLine) and segment.start <= d.due_s
        ]
        watched += list(self.unsaid.values())
        if not watched or not segment.text.strip():
            return []
        context = [segment]
        if previous is not None and segment.start - previous.end <= self.join_gap_s:
            context.insert(0, previous)
        alerts: list[Alert] = []
        for check in self._check(context, watched):
            if check.rule_id in self.forbidden and not check.passed:
                del self.forbidden[check.rule_id]
                alerts.append(self._forbidden_alert(check, segment))
                self._mark(check.rule_id, "violated", segment.end)
            elif check.rule_id in self.untriggered and not check.passed:
                self._trigger(self.untriggered.pop(check.rule_id), check.evidence)
                self._mark(check.rule_id, "triggered", segment.end)
            elif check.kind == RequiredLine.kind and check.passed:
                logger.debug("live: %s said", check.rule_id)
                self.deadlines.pop(check.rule_id, None)
                self.unsaid.pop(check.rule_id, None)
                self._mark(check.rule_id, "said", segment.end)
        return alerts

    def tick(
        self, now_s: float, open_since_s: float | None, *, grace_s: float, max_wait_s: float
    ) -> list[Alert]:
        """Judge the deadlines passed by ``now_s`` (see `LiveMonitor.tick`); alerts for misses."""
        self.now_s = max(self.now_s, now_s)
        alerts: list[Alert] = []
        due = sorted(
            (d for d in self.deadlines.values() if _is_due(d.due_s, now_s, open_since_s,
                                                            grace_s, max_wait_s)),
            key=lambda d: d.due_s,
        )  # fmt: skip
        for deadline in due:
            del self.deadlines[deadline.rule.id]
            window = [
                s for s in self.segments if s.start <= deadline.due_s and s.end >= deadline.low_s
            ]
            (check,) = self._check(window, [deadline.rule])
            if not check.passed:
                alerts.append(self._deadline_alert(deadline, now_s))
            self._mark(deadline.rule.id, "said" if check.passed else "missed", now_s)
        if due:
            self._prune()
        return alerts

    # ---- helpers -------------------------------------------------------------------------

    def _check(
        self, segments: Sequence[Segment], rules: Sequence[Rule]
    ) -> tuple[ComplianceCheck, ...]:
        return self.checker.check(segments, replace(self.policy, rules=tuple(rules))).checks

    def _trigger(self, rule: Conditional, evidence: Sequence[Evidence]) -> None:
        start = min(e.start for e in evidence)
        end = max(e.end for e in evidence)  # the final's end at the latest: a lenient clock
        low = start - rule.within_s_before - self.join_gap_s
        self.deadlines[rule.id] = _Deadline(rule, low, end + rule.within_s_after, start)
        logger.debug("live: %s triggered at %.1f s", rule.id, start)

    def _prune(self) -> None:
        """Drop the finals that no pending rule and no later match can need.

        A later trigger starts at most two finals (and the gap between them) before the newest
        final's end, and its window reaches ``within_s_before`` further back.
        """
        before = max([0.0, *(r.within_s_before for r in self.untriggered.values())])
        lookback = before + 2 * (self.join_gap_s + LONGEST_FINAL_S)
        keep_from = min([self.now_s - lookback, *(d.low_s for d in self.deadlines.values())])
        self.segments = [s for s in self.segments if s.end >= keep_from]

    def _forbidden_alert(self, check: ComplianceCheck, segment: Segment) -> Alert:
        said = min((e.start for e in check.evidence), default=segment.start)
        rule = self.policy.rule(check.rule_id)
        ids = sorted({e.segment_id for e in check.evidence if e.segment_id is not None})
        return Alert(
            kind="compliance",
            at_s=segment.end,
            severity=rule.severity,
            message=f"forbidden phrase said at {said:.1f} s ({rule.id})",
            segment_id=segment.id,
            rule_id=rule.id,
            details={
                "rule_kind": rule.kind,
                "said_at_s": round(said, 3),
                "segment_ids": ids,
                "description": rule.description,
            },
        )

    def _deadline_alert(self, deadline: _Deadline, now_s: float) -> Alert:
        rule = deadline.rule
        details: dict[str, Any] = {
            "rule_kind": rule.kind,
            "deadline_s": round(deadline.due_s, 3),
            "description": rule.description,
        }
        if isinstance(rule, Conditional):
            assert deadline.trigger_s is not None
            details["trigger_at_s"] = round(deadline.trigger_s, 3)
            what = f"no response within {rule.within_s_after:g} s of the trigger at "
            what += f"{deadline.trigger_s:.1f} s"
        elif rule.within_s is not None:
            what = f"required line not said within {rule.within_s:g} s"
        else:
            what = f"required line not said before {rule.before_s:g} s"
        logger.info("live compliance alert at %.1f s: %s", now_s, rule.id)
        return Alert(
            kind="compliance",
            at_s=now_s,
            severity=rule.severity,
            message=f"{what} ({rule.id})",
            rule_id=rule.id,
            details=details,
        )


def _is_due(
    due_s: float, now_s: float, open_since_s: float | None, grace_s: float, max_wait_s: float
) -> bool:
    """Past the deadline and its grace, and no speech from before it still being transcribed
    (or waited ``max_wait_s`` for it)."""
    if now_s < due_s + grace_s:
        return False
    return open_since_s is None or open_since_s > due_s or now_s >= due_s + max_wait_s
