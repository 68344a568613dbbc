"""Script compliance: a policy's rules checked against a call's role-labelled segments.

A line may be said anywhere, so phrases are compared with *windows*: each segment, each
sentence and pair of adjacent sentences in it, and two adjacent segments of the same role (at
most ``join_gap_s`` apart: a line split across segments). A phrase's score on a window is
``max(fuzzy, semantic)``:

* fuzzy: rapidfuzz on casefolded, punctuation-stripped text; the phrase aligned inside the
  window (``partial_ratio``, snapped to whole words) or, when the window is shorter than the
  phrase, the plain ``ratio``. Unrelated English already scores about 0.5 at the character
  level, so the similarity r is rescaled to ``(r - fuzzy_floor) / (1 - fuzzy_floor)``. It
  forgives ASR errors ("thank you for coling north wind").
* semantic: cosine similarity of MiniLM sentence embeddings; it forgives paraphrase.

A phrase matches when its score reaches the line's threshold and the window holds one of the
line's keywords, if it has any. Each check carries the score its verdict turned on and the
line's threshold (higher: more sign the line was said; for a forbidden phrase, that it was), and
is a *close call* when the two are within ``close_margin``: there the machine is unsure.

All windows of a call are embedded in one batch; policy lines are embedded once and cached by
the embedder. Only segments of a line's role count; when every segment's role is "unknown" all
segments count and each check says so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from itertools import pairwise
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from pipelines.compliance.matching import (
    TextEncoder,
    Window,
    candidate_windows,
    has_keyword,
    similarity_matrix,
)
from pipelines.compliance.policy import (
    Closing,
    Conditional,
    ForbiddenPhrase,
    Line,
    Order,
    Policy,
    RequiredLine,
    Rule,
)
from pipelines.core.types import ComplianceCheck, ComplianceResult, Evidence, ModelInfo, Segment

logger = logging.getLogger(__name__)


class ComplianceChecker(Protocol):
    """Applies a policy to a call's segments."""

    @property
    def models(self) -> tuple[ModelInfo, ...]: ...

    def check(self, segments: Sequence[Segment], policy: Policy) -> ComplianceResult: ...


@dataclass(frozen=True, slots=True)
class MatchOptions:
    fuzzy_floor: float = 0.5  # rapidfuzz similarity of unrelated text: rescaled to 0
    join_gap_s: float = 2.0  # join two same-role segments at most this far apart
    keyword_ratio: float = 0.85  # fuzzy containment a keyword (5+ characters) needs
    close_margin: float = 0.05  # a score this near the threshold makes a close call


@dataclass(frozen=True, slots=True)
class Verdict:
    """A rule's outcome, and the matcher score it turned on (None: no score decides it)."""

    passed: bool
    evidence: tuple[Evidence, ...]
    detail: str
    score: float | None = None
    threshold: float | None = None

    def gauged(self, hit: Hit | None, line: Line) -> Verdict:
        """This verdict with ``hit``'s score against ``line``'s threshold."""
        score = max(hit.score, 0.0) if hit is not None else 0.0
        return replace(self, score=round(score, 3), threshold=line.threshold)


@dataclass(frozen=True, slots=True)
class Hit:
    """A line's best phrase on a window; ``matched`` when above threshold with a keyword."""

    window: Window
    score: float
    phrase: str
    matched: bool

    @property
    def evidence(self) -> tuple[Evidence, ...]:
        score = round(self.score, 3)
        return tuple(
            replace(p, start=round(p.start, 3), end=round(p.end, 3), score=score)
            for p in self.window.parts
        )


