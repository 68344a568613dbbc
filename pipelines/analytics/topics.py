"""Call reason by meaning: what the customer says against described topic categories.

Each category is a label, a description and a few example utterances (``TopicCategory``). The
classifier embeds them with MiniLM (all-MiniLM-L6-v2, cached by the embedder: once per process)
and embeds what the customer said: each sentence and each pair of adjacent sentences (all
speech when no segment has the customer role; a non-English segment through its English
translation, or not at all when it has none, as the model reads English only).

Sentences giving redacted details ("my card number is [CARD]") answer the agent and are not
read. A window's similarity to a category is its best cosine similarity to the description or
an example. Windows closer to small talk (``SMALL_TALK``: greetings, thanks, a bad line, a wrong
number) than to every category are not read either. A category's score is its best similarity
over the windows; ``other`` competes as a category scored at ``threshold``, so it wins exactly
when no category fits that well. The shares are a softmax of the scores at ``temperature``, best
first, summing to 1 (rounded to 3 decimals; zero shares left out).

The e-commerce categories below are the default; a policy's ``topics:`` section replaces them.
Labels are at most 32 characters (the calls table's topic column) and never ``other``.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from pipelines.compliance.policy import OTHER, TopicCategory
from pipelines.core.types import ModelInfo, Segment
from pipelines.pii.text import PLACEHOLDERS

if TYPE_CHECKING:  # policies import the categories; keep that light
    from pipelines.compliance.matching import TextEncoder

logger = logging.getLogger(__name__)

_SENTENCE = re.compile(r"[^.!?;]+[.!?;]*")
_WORD = re.compile(r"\w+")
# Details given when the agent asks for them ("my card number is [CARD]"), not reasons for calling
_DETAILS = tuple(mark for kind, mark in PLACEHOLDERS.items() if kind != "ADDRESS")


DEFAULT_CATEGORIES: tuple[TopicCategory, ...] = (
    TopicCategory(
        "returns",
        "The customer wants to return or exchange an item they received, or asks about the "
        "refund for a returned item: it does not fit, is the wrong item, is damaged or faulty, "
        "or they changed their mind.",
        (
            "I would like to return the shoes I bought and get a refund.",
            "The jacket doesn't fit, can I exchange it for a bigger size?",
            "The item arrived broken, I want my money back.",
            "You sent me the wrong item.",
            "How do I send it back? I need a return label.",
            "I sent the item back but I haven't received my refund yet.",
        ),
    ),
    TopicCategory(
        "delivery",
        "The customer asks where their order is or complains about how it was delivered: the "
        "parcel is late, delayed, lost or has not arrived, came days late or damaged in "
        "transit, was delivered to the wrong place, or they want to track it or change the "
        "delivery date or address.",
        (
            "My order still hasn't arrived.",
            "Where is my parcel? It should have been here last week.",
            "The tracking hasn't updated for days.",
            "It says delivered but I never received the package.",
            "The courier didn't come, the delivery is late.",
            "The delivery came a week late and the box was crushed.",
            "When will my order be delivered?",
            "Can I change the delivery address?",
        ),
    ),
    TopicCategory(
        "payment_billing",
        "The customer has a question or a problem about paying, a charge, a price or an "
        "invoice: charged twice or the wrong amount, a payment that failed, a discount code "
        "that did not work, an invoice or receipt, or paying a balance.",
        (
            "I was charged twice for the same order.",
            "There is a payment on my card statement I don't recognise.",
            "Can you send me an invoice for my purchase?",
            "The discount code didn't work at checkout.",
            "I would like to pay the outstanding balance on my order.",
            "My card was declined but the money left my account.",
        ),
    ),
    TopicCategory(
        "cancellation",
        "The customer wants to cancel an order or part of it before it is sent, or to end a "
        "subscription, membership or their account.",
        (
            "Please cancel my order.",
            "I don't want it anymore, can you stop the order?",
            "I ordered it by mistake, please cancel it before it ships.",
            "I want to cancel my subscription.",
            "I want to close my account.",
        ),
    ),
    TopicCategory(
        "technical_problem",
        "The customer cannot use the website or the app: logging in, passwords, error messages, "
        "pages that do not load, checkout failing, the app crashing; or a device they bought "
        "will not work or set up.",
        (
            "I can't log in to my account.",
            "The app keeps crashing.",
            "The website shows an error when I try to check out.",
            "I reset my password but it still doesn't work.",
            "The page won't load.",
            "The device won't turn on and I can't set it up.",
        ),
    ),
)


# Talk that is no reason for calling, whatever the business: a sentence closer to one of these
# than to every category is not read (greetings, thanks, a bad line, a wrong number).
SMALL_TALK: tuple[str, ...] = (
    "Hello, how are you?",
    "I'm fine, thanks, and you?",
    "Nice weather today, isn't it?",
    "Thank you very much, have a nice day, goodbye.",
    "Sorry, wrong number.",
    "Can you hear me? The line is breaking up.",
    "Okay. Yes. Mm-hm. Right.",
    "I will try calling again another time.",
    "Hold on, just a moment please.",
)


@dataclass(frozen=True, slots=True)
class TopicOptions:
    """Tuned on ``tests/data/topics/tuning.json`` (``tests/pipelines/analytics/test_topics.py``).

    The threshold sits mid-plateau (every threshold from 0.29 to 0.39 gives the same tuning
    accuracy); the temperature minimises the tuning set's log loss.
    """

    threshold: float = 0.34  # best similarity below this: the call is "other"
    temperature: float = 0.02  # softmax temperature of the shares


@dataclass(frozen=True, slots=True)
class TopicScore:
    label: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "score": self.score}


class TopicClassifier(Protocol):
    """The topic stage: a call's reason among categories, best first, shares summing to 1."""

    @property
    def models(self) -> tuple[ModelInfo, ...]: ...

    @property
    def options(self) -> TopicOptions: ...

    def classify(
        self, segments: Sequence[Segment], categories: Sequence[TopicCategory]
    ) -> tuple[TopicScore, ...]: ...


