"""Call reason by meaning: MiniLM similarity of what the customer says to described topics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from models.text_embedding import SentenceEmbedder
from pipelines.analytics.stage import AnalyticsStages, run_analytics, topic_categories
from pipelines.analytics.topics import (
    DEFAULT_CATEGORIES,
    EmbeddingTopicClassifier,
    TopicScore,
)
from pipelines.compliance.policy import OTHER, TopicCategory, load_policy, parse_policy
from pipelines.core.errors import PolicyError
from pipelines.core.types import Audio, AudioSource, CallAudio, Role, Segment, Translation

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data"
SAMPLE_POLICY = ROOT / "samples" / "policies" / "ecommerce-aftersales.yaml"
DEFAULT_LABELS = [c.label for c in DEFAULT_CATEGORIES]

TELECOM_TOPICS = """
topics:
  - label: billing
    description: The customer questions a charge or the amount of their phone bill.
    examples:
      - My bill is higher than usual this month.
      - Why was I charged for extra data?
  - label: network_outage
    description: The customer has no signal, no mobile data or no internet at home.
    examples:
      - I have had no signal since this morning.
      - My home internet keeps dropping.
  - label: plan_change
    description: The customer wants to upgrade, downgrade or change their tariff or plan.
    examples:
      - I want a plan with more data.
      - Can I switch to a cheaper contract?
  - label: roaming
    description: The customer uses or wants to use their phone abroad.
    examples:
      - My phone does not work in Spain.
      - How much does it cost to call from abroad?
  - label: device
    description: The customer's handset or router is broken, lost or needs replacing.
    examples:
      - My phone screen is cracked.
      - The router's lights are all red.