@dataclass
class _Call:
    """One call's windows and scores, with the rule anchors found so far."""

    policy: Policy
    windows: tuple[Window, ...]
    scores: npt.NDArray[np.float64]
    columns: dict[str, int]
    any_role: bool
    options: MatchOptions
    call_end: float
    anchors: dict[str, Hit | None] = field(default_factory=dict)

    def candidates(self, line: Line) -> list[Hit]:
        cols = [self.columns[p] for p in line.phrases]
        out = []
        for i, window in enumerate(self.windows):
            if self.any_role or window.role == line.role:
                best = int(np.argmax(self.scores[i, cols]))
                score = float(self.scores[i, cols[best]])
                ok = score >= line.threshold and has_keyword(
                    window.text, line.keywords, self.options.keyword_ratio
                )
                out.append(Hit(window, score, line.phrases[best], ok))
        return out

    def anchor(self, rule_id: str) -> Hit | None:
        """The first on-time match of a required_line or closing rule, else its first match."""
        if rule_id not in self.anchors:
            rule = self.policy.rule(rule_id)
            assert isinstance(rule, RequiredLine | Closing)
            hits = _matched(self.candidates(rule.line))
            timely = [h for h in hits if _on_time(rule, h, self.call_end)]
            self.anchors[rule_id] = _first(timely or hits)
        return self.anchors[rule_id]


def _matched(hits: Iterable[Hit]) -> list[Hit]:
    """Matching hits, without windows that merely contain a tighter matching window."""
    found = [h for h in hits if h.matched]
    return [h for h in found if not any(_inside(g.window, h.window) for g in found)]


def _inside(inner: Window, outer: Window, eps: float = 1e-6) -> bool:
    shorter = inner.end - inner.start < outer.end - outer.start - eps
    return shorter and inner.start >= outer.start - eps and inner.end <= outer.end + eps


def _when(hit: Hit) -> tuple[float, float]:
    return hit.window.start, hit.window.end


def _first(hits: Sequence[Hit]) -> Hit | None:
    return min(hits, key=_when, default=None)


def _best(hits: Sequence[Hit]) -> Hit | None:
    return max(hits, key=lambda h: h.score, default=None)


def _on_time(rule: RequiredLine | Closing, hit: Hit, call_end: float) -> bool:
    if isinstance(rule, Closing):  # the second half of a short call: a greeting is no closing
        return hit.window.end >= max(call_end - rule.last_s, call_end / 2)
    if rule.within_s is not None:
        return hit.window.start <= rule.within_s
    return rule.before_s is None or hit.window.end <= rule.before_s


def _said(hit: Hit | None) -> str:
    if hit is None:
        return "nothing said by that role"
    return f"{hit.score:.2f} at {hit.window.start:.1f} s: {hit.window.text!r} ~ {hit.phrase!r}"


def _miss(line: Line, best: Hit | None) -> str:
    if best is not None and best.score >= line.threshold:
        return f"no match: closest lacks keyword {' / '.join(line.keywords)} ({_said(best)})"
    return f"no match >= {line.threshold:.2f} (closest {_said(best)})"


def _evidence(*hits: Hit | None) -> tuple[Evidence, ...]:
    return tuple(e for h in hits if h is not None for e in h.evidence)


def _fail(detail: str, *hits: Hit | None) -> Verdict:
    return Verdict(False, _evidence(*hits), detail)


def _pass(detail: str, *hits: Hit | None) -> Verdict:
    return Verdict(True, _evidence(*hits), detail)


def _required(rule: RequiredLine | Closing, call: _Call) -> Verdict:
    """The verdict, gauged by the best timely match when passed, else the best candidate."""
    candidates = call.candidates(rule.line)
    timely = [h for h in _matched(candidates) if _on_time(rule, h, call.call_end)]
    verdict = _required_verdict(rule, call, candidates, timely)
    return verdict.gauged(_best(timely if verdict.passed else candidates), rule.line)


