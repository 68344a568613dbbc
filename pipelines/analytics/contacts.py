"""Who is calling again: the order, account and case numbers said in a call.

Read from the transcript *before* redaction, these numbers are what links a customer's calls
(with the caller's number from the telephony platform). They never reach a record: the service
turns each into a keyed pseudonym (``api.store.contacts``) at once and keeps only that.

A number is a run of digits and single letters (as read out: "H K 7 7 2") or alphanumeric
words with at least ``MIN_DIGITS`` digits in all, said within a few words after a cue
("order number", "my account is", "case reference"). Spoken digits ("seven seven two") are read
as digits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pipelines.core.types import Segment
from pipelines.pii.spoken import UNITS

MIN_DIGITS = 3
REACH = 5  # words between the cue and the number
_TOKEN = re.compile(r"[A-Za-z0-9]+")
_CUES = {
    "order": "order",
    "booking": "order",
    "invoice": "order",
    "tracking": "order",
    "confirmation": "order",
    "pedido": "order",
    "commande": "order",
    "account": "account",
    "membership": "account",
    "customer": "account",
    "cuenta": "account",
    "compte": "account",
    "case": "case",
    "ticket": "case",
    "reference": "case",
    "ref": "case",
    "referencia": "case",
    "dossier": "case",
}
_DIGIT_WORDS = {w: str(v) for w, v in UNITS.items() if w != "o"}  # "o" is a letter too


@dataclass(frozen=True, slots=True)
class Reference:
    """A number that identifies the customer's order, account or case."""

    kind: str  # order | account | case
    value: str  # upper-case letters and digits, as said


def _piece(token: str) -> str | None:
    """What a token adds to a number read out: digits, a single letter, a code; else None."""
    low = token.lower()
    if low in _DIGIT_WORDS:
        return _DIGIT_WORDS[low]
    if token.isdigit() or (len(token) == 1 and token.isalpha()):
        return token.upper()
    if any(c.isdigit() for c in token) and any(c.isalpha() for c in token):
        return token.upper()
    return None


def references_in(text: str) -> Iterable[Reference]:
    """The numbers said after a cue in one text."""
    tokens = _TOKEN.findall(text)
    k = 0
    while k < len(tokens):
        kind = _CUES.get(tokens[k].lower())
        k += 1
        if kind is None:
            continue
        start = next(
            (j for j in range(k, min(k + REACH, len(tokens))) if _piece(tokens[j]) is not None),
            None,
        )
        if start is None:
            continue
        pieces: list[str] = []
        j = start
        while j < len(tokens) and (piece := _piece(tokens[j])) is not None:
            pieces.append(piece)
            j += 1
        value = "".join(pieces)
        if sum(c.isdigit() for c in value) >= MIN_DIGITS:
            yield Reference(kind, value)
            k = j


def spoken_references(segments: Sequence[Segment]) -> tuple[Reference, ...]:
    """Every distinct reference said in the call, in order of first mention."""
    seen: dict[Reference, None] = {}
    for segment in segments:
        for ref in references_in(segment.text):
            seen.setdefault(ref, None)
    return tuple(seen)