"""


def policy_text(extra: str = "") -> str:
    return (
        "id: telecom-care\nversion: 1\npass_score: 80\n"
        "rules:\n  - {id: greeting, kind: required_line, phrases: [thank you for calling]}\n"
        + extra
    )


@pytest.fixture(scope="module")
def classifier(embedder: SentenceEmbedder) -> EmbeddingTopicClassifier:
    return EmbeddingTopicClassifier(embedder)


def seg(
    text: str,
    role: Role = "customer",
    language: str = "en",
    translation: str | None = None,
    i: int = 0,
) -> Segment:
    english = Translation("en", translation) if translation is not None else None
    return Segment(i, i, i + 1.0, text, (), language, 0.9, role=role, translation=english)


def classify(
    classifier: EmbeddingTopicClassifier,
    segments: list[Segment],
    categories: tuple[TopicCategory, ...] = DEFAULT_CATEGORIES,
) -> tuple[TopicScore, ...]:
    topics = classifier.classify(tuple(segments), categories)
    assert sum(t.score for t in topics) == pytest.approx(1.0, abs=0.01)
    assert [t.score for t in topics] == sorted((t.score for t in topics), reverse=True)
    return topics


def test_late_delivery_complaint_is_delivery(classifier: EmbeddingTopicClassifier) -> None:
    said = [
        "I ordered a coffee table two weeks ago and it still does not arrive.",
        "The parcel was delayed at the regional depot.",
    ]
    both = [seg("Thank you for calling Northwind, how can I help?", role="agent")]
    both += [seg(text, i=i + 1) for i, text in enumerate(said)]
    assert classify(classifier, both)[0].label == "delivery"
    assert classify(classifier, [seg(said[0])])[0].label == "delivery"  # regex cues said other


def test_chit_chat_without_a_reason_is_other(classifier: EmbeddingTopicClassifier) -> None:
    chat = [
        "Hi, yes, I'm good, thank you, how are you?",
        "Oh it's lovely and sunny here today.",
        "Anyway, nice talking to you, bye bye.",
    ]
    topics = classify(classifier, [seg(text, i=i) for i, text in enumerate(chat)])
    assert topics[0].label == OTHER and topics[0].score > 0.9


def test_nothing_said_is_other(classifier: EmbeddingTopicClassifier) -> None:
    assert classify(classifier, []) == (TopicScore(OTHER, 1.0),)
    assert classify(classifier, [seg("...")]) == (TopicScore(OTHER, 1.0),)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("The shoes don't fit, I'd like to return them and get a refund.", "returns"),
        ("I was charged twice for the same order, can you check?", "payment_billing"),
        ("Please cancel my order, I found it cheaper somewhere else.", "cancellation"),
        ("The website shows an error and I can't log in.", "technical_problem"),
    ],
)
def test_default_categories(classifier: EmbeddingTopicClassifier, text: str, label: str) -> None:
    topics = classify(classifier, [seg(text), seg("How can I help you today?", role="agent")])
    assert topics[0].label == label
    assert {t.label for t in topics} <= {*DEFAULT_LABELS, OTHER}


def test_agent_words_do_not_set_the_topic(classifier: EmbeddingTopicClassifier) -> None:
    segments = [
        seg("Do you want to cancel the order or return it for a refund?", role="agent"),
        seg("No, my package never arrived.", i=1),
    ]
    assert classify(classifier, segments)[0].label == "delivery"


def test_redacted_details_are_answers_not_reasons(classifier: EmbeddingTopicClassifier) -> None:
    segments = [
        seg("My delivery came ten days late."),
        seg("My card number is [CARD].", i=1),
        seg("The security code is [CVV].", i=2),
    ]
    assert classify(classifier, segments)[0].label == "delivery"
    moved = [seg("I moved, please deliver my order to [ADDRESS] instead.")]  # an address says why
    assert classify(classifier, moved)[0].label == "delivery"


def test_unknown_roles_read_everyone(classifier: EmbeddingTopicClassifier) -> None:
    segments = [
        seg("Northwind, good morning.", role="unknown"),
        seg("Hi, I can't log in to the app, it says my password is wrong.", role="unknown", i=1),
    ]
    assert classify(classifier, segments)[0].label == "technical_problem"


def test_spanish_segment_is_classified_by_its_translation(
    classifier: EmbeddingTopicClassifier,
) -> None:
    spanish = "Mi pedido todavía no ha llegado, ¿dónde está el paquete?"
    translated = seg(
        spanish, language="es", translation="My order still hasn't arrived, where is the parcel?"
    )
    assert classify(classifier, [translated])[0].label == "delivery"
    # a translation that says something else decides: the Spanish text is not read
    other = seg(spanish, language="es", translation="I would like to return the shoes.")
    assert classify(classifier, [other])[0].label == "returns"
    # without an English translation the (English-only) model does not read it
    assert classify(classifier, [seg(spanish, language="es")]) == (TopicScore(OTHER, 1.0),)


def test_policy_topics_replace_the_default(classifier: EmbeddingTopicClassifier) -> None:
    policy = parse_policy(policy_text(TELECOM_TOPICS))
    categories, source = topic_categories(policy)
    assert [c.label for c in categories] == [
        "billing",
        "network_outage",
        "plan_change",
        "roaming",
        "device",
    ]
    assert source == "policy telecom-care 1"
    said = [seg("Since yesterday I have no bars at all and mobile data doesn't work.")]
    topics = classify(classifier, said, categories)
    assert topics[0].label == "network_outage"
    assert {t.label for t in topics} <= {*(c.label for c in categories), OTHER}
    roaming = classify(classifier, [seg("I'm in Portugal and can't make any calls.")], categories)
    assert roaming[0].label == "roaming"
    assert classify(classifier, [seg("I want to return my shoes.")], categories)[0].label != (
        "returns"
    )
    # a policy without topics keeps the default set
    assert topic_categories(parse_policy(policy_text())) == (DEFAULT_CATEGORIES, "default")
    assert topic_categories(None) == (DEFAULT_CATEGORIES, "default")


def test_policy_topics_schema() -> None:
    policy = parse_policy(policy_text(TELECOM_TOPICS))
    assert policy.topics[0] == TopicCategory(
        "billing",
        "The customer questions a charge or the amount of their phone bill.",
        ("My bill is higher than usual this month.", "Why was I charged for extra data?"),
    )
    assert policy.sha256 != parse_policy(policy_text()).sha256
    bad = {
        "  - {label: other, description: anything}\n": "topic other: label is reserved",
        "  - {label: a, description: x}\n  - {label: a, description: y}\n": "topic a: label is "
        "listed twice",
        "  - {label: 'network outage', description: x}\n": "topic network outage: label may only",
        f"  - {{label: {'x' * 33}, description: x}}\n": "label must be at most 32 characters",
        "  - {label: a}\n": "topic a: description is required",
        "  - {label: a, description: x, examples: ['']}\n": "topic a: examples.0 must not be empty",
        "  - {description: x}\n": "topic #1: label is required",
    }
    for topics, message in bad.items():
        with pytest.raises(PolicyError, match=message):
            parse_policy(policy_text("topics:\n" + topics), source="t.yaml")
    with pytest.raises(PolicyError, match="topics must have at least 1"):
        parse_policy(policy_text("topics: []\n"))


def test_policies_without_topics_keep_their_hash() -> None:
    """Records written before policies had topics still name the same policy hash."""
    stored = json.loads((DATA / "records" / "compliant-return.json").read_text())
    assert load_policy(SAMPLE_POLICY).sha256 == stored["compliance"]["policy"]["sha256"]


@pytest.mark.parametrize(
    ("name", "label"),
    [("compliant-return", "returns"), ("angry-customer", OTHER), ("greeting-mono", OTHER)],
)
def test_recognized_calls(classifier: EmbeddingTopicClassifier, name: str, label: str) -> None:
    """Stored records: whisper's text of real test calls (angry-customer: German, untranslated)."""
    record = json.loads((DATA / "records" / f"{name}.json").read_text())
    segments = [
        Segment(s["id"], s["start"], s["end"], s["text"], (), s["language"], 0.9, role=s["role"])
        for s in record["segments"]
    ]
    assert classify(classifier, segments)[0].label == label


