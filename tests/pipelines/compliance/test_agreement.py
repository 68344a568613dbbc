"""Agreement of machine compliance verdicts with reviewers: hand-computed small cases."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence

import pytest
from sklearn.metrics import cohen_kappa_score, confusion_matrix

from pipelines.compliance.agreement import (
    ReviewedCheck,
    RuleAgreement,
    SuggestedThreshold,
    agreement_by_rule,
    cohens_kappa,
    suggest_threshold,
)

T, F = True, False


def check(
    machine: bool,
    human: bool,
    *,
    rule: str = "greeting",
    kind: str = "required_line",
    score: float | None = None,
    threshold: float | None = 0.75,
    call: str = "c",
) -> ReviewedCheck:
    return ReviewedCheck(call, rule, kind, machine, human, score, threshold)


def scored(
    scores: Sequence[float],
    human: Sequence[bool],
    *,
    kind: str = "required_line",
    threshold: float | None = 0.75,
) -> list[ReviewedCheck]:
    return [
        check(h, h, kind=kind, score=s, threshold=threshold, call=f"c{i}")
        for i, (s, h) in enumerate(zip(scores, human, strict=True))
    ]


# 10 reviewed calls: 5 both pass, 2 false passes, 1 false fail, 2 both fail.
MACHINE_10 = [T] * 5 + [T, T] + [F] + [F, F]
HUMAN_10 = [T] * 5 + [F, F] + [T] + [F, F]


def test_kappa_hand_computed_and_matches_sklearn() -> None:
    # p_o = 7/10 = 0.7; machine passes 7/10, human 6/10;
    # p_e = 0.7*0.6 + 0.3*0.4 = 0.54; kappa = (0.7 - 0.54) / (1 - 0.54) = 0.16/0.46 = 0.347826...
    assert cohens_kappa(MACHINE_10, HUMAN_10) == 0.3478
    assert cohens_kappa(MACHINE_10, HUMAN_10) == round(cohen_kappa_score(MACHINE_10, HUMAN_10), 4)
    # sklearn's confusion matrix (rows: human, cols: machine): 2 false passes, 1 false fail
    (tn, fp), (fn, tp) = confusion_matrix(HUMAN_10, MACHINE_10, labels=[F, T])
    assert (tn, fp, fn, tp) == (2, 2, 1, 5)


def test_kappa_matches_sklearn_on_random_cases() -> None:
    rng = random.Random(7)
    for _ in range(50):
        n = rng.randint(2, 20)
        m = [rng.random() < 0.6 for _ in range(n)]
        h = [rng.random() < 0.6 for _ in range(n)]
        ours = cohens_kappa(m, h)
        if ours is None:
            assert len(set(m) | set(h)) == 1
        else:
            assert ours == pytest.approx(cohen_kappa_score(m, h), abs=5e-5)


def test_kappa_edge_cases() -> None:
    assert cohens_kappa([], []) is None
    assert cohens_kappa([T, T, T], [T, T, T]) is None  # p_e == 1: undefined
    assert cohens_kappa([F, F], [F, F]) is None
    assert cohens_kappa([T, T], [F, F]) == 0.0  # p_o = 0, p_e = 0
    assert cohens_kappa([T, F], [F, T]) == -1.0  # p_o = 0, p_e = 0.5
    assert cohens_kappa([T, F], [T, F]) == 1.0
    with pytest.raises(ValueError):
        cohens_kappa([T], [T, F])


def test_rule_agreement_ten_calls() -> None:
    items = [
        check(m, h, call=f"c{i}") for i, (m, h) in enumerate(zip(MACHINE_10, HUMAN_10, strict=True))
    ]
    (row,) = agreement_by_rule(items)
    assert (row.rule_id, row.kind, row.reviewed, row.agreed) == ("greeting", "required_line", 10, 7)
    assert row.agreement == 0.7
    assert row.kappa == 0.3478
    assert (row.false_passes, row.false_fails) == (2, 1)
    assert row.threshold == 0.75
    assert row.suggested is None  # no scores
    assert row.low_agreement  # 10 >= 5 and 0.7 < 0.8


def test_suggest_required_line() -> None:
    items = scored([0.5, 0.6, 0.7, 0.8], [F, F, T, T])
    # at 0.75 only 0.8 passes: 3/4; the midpoint 0.65 splits the reviewers exactly
    assert suggest_threshold(items) == SuggestedThreshold(0.65, 1.0, 0.75)


def test_suggest_forbidden_direction() -> None:
    # a forbidden phrase passes below the threshold: low scores are the calls that passed
    items = scored([0.5, 0.6, 0.7, 0.8], [T, T, F, F], kind="forbidden_phrase")
    # at 0.75 only 0.8 fails: 3/4; at 0.65 all 4 right
    assert suggest_threshold(items) == SuggestedThreshold(0.65, 1.0, 0.75)
    # the same data read as a required line: 0.65 gets none right; all-fail or all-pass get 2/4,
    # and just above the highest (0.801) is nearer the current 0.75 than just below the lowest
    required = scored([0.5, 0.6, 0.7, 0.8], [T, T, F, F])
    assert suggest_threshold(required) == SuggestedThreshold(0.801, 0.5, 0.25)


def test_suggest_tie_goes_to_the_lower_when_equally_near() -> None:
    # candidates 0.199, 0.3, 0.5 (current and midpoint), 0.7, 0.801
    # at 0.3: F T T T vs F T F T -> 3; at 0.7: F F F T -> 3; at 0.5: F F T T -> 2
    items = scored([0.2, 0.4, 0.6, 0.8], [F, T, F, T], threshold=0.5)
    assert suggest_threshold(items) == SuggestedThreshold(0.3, 0.75, 0.5)


def test_suggest_keeps_current_on_a_tie() -> None:
    items = scored([0.5, 0.9], [F, T], threshold=0.75)
    # 0.7 (midpoint) and 0.75 (current) both get 2/2: current is nearest
    assert suggest_threshold(items) == SuggestedThreshold(0.75, 1.0, 1.0)


def test_suggest_clips_to_unit_interval() -> None:
    items = scored([0.0, 0.5], [T, T], threshold=0.4)
    # everything passes only at or below 0.0: -0.001 is clipped to 0.0
    assert suggest_threshold(items) == SuggestedThreshold(0.0, 1.0, 0.5)
    # a forbidden phrase scored 1.0 fails at any threshold in [0, 1]: 1.001 is clipped to 1.0,
    # which ties with the current 0.9 (1/2 right), and the current is nearest
    high = scored([0.5, 1.0], [T, T], kind="forbidden_phrase", threshold=0.9)
    assert suggest_threshold(high) == SuggestedThreshold(0.9, 0.5, 0.5)


def test_suggest_none_cases() -> None:
    order = [
        check(T, F, rule="order", kind="order", threshold=None, call=f"c{i}") for i in range(5)
    ]
    assert suggest_threshold(order) is None
    assert suggest_threshold(scored([0.5], [T])) is None  # fewer than 2 scored
    assert suggest_threshold(scored([0.5, 0.9], [F, T], threshold=None)) is None
    # unscored items are left out: 2 scored of 3
    mixed = [*scored([0.5, 0.9], [F, T]), check(T, T, score=None)]
    assert suggest_threshold(mixed) == SuggestedThreshold(0.75, 1.0, 1.0)
    with pytest.raises(ValueError):
        suggest_threshold([check(T, T, score=0.5), check(T, T, rule="other", score=0.6)])


def test_current_threshold_is_the_most_common() -> None:
    items = [
        check(T, T, score=0.9, threshold=0.7, call="a"),
        check(T, T, score=0.8, threshold=0.8, call="b"),
        check(F, F, score=0.6, threshold=0.8, call="c"),
    ]
    (row,) = agreement_by_rule(items)
    assert row.threshold == 0.8
    assert row.suggested is not None
    assert row.suggested.current_agreement == 1.0


def test_grouping_and_sorting() -> None:
    items = [
        check(T, T, rule="a", call="1"),
        check(T, T, rule="a", call="2"),
        check(T, F, rule="c", call="1"),
        check(T, T, rule="c", call="2"),
        check(F, T, rule="b", call="1"),
        check(T, T, rule="b", call="2"),
        check(T, F, rule="order", kind="order", threshold=None, call="1"),
    ]
    rows = agreement_by_rule(iter(items))
    assert [(r.rule_id, r.agreement) for r in rows] == [
        ("order", 0.0),
        ("b", 0.5),
        ("c", 0.5),
        ("a", 1.0),
    ]
    by_id = {r.rule_id: r for r in rows}
    assert (by_id["c"].false_passes, by_id["c"].false_fails) == (1, 0)
    assert (by_id["b"].false_passes, by_id["b"].false_fails) == (0, 1)
    assert by_id["a"].kappa is None  # both raters always "pass"
    assert by_id["order"].kind == "order"
    assert by_id["order"].threshold is None
    assert by_id["order"].suggested is None
    assert agreement_by_rule([]) == ()


def _rule(agreed: int, reviewed: int) -> list[ReviewedCheck]:
    return [check(T, i < agreed, call=f"c{i}") for i in range(reviewed)]


@pytest.mark.parametrize(
    ("agreed", "reviewed", "low_below", "min_reviewed", "low"),
    [
        (3, 5, 0.8, 5, True),  # 0.6 < 0.8, 5 reviewed
        (4, 5, 0.8, 5, False),  # 0.8 is not below 0.8
        (4, 5, 0.81, 5, True),
        (2, 4, 0.8, 5, False),  # 0.5, but only 4 reviewed
        (2, 4, 0.8, 4, True),
        (5, 5, 0.8, 5, False),
    ],
)
def test_low_agreement_bounds(
    agreed: int, reviewed: int, low_below: float, min_reviewed: int, low: bool
) -> None:
    (row,) = agreement_by_rule(
        _rule(agreed, reviewed), low_below=low_below, min_reviewed=min_reviewed
    )
    assert row.agreement == agreed / reviewed
    assert row.low_agreement is low


def test_to_dict_is_json_ready() -> None:
    items = scored([0.5, 0.6, 0.7, 0.8], [F, F, T, T])
    (row,) = agreement_by_rule(items)
    data = row.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["suggested"] == {"threshold": 0.65, "agreement": 1.0, "current_agreement": 0.75}
    assert data["rule_id"] == "greeting"
    none = RuleAgreement("r", "order", 0, 0, None, None, 0, 0, None, None, False).to_dict()
    assert none["suggested"] is None
    assert none["agreement"] is None
