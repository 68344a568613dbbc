"""A live alert: what `pipelines.live.alerts` sends to agent desktops and supervisors."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pipelines.compliance.policy import Severity

AlertKind = Literal["compliance", "emotion", "pii"]


@dataclass(frozen=True, slots=True)
class Alert:
    """Something a supervisor should see now.

    ``at_s``: the call time it was raised; ``message``: one line without personal data;
    ``details``: JSON-safe facts (rule kind, deadlines, times, PII types), never transcript text.
    """

    kind: AlertKind
    at_s: float
    severity: Severity
    message: str
    segment_id: int | None = None
    rule_id: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_event(self) -> dict[str, Any]:
        """The stream's ``{"type": "alert", "kind": ..., ...}`` message."""
        return {
            "type": "alert",
            "kind": self.kind,
            "at_s": round(self.at_s, 3),
            "severity": self.severity,
            "segment_id": self.segment_id,
            "rule_id": self.rule_id,
            "message": self.message,
            "details": copy.deepcopy(dict(self.details)),
        }
