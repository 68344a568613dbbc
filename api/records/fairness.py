"""Does the automation treat every group of callers alike? Per language, accent group or
channel: calls, mean ASR confidence, pass rate, escalation rate and the reviewers' override
rate, each compared with the rest of the tenant's calls.

A group is flagged on a figure when it differs from the pooled rest by more than the margin
(``margin`` for rates, ``confidence_margin`` for ASR confidence), with at least ``min_calls``
calls on each side (fewer: the figure is shown, never flagged). The accent group and channel
are what the platform declared with the call (``metadata.accent_group``, ``metadata.channel``;
the channel defaults to ``upload`` or ``stream``); calls without one form the ``unknown`` group.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.records.search import Window, in_window
from api.store.schema import Call
from api.store.verdicts import is_reviewed

FairnessGroup = Literal["language", "accent_group", "channel"]
FIGURES = ("asr_confidence", "pass_rate", "escalation_rate", "override_rate")
UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class FairnessOptions:
    margin: float = 0.1  # rates: 10 points from the rest
    confidence_margin: float = 0.05
    min_calls: int = 5


def _mean(values: Sequence[float | None]) -> tuple[float | None, int]:
    known = [v for v in values if v is not None]
    return (sum(known) / len(known), len(known)) if known else (None, 0)


def _figures(rows: Sequence[Any]) -> dict[str, tuple[float | None, int]]:
    return {
        "asr_confidence": _mean([r.asr_confidence for r in rows]),
        "pass_rate": _mean([None if r.passed is None else float(r.passed) for r in rows]),
        "escalation_rate": _mean(
            [None if r.escalated is None else float(r.escalated) for r in rows]
        ),
        "override_rate": _mean([float(bool(r.overridden)) for r in rows]),
    }


def fairness_report(
    session: Session,
    tenant: str,
    win: Window,
    group_by: FairnessGroup,
    options: FairnessOptions = FairnessOptions(),
) -> dict[str, Any]:
    column = {"language": Call.language, "accent_group": Call.accent_group, "channel": Call.channel}
    query = in_window(
        select(
            column[group_by].label("key"),
            Call.asr_confidence,
            Call.passed,
            Call.escalated,
            is_reviewed(tenant).label("overridden"),
        ).where(Call.tenant == tenant, Call.status == "done"),
        win,
    )
    rows = session.execute(query).all()
    groups: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        groups[row.key or UNKNOWN].append(row)
    out = []
    for key in sorted(groups, key=lambda k: (-len(groups[k]), k)):
        mine = _figures(groups[key])
        rest = _figures([r for k, g in groups.items() if k != key for r in g])
        flags = []
        for name in FIGURES:
            (value, n), (other, m) = mine[name], rest[name]
            margin = options.confidence_margin if name == "asr_confidence" else options.margin
            if value is None or other is None or min(n, m) < options.min_calls:
                continue
            if abs(value - other) > margin:
                flags.append(
                    {
                        "figure": name,
                        "group": round(value, 4),
                        "rest": round(other, 4),
                        "difference": round(value - other, 4),
                    }
                )
        out.append(
            {
                "key": key,
                "calls": len(groups[key]),
                **{name: None if v is None else round(v, 4) for name, (v, _) in mine.items()},
                "flags": flags,
            }
        )
    return {
        "group_by": group_by,
        **win.as_dict(),
        "margin": options.margin,
        "confidence_margin": options.confidence_margin,
        "min_calls": options.min_calls,
        "groups": out,
    }