def _required_verdict(
    rule: RequiredLine | Closing, call: _Call, candidates: list[Hit], timely: list[Hit]
) -> Verdict:
    hits = _matched(candidates)
    if not hits:
        best = _best(candidates)
        return _fail(_miss(rule.line, best), best)
    if isinstance(rule, Closing) and not timely:
        last = max(hits, key=lambda h: h.window.end)
        limit = f"in the last {rule.last_s:g} s (call ends at {call.call_end:.1f} s)"
        return _fail(f"said too early: {_said(last)}; required {limit}", last)
    if not timely and isinstance(rule, RequiredLine):
        late = _first(hits)
        limit = f"within {rule.within_s:g} s" if rule.within_s else f"before {rule.before_s:g} s"
        return _fail(f"said too late: {_said(late)}; required {limit}", late)
    note = ""
    if isinstance(rule, RequiredLine) and rule.after_rule is not None:
        other = call.anchor(rule.after_rule)
        if other is None:
            return _fail(f"{rule.after_rule} never matched", _first(timely))
        timely = [h for h in timely if h.window.start >= other.window.start]
        if not timely:
            detail = f"not said after {rule.after_rule} ({other.window.start:.1f} s)"
            return _fail(detail, _first(hits), other)
    hit = _first(timely) if isinstance(rule, RequiredLine) else max(timely, key=_when)
    assert hit is not None
    if isinstance(rule, RequiredLine) and rule.before_rule is not None:
        other = call.anchor(rule.before_rule)
        if other is None:
            note = f"; {rule.before_rule} never matched: the order holds vacuously"
        elif hit.window.start > other.window.start:
            after = f"after {rule.before_rule} at {other.window.start:.1f} s"
            return _fail(f"first said at {hit.window.start:.1f} s, {after}", hit, other)
    return _pass(f"said: {_said(hit)}{note}", hit)


def _forbidden(rule: ForbiddenPhrase, call: _Call) -> Verdict:
    candidates = call.candidates(rule.line)
    kept: list[Hit] = []  # the tightest matching windows that do not overlap in time
    for hit in sorted(
        _matched(candidates), key=lambda h: (h.window.end - h.window.start, -h.score)
    ):
        w = hit.window
        if all(min(w.end, k.window.end) - max(w.start, k.window.start) <= 1e-6 for k in kept):
            kept.append(hit)
    best = _best(candidates)
    if not kept:
        return _pass(f"not said (closest {_said(best)})").gauged(best, rule.line)
    kept.sort(key=lambda h: h.window.start)
    said = _fail(f"said {len(kept)} time(s); first {_said(kept[0])}", *kept)
    return said.gauged(_best(kept), rule.line)


def _conditional(rule: Conditional, call: _Call) -> Verdict:
    trigger = _first(_matched(call.candidates(rule.trigger)))
    if trigger is None:
        return _pass("trigger never happened: passes vacuously")
    low = trigger.window.start - rule.within_s_before
    high = trigger.window.end + rule.within_s_after
    candidates = [h for h in call.candidates(rule.response) if low <= h.window.start <= high]
    answers = _matched(candidates)
    response = _first(answers)
    if response is not None:
        answered = _pass(f"trigger {_said(trigger)}; answered {_said(response)}", trigger, response)
        return answered.gauged(_best(answers), rule.response)
    best = _best(candidates)
    detail = f"trigger {_said(trigger)}; no response within {rule.within_s_after:g} s: "
    return _fail(detail + _miss(rule.response, best), trigger, best).gauged(best, rule.response)


def _order(rule: Order, call: _Call) -> Verdict:
    found = [(rid, hit) for rid in rule.sequence if (hit := call.anchor(rid)) is not None]
    missing = [rid for rid in rule.sequence if call.anchor(rid) is None]
    note = f"; never matched (skipped): {', '.join(missing)}" if missing else ""
    for (a, hit_a), (b, hit_b) in pairwise(found):
        if hit_b.window.start < hit_a.window.start:
            detail = (
                f"{b} ({hit_b.window.start:.1f} s) came before {a} ({hit_a.window.start:.1f} s)"
            )
            return _fail(detail + note, hit_a, hit_b)
    timeline = ", ".join(f"{rid} {hit.window.start:.1f} s" for rid, hit in found)
    return _pass(f"in order: {timeline or 'none'}{note}", *(h for _, h in found))


_EVALUATORS: dict[type, Callable[[Any, _Call], Verdict]] = {
    RequiredLine: _required,
    ForbiddenPhrase: _forbidden,
    Conditional: _conditional,
    Order: _order,
    Closing: _required,
}


