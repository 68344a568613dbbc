"""Call reason: returns, delivery, payment and billing, cancellation, technical problem, other.

Scored from what the customer says (all speech when roles are unknown): each topic has weighted
cue patterns; scores are the share of the cue weight, and ``other`` takes what no cue explains.
English text; other languages are scored on their English translation when one exists.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipelines.types import Segment

TOPIC_CUES: dict[str, tuple[tuple[str, float], ...]] = {
    "returns": (
        (r"\breturn(s|ed|ing)?\b", 2.0),
        (r"\brefund(s|ed)?\b", 1.5),
        (r"\bexchange\b", 1.5),
        (r"\b(send|sent|ship) (it|them) back\b", 2.0),
        (r"\b(wrong|damaged|broken|faulty) (size|item|product|colou?r)\b", 1.5),
        (r"\b(doesn'?t|does not|didn'?t) fit\b", 1.5),
        (r"\breturn label\b", 2.0),
    ),
    "delivery": (
        (r"\bdeliver(y|ed|ies)?\b", 2.0),
        (r"\b(parcel|package|shipment|courier|tracking)\b", 1.5),
        (r"\b(hasn'?t|has not|never|not yet) (arrived|come|been delivered)\b", 2.0),
        (r"\bwhere is my (order|parcel|package)\b", 2.0),
        (r"\b(late|delayed|lost) (order|parcel|package|delivery)\b", 2.0),
        (r"\bship(ping|ped)\b", 1.0),
    ),
    "payment_billing": (
        (r"\b(charged|charge|overcharged|double charged)\b", 2.0),
        (r"\b(payment|pay|paid|invoice|bill|billing|receipt)\b", 1.5),
        (r"\b(card|credit card|debit card|paypal|bank transfer)\b", 1.0),
        (r"\b(price|discount|coupon|voucher|promo code)\b", 1.0),
    ),
    "cancellation": (
        (r"\bcancel(l?ed|l?ing|lation)?\b", 2.5),
        (r"\b(close|terminate) my (account|subscription|membership)\b", 2.5),
        (r"\b(unsubscribe|stop my subscription)\b", 2.0),
        (r"\b(don'?t|do not) want (it|the order) any ?more\b", 1.5),
    ),
    "technical_problem": (
        (r"\b(website|app|site|login|log in|password|checkout)\b", 1.5),
        (r"\b(error|bug|crash(es|ed)?|not working|doesn'?t work|won'?t load|broken link)\b", 2.0),
        (r"\b(can'?t|cannot|unable to) (log in|sign in|pay|check out|order)\b", 2.0),
        (r"\b(device|won'?t turn on|stopped working|set ?up|install)\b", 1.0),
    ),
}
TOPICS = (*TOPIC_CUES, "other")


@dataclass(frozen=True, slots=True)
class TopicOptions:
    min_cue_weight: float = 2.0  # below this much evidence the call is "other"


def _text(segments: Sequence[Segment]) -> str:
    customer = [s for s in segments if s.role == "customer"]
    chosen = customer or list(segments)
    return " ".join(
        (s.translation.text if s.translation and s.language != "en" else s.text).casefold()
        for s in chosen
    )


def topic_scores(
    segments: Sequence[Segment], options: TopicOptions | None = None
) -> tuple[dict[str, Any], ...]:
    """``[{label, score}, ...]`` best first; scores sum to 1."""
    options = options or TopicOptions()
    text = _text(segments)
    weights = {
        topic: sum(weight * len(re.findall(pattern, text)) for pattern, weight in cues)
        for topic, cues in TOPIC_CUES.items()
    }
    evidence = sum(weights.values())
    weights["other"] = max(0.0, options.min_cue_weight - evidence) + (0.0 if evidence else 1.0)
    total = sum(weights.values())
    ranked = sorted(TOPICS, key=lambda topic: (-weights[topic], TOPICS.index(topic)))
    return tuple(
        {"label": topic, "score": round(weights[topic] / total, 3)}
        for topic in ranked
        if weights[topic] > 0
    )