def reason_sentences(segments: Sequence[Segment]) -> list[str]:
    """The customer's sentences in English (all speakers' when no segment is the customer's).

    Sentences with redacted details other than an address (card, security code, phone, e-mail,
    national id, date of birth) are left out: they answer the agent's questions.
    """
    customer = [s for s in segments if s.role == "customer"]
    out: list[str] = []
    for segment in customer or segments:
        if segment.translation is not None and segment.translation.language == "en":
            text = segment.translation.text
        elif segment.language == "en":
            text = segment.text
        else:
            continue  # MiniLM reads English; an untranslated sentence would score at random
        sentences = (m.group().strip() for m in _SENTENCE.finditer(text))
        out += [s for s in sentences if _WORD.search(s) and not any(d in s for d in _DETAILS)]
    return out


def reason_windows(sentences: Sequence[str]) -> list[str]:
    """Each sentence and each pair of adjacent ones (a reason said in two sentences)."""
    return [*sentences, *(f"{a} {b}" for a, b in itertools.pairwise(sentences))]


Matrix = npt.NDArray[np.float64]


class EmbeddingTopicClassifier:
    """Topics by sentence-embedding similarity (see the module docstring).

    Categories and small talk are embedded with the embedder's cache, so after the first call
    only what was said is embedded. Thread-safe when the embedder is.
    """

    def __init__(self, embedder: TextEncoder, options: TopicOptions | None = None) -> None:
        self.embedder = embedder
        self._options = options or TopicOptions()

    @property
    def options(self) -> TopicOptions:
        return self._options

    @property
    def models(self) -> tuple[ModelInfo, ...]:
        return (replace(self.embedder.info, stage="topics"),)

    def similarities(
        self, windows: Sequence[str], categories: Sequence[TopicCategory]
    ) -> tuple[Matrix, Matrix]:
        """Per window: the best similarity to each category's prototypes, and to small talk."""
        prototypes = [p for c in categories for p in c.prototypes]
        owner = np.repeat(np.arange(len(categories)), [len(c.prototypes) for c in categories])
        known = self.embedder.encode([*prototypes, *SMALL_TALK], cache=True)
        sims = (self.embedder.encode(list(windows)) @ known.T).astype(np.float64)
        per_category = np.stack(
            [sims[:, : len(prototypes)][:, owner == k].max(axis=1) for k in range(len(categories))],
            axis=1,
        )
        return per_category, sims[:, len(prototypes) :].max(axis=1)

    def classify(
        self, segments: Sequence[Segment], categories: Sequence[TopicCategory]
    ) -> tuple[TopicScore, ...]:
        windows = reason_windows(reason_sentences(segments))
        if not categories:
            return (TopicScore(OTHER, 1.0),)
        best = np.full(len(categories), -1.0)
        if windows:
            per_category, small_talk = self.similarities(windows, categories)
            read = per_category[small_talk < per_category.max(axis=1)]
            if len(read):
                best = read.max(axis=0)
        topics = shares([c.label for c in categories], best, self._options)
        logger.debug(
            "topic %s (%.3f) from %d windows", topics[0].label, topics[0].score, len(windows)
        )
        return topics


def shares(labels: Sequence[str], scores: Matrix, options: TopicOptions) -> tuple[TopicScore, ...]:
    """Softmax shares of the categories and of ``other`` (scored at the threshold), best first."""
    names = [*labels, OTHER]
    logits = np.append(scores, options.threshold) / options.temperature
    weights = np.exp(logits - logits.max())
    weights /= weights.sum()
    ranked = sorted(range(len(names)), key=lambda i: (-weights[i], i))
    return tuple(
        TopicScore(names[i], round(float(weights[i]), 3))
        for i in ranked
        if round(float(weights[i]), 3) > 0
    )
