"""The company's words: validation, and how their spoken forms widen the compliance matcher."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.text_embedding import SentenceEmbedder
from pipelines.compliance.checker import ScriptComplianceChecker
from pipelines.compliance.policy import Conditional, Policy, RequiredLine, policy_from_dict
from pipelines.compliance.vocabulary import (
    Term,
    Vocabulary,
    load_vocabulary,
    parse_terms,
    with_vocabulary,
)
from pipelines.core.errors import InvalidRequestError
from pipelines.core.types import Segment

QWIKPAY = Vocabulary((Term("Qwikpay", ("quick pay", "quickpay")),), version=3)


def offer_policy() -> Policy:
    rule = {
        "id": "offer_qwikpay", "kind": "required_line", "role": "agent",
        "phrases": ["you can pay with Qwikpay"], "keywords": ["Qwikpay"],
    }  # fmt: skip
    trigger = {"role": "customer", "phrases": ["how can I pay"]}
    response = {"role": "agent", "phrases": ["Qwikpay is the fastest way"], "keywords": ["Qwikpay"]}
    answer = {"id": "answer", "kind": "conditional", "if": trigger,
              "then": {**response, "within_s_after": 30}}  # fmt: skip
    return policy_from_dict({"id": "p", "version": 1, "pass_score": 50, "rules": [rule, answer]})


def test_terms_are_validated_and_kept_once() -> None:
    terms = parse_terms(["Brightline", {"term": " Flexi  Roam ", "spoken": ["flexy roam"]}])
    assert terms == (Term("Brightline"), Term("Flexi Roam", ("flexy roam",)))
    bad: list[object] = [
        "Brightline",
        [{"term": ""}],
        [{"term": "x" * 65}],
        [{"term": "card 4111 1111"}],
        [{"term": "mail me at a@b.com"}],
        [{"term": "A", "spoken": "a"}],
        [{"term": "A", "spoken": ["a1", "a2", "a3", "a4", "a5", "a6"]}],
        [{"term": "A", "extra": 1}],
        ["Brightline", "brightline"],
        ["tab\there"],
        [f"term {i}" for i in range(201)],
    ]
    for data in bad:
        with pytest.raises(InvalidRequestError):
            parse_terms(data)


def test_spoken_forms_widen_phrases_and_keywords_not_the_policy_identity() -> None:
    policy = offer_policy()
    widened = with_vocabulary(policy, QWIKPAY)
    rule = widened.rules[0]
    assert isinstance(rule, RequiredLine)
    assert rule.line.keywords == ("Qwikpay", "quick pay", "quickpay")
    assert rule.line.phrases[1:] == ("you can pay with quick pay", "you can pay with quickpay")
    answer = widened.rules[1]
    assert isinstance(answer, Conditional) and "quick pay" in answer.response.keywords
    assert answer.trigger.phrases == ("how can I pay",)  # no term: unchanged
    assert (widened.id, widened.version, widened.sha256) == (
        policy.id, policy.version, policy.sha256,
    )  # fmt: skip
    assert with_vocabulary(policy, Vocabulary((Term("Qwikpay"),))) is policy


def test_a_misheard_product_name_passes_only_with_the_vocabulary(
    embedder: SentenceEmbedder,
) -> None:
    """Whisper writes "quick pay" for Qwikpay: the keyword gate fails it, the spoken form
    lets it through."""
    checker = ScriptComplianceChecker(embedder)
    segments = [
        Segment(0, 0.0, 3.0, "How can I pay for this?", (), "en", 0.9,
                speaker="customer", role="customer"),
        Segment(1, 4.0, 8.0, "You can pay with quick pay, it is the fastest way.", (),
                "en", 0.9, speaker="agent", role="agent"),
    ]  # fmt: skip
    policy = offer_policy()
    without = checker.check(segments, policy)
    with_words = checker.check(segments, with_vocabulary(policy, QWIKPAY))
    assert [c.passed for c in without.checks] == [False, False]
    assert [c.passed for c in with_words.checks] == [True, True]
    assert with_words.policy_sha256 == without.policy_sha256


def test_a_vocabulary_file(tmp_path: Path) -> None:
    path = tmp_path / "words.yaml"
    path.write_text("terms:\n  - term: Qwikpay\n    spoken: [quick pay]\n", encoding="utf-8")
    words = load_vocabulary(path)
    assert words.terms == (Term("Qwikpay", ("quick pay",)),) and words.version is None
    assert words.provenance() == {"version": None, "sha256": words.sha256, "terms": 1}
    path.write_text("- term: [not, text]\n", encoding="utf-8")
    with pytest.raises(InvalidRequestError, match=r"words\.yaml"):
        load_vocabulary(path)
