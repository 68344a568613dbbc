"""Which speaker is the agent: from what each says (script lines) and how the call starts.

For stereo calls the channel layout decides. For mono calls every speaker's text is scored
against agent cues (greeting, company name, offers of help, recording disclosure, closing) and
customer cues (my order, I bought, refund, cancel my...). The speaker with the clearest agent
profile is the agent, with a confidence from the score margin; other speakers with a strong
agent profile of their own (a transfer, a supervisor) are agents too, everyone else a customer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from pipelines.core.types import Participant, Role, Segment

AGENT_CUES: tuple[tuple[str, float], ...] = (
    (r"\b(thanks?|thank you) for (calling|contacting|holding|your patience|waiting)\b", 3.0),
    (r"\b(welcome to|you'?ve reached|you are through to|you'?re through to)\b", 2.5),
    (r"\b(you'?re|you are) (speaking|talking) (with|to)\b", 3.0),
    (r"\bmy name is\b", 1.0),
    (r"\bhow (can|may) i (help|assist)\b", 3.0),
    (r"\bwhat can i do for you\b", 2.5),
    (r"\b(is there )?anything else i can (help|do)\b", 2.5),
    (r"\b(this|the) call (is|may be|will be) (being )?(recorded|monitored)\b", 3.0),
    (r"\bquality (and|&) training\b", 2.0),
    (
        r"\b(can|could|may) i (have|get|take) your (name|order|account|email|phone|postcode|zip)\b",
        2.0,
    ),
    (r"\b(let me|i'?ll|i will) (check|look (that|this|it) up|pull up|transfer you)\b", 1.5),
    (r"\bi (can|will) help you with (that|this)\b", 2.0),
    (r"\b(i )?apologi[sz]e for the inconvenience\b", 1.5),
    (r"\bhave a (great|good|nice|lovely) (day|evening|weekend)\b", 1.0),
    (r"\bfor security (purposes|reasons)\b", 2.0),
    (
        r"\b(gracias por llamar|en qué puedo ayudarle"
        r"|merci d'avoir appelé|comment puis-je vous aider)\b",
        3.0,
    ),
)
CUSTOMER_CUES: tuple[tuple[str, float], ...] = (
    (r"\bmy (order|parcel|package|account|card|refund|delivery|money|subscription)\b", 1.5),
    (r"\bi (bought|ordered|purchased|received|paid|was charged)\b", 1.5),
    (r"\bi'?d like to (return|cancel|change|complain|know)\b", 2.0),
    (r"\bi want(ed)? to (return|cancel|complain|know)\b", 2.0),
    (r"\bwhere is my\b", 2.0),
    (r"\b(hasn'?t|has not|never) (arrived|come|been delivered)\b", 1.5),
    (r"\bi'?m calling (about|because|to)\b", 2.0),
)


@dataclass(frozen=True, slots=True)
class RoleOptions:
    company_names: tuple[str, ...] = ()
    first_speaker_bonus: float = 0.5
    second_agent_score: float = 5.0
    min_margin: float = 1.0


def _score(text: str, cues: Iterable[tuple[str, float]]) -> float:
    return sum(weight * len(re.findall(pattern, text)) for pattern, weight in cues)


def role_scores(
    segments: tuple[Segment, ...], options: RoleOptions
) -> dict[str, tuple[float, float]]:
    """(agent score, customer score) per speaker."""
    text: dict[str, str] = {}
    for segment in segments:
        if segment.speaker is not None:
            text[segment.speaker] = text.get(segment.speaker, "") + " " + segment.text.casefold()
    company = tuple((rf"\b{re.escape(name.casefold())}\b", 2.0) for name in options.company_names)
    scores = {
        speaker: (_score(spoken, AGENT_CUES + company), _score(spoken, CUSTOMER_CUES))
        for speaker, spoken in text.items()
    }
    first = next((s.speaker for s in segments if s.speaker is not None), None)
    if first is not None and len(scores) > 1:
        agent, customer = scores[first]
        scores[first] = (agent + options.first_speaker_bonus, customer)
    return scores


def identify_roles(
    segments: tuple[Segment, ...], options: RoleOptions | None = None
) -> tuple[Participant, ...]:
    """Participants of a mono call with roles and a confidence in [0, 1]."""
    options = options or RoleOptions()
    scores = role_scores(segments, options)
    if not scores:
        return ()
    profile = {speaker: agent - customer for speaker, (agent, customer) in scores.items()}
    ranked = sorted(profile, key=lambda speaker: -profile[speaker])
    best = ranked[0]
    runner_up = profile[ranked[1]] if len(ranked) > 1 else 0.0
    margin = profile[best] - runner_up
    if scores[best][0] == 0 or margin < options.min_margin:
        return tuple(Participant(s, "unknown", None, 0.0) for s in sorted(scores))
    confidence = round(1.0 / (1.0 + math.exp(-margin)), 3)
    participants = []
    for speaker in sorted(scores):
        role: Role = "agent" if speaker == best else "customer"
        if speaker != best and scores[speaker][0] >= options.second_agent_score:
            role = "agent"
        participants.append(Participant(speaker, role, None, confidence))
    return tuple(participants)
