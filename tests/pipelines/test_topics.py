"""Call reason from what the customer says."""

from __future__ import annotations

import pytest

from pipelines.topics import topic_scores
from pipelines.types import Role, Segment, Translation


def seg(text: str, role: Role = "customer", language: str = "en") -> Segment:
    return Segment(0, 0.0, 1.0, text, (), language, 0.9, role=role)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("The shoes don't fit, I'd like to return them and get a refund.", "returns"),
        ("My parcel hasn't arrived, the tracking says it was delivered yesterday.", "delivery"),
        (
            "I was charged twice for the same order, can you check my card payment?",
            "payment_billing",
        ),
        ("Please cancel my order and close my subscription.", "cancellation"),
        ("The website shows an error and I can't log in to check out.", "technical_problem"),
        ("It was the first great sorrow of his life.", "other"),
    ],
)
def test_call_reason(text: str, label: str) -> None:
    topics = topic_scores((seg(text), seg("How can I help you today?", role="agent")))
    assert topics[0]["label"] == label
    assert sum(t["score"] for t in topics) == pytest.approx(1.0, abs=0.01)


def test_agent_words_do_not_set_the_topic() -> None:
    topics = topic_scores(
        (
            seg("Do you want to cancel or return it?", role="agent"),
            seg("No, my package never arrived."),
        )
    )
    assert topics[0]["label"] == "delivery"


def test_foreign_speech_is_scored_on_its_translation() -> None:
    spanish = Segment(
        0,
        0.0,
        2.0,
        "Quiero devolver los zapatos",
        (),
        "es",
        0.9,
        role="customer",
        translation=Translation("en", "I want to return the shoes"),
    )
    assert topic_scores((spanish,))[0]["label"] == "returns"
