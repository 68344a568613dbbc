"""Order, account and case numbers said in a call; driver clustering and key terms."""

from __future__ import annotations

import numpy as np

from models.text_embedding import SentenceEmbedder
from pipelines.analytics.drivers import DriverOptions, discover, key_terms, label_of, nearest
from pipelines.core.types import Segment
from pipelines.pii.references import Reference, references_in, spoken_references


def test_numbers_after_a_cue_are_read_as_said() -> None:
    assert list(references_in("The reference is H K 7 7 2. The postcode is SW9.")) == [
        Reference("case", "HK772")
    ]
    assert list(references_in("my order number is four four one nine two")) == [
        Reference("order", "44192")
    ]
    assert list(references_in("Account 55-21-90, and my case is CS1234.")) == [
        Reference("account", "552190"),
        Reference("case", "CS1234"),
    ]
    # no cue, too few digits, or a cue far from any number: nothing
    assert list(references_in("I paid 4 4 1 9 2 pounds")) == []
    assert list(references_in("order 12")) == []
    assert list(references_in("my account number is 4111 1111 1111 1111")) == []  # a card
    assert list(references_in("my order arrived broken and I want a refund")) == []


def test_a_number_answers_the_turn_that_asked_for_it() -> None:
    texts = [
        "Can I have your order number and the name on the order, please?",
        "It's 3 4 6 1 2. Maria Lopez.",
        "Thanks. Your account is up to date.",
        "Great, 5 5 5 pounds is fine.",  # no cue asked for this one: not a reference
    ]
    segments = tuple(Segment(i, i, i + 1.0, t, (), "en", 0.9) for i, t in enumerate(texts))
    assert spoken_references(segments) == (Reference("order", "34612"),)


def test_a_call_lists_each_reference_once_in_order() -> None:
    segments = tuple(
        Segment(i, i, i + 1.0, text, (), "en", 0.9)
        for i, text in enumerate(["Order 8 8 1 2 3 please.", "Yes, order 88123.", "Case 9 9 0."])
    )
    assert spoken_references(segments) == (Reference("order", "88123"), Reference("case", "990"))


def test_similar_reasons_form_a_driver_with_readable_terms(embedder: SentenceEmbedder) -> None:
    reasons = [
        "My parcel has not arrived yet.",
        "The delivery is late, the tracking says it is stuck.",
        "My order still hasn't been delivered.",
        "I was charged twice on my card.",
        "There is a double payment on my statement.",
        "You took the money from my card two times.",
        "What time do you open on Sunday?",
    ]
    vectors = embedder.encode(reasons).astype(np.float64)
    groups = discover(vectors, DriverOptions())
    assert sorted(map(sorted, groups)) == [[0, 1, 2], [3, 4, 5]]
    terms = key_terms({"late": reasons[:3], "charged": reasons[3:6]}, max_terms=4)
    assert any("deliver" in t or "arrived" in t or "tracking" in t for t in terms["late"])
    assert any("card" in t or "charged" in t or "payment" in t for t in terms["charged"])
    assert label_of(["late delivery", "parcel"], 3) == "Late delivery / parcel"
    found = nearest(vectors[4], vectors[[0, 3]])
    assert found is not None and found[0] == 1