def load_calls(name: str) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = json.loads((DATA / "topics" / f"{name}.json").read_text())[
        "calls"
    ]
    return calls


def call_segments(call: dict[str, Any]) -> list[Segment]:
    return [
        seg(t["text"], t.get("role", "customer"), t.get("language", "en"), t.get("translation"), i)
        for i, t in enumerate(call["turns"])
    ]


# Accuracy of the final options, measured once: tuning 39/41 = 0.95 (threshold and temperature
# were chosen on it), held-out 30/35 = 0.86 (never tuned on; its misses: a bank transfer read as
# delivery, a robot vacuum's sensor error under the threshold, and questions about opening hours,
# gift cards and a partnership given a topic). The regex cues this replaced: 33/41 and 23/35.
# The floors leave room for one more miss each.
@pytest.mark.parametrize(("name", "floor"), [("tuning", 38 / 41), ("heldout", 29 / 35)])
def test_accuracy_on_labelled_utterances(
    classifier: EmbeddingTopicClassifier, name: str, floor: float
) -> None:
    calls = load_calls(name)
    predicted = {c["id"]: classify(classifier, call_segments(c))[0].label for c in calls}
    wrong = {c["id"]: predicted[c["id"]] for c in calls if predicted[c["id"]] != c["label"]}
    accuracy = 1 - len(wrong) / len(calls)
    assert accuracy >= floor, wrong


def test_analytics_records_the_topic_model_and_options(embedder: SentenceEmbedder) -> None:
    call = CallAudio(
        AudioSource("x", "wav", 16000, 1, 1.0), (Audio(np.zeros(16000, np.float32), 16000),)
    )
    stages = AnalyticsStages(topics=EmbeddingTopicClassifier(embedder))
    result = run_analytics((seg("Where is my parcel? It is a week late."),), call, stages)
    assert result.topics[0]["label"] == "delivery"
    assert set(result.topics[0]) == {"label", "score"}
    [model] = result.models
    assert (model.stage, model.name) == ("topics", "all-MiniLM-L6-v2")
    assert model.sha256 == embedder.info.sha256
    assert result.options["topics"] == {
        "categories": "default",
        "labels": DEFAULT_LABELS,
        "threshold": 0.34,
        "temperature": 0.02,
    }
    telecom = parse_policy(policy_text(TELECOM_TOPICS))
    with_policy = run_analytics(
        (seg("My bill is twice what it normally is."),),
        call,
        AnalyticsStages(topics=stages.topics, policy=telecom),
    )
    assert with_policy.topics[0]["label"] == "billing"
    assert with_policy.options["topics"]["categories"] == "policy telecom-care 1"
    assert run_analytics((seg("Where is my parcel?"),), call, AnalyticsStages()).topics == ()
