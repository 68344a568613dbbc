"""Agreement of machine compliance verdicts with human reviewers, per rule.

For each rule: how often the machine's verdict matches the reviewer's, Cohen's kappa, the false
passes and false fails, and a suggested match threshold: the one at which the matcher's score
alone would best reproduce the reviewers' verdicts. By the score alone at threshold ``t`` a
forbidden phrase passes when ``score < t`` (it was not said); every other kind passes when
``score >= t``. Shares and kappa are rounded to 4 decimals, thresholds to 3.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any

log = logging.getLogger(__name__)

FORBIDDEN_KIND = "forbidden_phrase"
_STEP = 0.001  # "just below / above" a score, at the thresholds' precision


@dataclass(frozen=True, slots=True)
class ReviewedCheck:
    """One rule on one reviewed call: machine verdict, reviewer verdict, matcher score."""

    call_id: str
    rule_id: str
    kind: str  # required_line | forbidden_phrase | conditional | order | closing
    machine: bool  # the machine's verdict (True: passed)
    human: bool  # the reviewer's verdict
    score: float | None  # the matcher's score for the rule on the call (None: not scored)
    threshold: float | None  # the rule's match threshold when scored


@dataclass(frozen=True, slots=True)
class SuggestedThreshold:
    """The threshold where the score alone best matches the reviewers, and the current one's fit."""

    threshold: float  # rounded to 3 decimals
    agreement: float  # share of scored reviewed calls the score alone gets right at ``threshold``
    current_agreement: float  # the same at the current threshold


@dataclass(frozen=True, slots=True)
class RuleAgreement:
    """Machine-vs-reviewer agreement on one rule."""

    rule_id: str
    kind: str
    reviewed: int  # reviewed calls for this rule
    agreed: int
    agreement: float | None  # agreed / reviewed (None when reviewed == 0)
    kappa: float | None  # Cohen's kappa machine vs human (None when undefined)
    false_passes: int  # machine passed, human failed
    false_fails: int  # machine failed, human passed
    threshold: float | None  # the current threshold (the most common one among the items)
    suggested: SuggestedThreshold | None
    low_agreement: bool  # enough reviews and agreement below the bound

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; ``suggested`` nested or None."""
        return asdict(self)


def cohens_kappa(machine: Sequence[bool], human: Sequence[bool]) -> float | None:
    """Cohen's kappa of two binary raters, rounded to 4 decimals.

    None for empty input, or when the expected agreement is 1 (both raters gave every item one
    and the same label), where kappa is undefined.
    """
    if len(machine) != len(human):
        raise ValueError(f"raters differ in length: {len(machine)} != {len(human)}")
    n = len(machine)
    if n == 0:
        return None
    agreed = sum(m == h for m, h in zip(machine, human, strict=True))
    m_pos, h_pos = sum(map(bool, machine)), sum(map(bool, human))
    # p_o = agreed / n, p_e = expected / n**2; in integers to keep the p_e == 1 test exact.
    expected = m_pos * h_pos + (n - m_pos) * (n - h_pos)
    if expected == n * n:
        return None
    return round((n * agreed - expected) / (n * n - expected), 4)


def _passes_by_score(kind: str, score: float, threshold: float) -> bool:
    """The verdict by the score alone: forbidden phrases pass below ``threshold``, others at it."""
    return score < threshold if kind == FORBIDDEN_KIND else score >= threshold


def _current_threshold(items: Iterable[ReviewedCheck]) -> float | None:
    """The most common threshold among ``items`` (ties: the lower); None when none has one."""
    counts = Counter(item.threshold for item in items if item.threshold is not None)
    if not counts:
        return None
    return min(counts, key=lambda t: (-counts[t], t))


def _agreed_by_score(scored: Sequence[tuple[ReviewedCheck, float]], threshold: float) -> int:
    return sum(
        _passes_by_score(item.kind, score, threshold) == item.human for item, score in scored
    )


def _candidates(scores: Sequence[float], current: float) -> set[float]:
    """The current threshold, the midpoints of consecutive distinct scores, and just outside them.

    Rounded to 3 decimals and clipped to [0, 1]; agreement is measured at the rounded values.
    """
    distinct = sorted(set(scores))
    raw = [current, distinct[0] - _STEP, distinct[-1] + _STEP]
    raw += [(lo + hi) / 2 for lo, hi in pairwise(distinct)]
    return {min(1.0, max(0.0, round(c, 3))) for c in raw}


def suggest_threshold(items: Sequence[ReviewedCheck]) -> SuggestedThreshold | None:
    """The threshold at which the score alone best agrees with the reviewers on one rule's items.

    Items without a score are left out. Ties go to the candidate closest to the current threshold,
    then to the lower one. None when fewer than 2 items are scored or none has a threshold.
    """
    rules = {item.rule_id for item in items}
    if len(rules) > 1:
        raise ValueError(f"suggest_threshold takes one rule's items, got {sorted(rules)}")
    scored = [(item, item.score) for item in items if item.score is not None]
    current = _current_threshold(items)
    if len(scored) < 2 or current is None:
        return None
    n = len(scored)

    def rank(candidate: float) -> tuple[int, float, float]:
        # most agreed first, then nearest the current threshold, then the lower
        distance = round(abs(candidate - current), 6)
        return (-_agreed_by_score(scored, candidate), distance, candidate)

    best = min(_candidates([score for _, score in scored], current), key=rank)
    return SuggestedThreshold(
        threshold=round(best, 3),
        agreement=round(_agreed_by_score(scored, best) / n, 4),
        current_agreement=round(_agreed_by_score(scored, current) / n, 4),
    )


def _rule_agreement(
    rule_id: str, items: Sequence[ReviewedCheck], *, low_below: float, min_reviewed: int
) -> RuleAgreement:
    reviewed = len(items)
    agreed = sum(item.machine == item.human for item in items)
    agreement = round(agreed / reviewed, 4) if reviewed else None
    kinds = Counter(item.kind for item in items)
    return RuleAgreement(
        rule_id=rule_id,
        kind=min(kinds, key=lambda k: (-kinds[k], k)) if kinds else "",
        reviewed=reviewed,
        agreed=agreed,
        agreement=agreement,
        kappa=cohens_kappa([item.machine for item in items], [item.human for item in items]),
        false_passes=sum(item.machine and not item.human for item in items),
        false_fails=sum(item.human and not item.machine for item in items),
        threshold=_current_threshold(items),
        suggested=suggest_threshold(items),
        low_agreement=(
            agreement is not None and reviewed >= min_reviewed and agreement < low_below
        ),
    )


def agreement_by_rule(
    items: Iterable[ReviewedCheck], *, low_below: float = 0.8, min_reviewed: int = 5
) -> tuple[RuleAgreement, ...]:
    """Agreement per rule, sorted by agreement ascending (None last), then rule id.

    A rule is flagged ``low_agreement`` when it has at least ``min_reviewed`` reviews and its
    agreement is below ``low_below``.
    """
    groups: dict[str, list[ReviewedCheck]] = defaultdict(list)
    for item in items:
        groups[item.rule_id].append(item)
    rows = [
        _rule_agreement(rule_id, group, low_below=low_below, min_reviewed=min_reviewed)
        for rule_id, group in groups.items()
    ]
    rows.sort(key=lambda r: (r.agreement is None, r.agreement or 0.0, r.rule_id))
    flagged = sum(r.low_agreement for r in rows)
    if flagged:
        log.info("%d of %d rules agree with reviewers below %.2f", flagged, len(rows), low_below)
    return tuple(rows)