def evaluate(rule: Rule, call: _Call) -> ComplianceCheck:
    """One rule's verdict on a prepared call, with the score it turned on."""
    verdict = _EVALUATORS[type(rule)](rule, call)
    detail = verdict.detail
    if call.any_role and not isinstance(rule, Order):
        detail += " (every role is unknown: all segments considered)"
    score, threshold = verdict.score, verdict.threshold
    close = (
        score is not None
        and threshold is not None
        and abs(score - threshold) <= call.options.close_margin + 1e-9
    )
    return ComplianceCheck(
        rule.id, rule.kind, verdict.passed, rule.severity, rule.weight, verdict.evidence, detail,
        score=score, threshold=threshold, close_call=close,
    )  # fmt: skip


def passes(score: float, checks: Sequence[ComplianceCheck], pass_score: float) -> bool:
    """A call passes at or above ``pass_score`` when no critical check failed."""
    critical = any(c.severity == "critical" and not c.passed for c in checks)
    return score >= pass_score - 1e-9 and not critical


def scorecard(checks: Sequence[ComplianceCheck], pass_score: float) -> tuple[float, bool]:
    """Score 0-100 (passed / total weight) and whether the call passes."""
    total = sum(c.weight for c in checks)
    score = 100.0 * sum(c.weight for c in checks if c.passed) / total if total > 0 else 100.0
    return round(score, 2), passes(score, checks, pass_score)


class ScriptComplianceChecker:
    """Checks calls against policies; without an embedder it matches by spelling only."""

    def __init__(self, embedder: TextEncoder | None, options: MatchOptions | None = None) -> None:
        self.embedder = embedder
        self.options = options if options is not None else MatchOptions()

    @property
    def models(self) -> tuple[ModelInfo, ...]:
        return (self.embedder.info,) if self.embedder is not None else ()

    def check(self, segments: Sequence[Segment], policy: Policy) -> ComplianceResult:
        began = time.perf_counter()
        windows = candidate_windows(segments, self.options.join_gap_s)
        any_role = bool(segments) and all(s.role == "unknown" for s in segments)
        if any_role:
            logger.warning("no segment has a role: compliance considers every segment")
        phrases = list(dict.fromkeys(p for line in policy.lines for p in line.phrases))
        texts = list(dict.fromkeys(w.text for w in windows))
        heard = {(w.text, "unknown" if any_role else w.role) for w in windows}
        roles = {p: {ln.role for ln in policy.lines if p in ln.phrases} for p in phrases}
        eligible = np.array(
            [[any_role or any((t, r) in heard for r in roles[p]) for p in phrases] for t in texts],
            dtype=bool,
        ).reshape(len(texts), len(phrases))
        scores = similarity_matrix(
            texts, phrases, self.embedder, self.options.fuzzy_floor, eligible
        )
        row = {t: i for i, t in enumerate(texts)}
        call = _Call(
            policy=policy,
            windows=windows,
            scores=scores[[row[w.text] for w in windows]].reshape(len(windows), len(phrases)),
            columns={p: j for j, p in enumerate(phrases)},
            any_role=any_role,
            options=self.options,
            call_end=max((s.end for s in segments), default=0.0),
        )
        checks = tuple(evaluate(rule, call) for rule in policy.rules)
        score, passed = scorecard(checks, policy.pass_score)
        logger.debug(
            "policy %s: %d windows x %d phrases checked in %.3f s; score %.1f",
            policy.id, len(windows), len(phrases), time.perf_counter() - began, score,
        )  # fmt: skip
        return ComplianceResult(policy.id, policy.version, policy.sha256, score, passed, checks)


def compliance_to_dict(result: ComplianceResult) -> dict[str, Any]:
    """The record's ``compliance`` object."""
    return {
        "policy": {"id": result.policy_id, "version": result.policy_version,
                   "sha256": result.policy_sha256},
        "score": result.score,
        "passed": result.passed,
        "checks": [asdict(check) for check in result.checks],
    }  # fmt: skip
