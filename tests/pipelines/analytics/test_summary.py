"""Extractive call summaries with MiniLM: reason, actions, follow-ups, outcome, segments, and an
English version for a caller who spoke Spanish."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from models.text_embedding import SentenceEmbedder
from pipelines.analytics.summary import EmbeddingSummarizer, call_language, units_of
from pipelines.core.types import Role, Segment, Translation

Line = tuple[Role, str] | tuple[Role, str, str, str]


def call(lines: Sequence[Line]) -> tuple[Segment, ...]:
    """Segments from (role, text) or (role, text, language, English translation) lines."""
    out = []
    for i, line in enumerate(lines):
        role, text = line[0], line[1]
        language = line[2] if len(line) == 4 else "en"
        english = Translation("en", line[3]) if len(line) == 4 else None
        out.append(Segment(i, 2.0 * i, 2.0 * i + 1.5, text, (), language, 0.9, role=role,
                           translation=english))  # fmt: skip
    return tuple(out)


@pytest.fixture(scope="module")
def summarizer(embedder: SentenceEmbedder) -> EmbeddingSummarizer:
    return EmbeddingSummarizer(embedder)


RESOLVED: list[Line] = [
    ("agent", "Thanks for calling Northwind, this is Sam. Calls are recorded. How can I help?"),
    ("customer", "Hi. The blender I ordered last week arrived with a cracked jug."),
    ("agent", "I'm sorry to hear that. Can I have your order number?"),
    ("customer", "It's 4 4 1 9 2."),
    ("agent", "Thanks. I've issued a full refund to your card, and you can keep the blender."),
    ("customer", "Oh, that's great, thank you."),
    ("agent", "Is there anything else I can help with today?"),
    ("customer", "No, that's all. Bye."),
]


def test_a_resolved_call_names_its_reason_action_and_segments(
    summarizer: EmbeddingSummarizer,
) -> None:
    summary = summarizer.summarize(call(RESOLVED)).to_dict()
    assert summary["outcome"] == "resolved"
    assert summary["reason"] == {
        "text": "The blender I ordered last week arrived with a cracked jug.",
        "segments": [1],
    }
    assert [a["segments"] for a in summary["actions"]] == [[4]]
    assert "refund" in summary["actions"][0]["text"]
    assert summary["follow_ups"] == [] and summary["english"] is None
    assert summary["text"].startswith("The blender I ordered")
    assert "recorded" not in summary["text"]  # boilerplate never summarizes a call


def test_a_promised_callback_is_a_follow_up(summarizer: EmbeddingSummarizer) -> None:
    lines: list[Line] = [
        ("agent", "Good morning, Brightline Mobile, how can I help?"),
        ("customer", "My phone has had no signal at home since Monday."),
        ("agent", "There is a fault on the mast near you. Our engineers are working on it."),
        ("agent", "I'll text you as soon as it is fixed, and an engineer will call you on Friday."),
        ("customer", "Okay, thanks."),
    ]
    summary = summarizer.summarize(call(lines)).to_dict()
    assert summary["outcome"] == "follow_up"
    assert [f["segments"] for f in summary["follow_ups"]] == [[3]]
    assert summary["outcome_segments"] == [3]
    assert "no signal" in summary["reason"]["text"]


def test_a_hand_over_is_transferred_and_a_refusal_unresolved(
    summarizer: EmbeddingSummarizer,
) -> None:
    handed: list[Line] = [
        ("agent", "Alder Bank, how can I help?"),
        ("customer", "There is a payment on my statement I don't recognise."),
        ("agent", "That is for our fraud team. I'm transferring you to them now, please hold."),
    ]
    refused: list[Line] = [
        ("agent", "Harbor Home, how can I help?"),
        ("customer", "I want a refund for the sofa I bought eight months ago."),
        ("agent", "I'm afraid that is outside our return window."),
        ("customer", "That doesn't help me at all. I'm really not happy."),
        ("agent", "I understand. Thanks for calling."),
    ]
    assert summarizer.summarize(call(handed)).outcome == "transferred"
    assert summarizer.summarize(call(refused)).outcome == "unresolved"


def test_a_spanish_caller_gets_a_summary_in_spanish_and_in_english(
    summarizer: EmbeddingSummarizer,
) -> None:
    lines: list[Line] = [
        ("agent", "Thank you for calling Harbor Home. How can I help?"),
        (
            "customer",
            "Me cobraron dos veces el mismo pedido.",
            "es",
            "I was charged twice for the same order.",
        ),
        ("agent", "I'm sorry. I've refunded the second charge, you'll see it in three days."),
        ("customer", "Perfecto, muchas gracias.", "es", "Perfect, thank you very much."),
    ]
    segments = call(lines)
    assert call_language(units_of(segments)) == "es"
    summary = summarizer.summarize(segments).to_dict()
    assert summary["language"] == "es"
    assert summary["reason"]["text"] == "Me cobraron dos veces el mismo pedido."
    assert summary["english"]["reason"] == {
        "text": "I was charged twice for the same order.",
        "segments": [1],
    }
    assert summary["english"]["text"].startswith("I was charged twice")
    assert summary["outcome"] == "resolved"


def test_silence_gives_an_empty_unresolved_summary(summarizer: EmbeddingSummarizer) -> None:
    summary = summarizer.summarize(()).to_dict()
    assert summary["reason"] is None and summary["actions"] == [] and summary["text"] == ""
    assert summary["outcome"] == "unresolved"
