"""Who is calling again: the order, account and case numbers said in a call.

Read from the transcript *before* redaction, these numbers are what links a customer's calls
(with the caller's number from the telephony platform). They never reach a record: the service
turns each into a keyed pseudonym (``api.store.contacts``) at once and keeps only that.

A number is a run of digits and single letters (as read out: "H K 7 7 2") or alphanumeric
words with ``MIN_DIGITS`` to ``MAX_DIGITS`` digits in all, said within a few words after a cue
("order number", "my account is", "case reference"), or at the start of the turn after one that
asked for it ("Can I have your order number?" "It's 3 4 6 1 2."). Spoken digits ("seven seven
two") are read as digits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pipelines.core.types import Segment
from pipelines.pii.spoken import UNITS

MIN_DIGITS = 3
MAX_DIGITS = 12  # longer: a card or bank account number, which is redacted and never keyed
REACH = 5  # words between the cue and the number
_TOKEN = re.compile(r"[A-Za-z0-9']+")  # "it's" is a word, not "it" and the letter "s"
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
    if "'" in token:
        return None
    if low in _DIGIT_WORDS:
        return _DIGIT_WORDS[low]
    if token.isdigit() or (len(token) == 1 and token.isalpha()):
        return token.upper()
    if any(c.isdigit() for c in token) and any(c.isalpha() for c in token):
        return token.upper()
    return None


def _number_at(tokens: list[str], k: int) -> tuple[str, int] | None:
    """The number read out within ``REACH`` words from ``tokens[k]``, and where it ends."""
    start = next(
        (j for j in range(k, min(k + REACH, len(tokens))) if _piece(tokens[j]) is not None), None
    )
    if start is None:
        return None
    pieces: list[str] = []
    j = start
    while j < len(tokens) and (piece := _piece(tokens[j])) is not None:
        pieces.append(piece)
        j += 1
    value = "".join(pieces)
    digits = sum(c.isdigit() for c in value)
    return (value, j) if MIN_DIGITS <= digits <= MAX_DIGITS else None


def references_in(text: str, asked: str | None = None) -> Iterable[Reference]:
    """The numbers said after a cue in one text; ``asked``: the kind the previous turn asked
    for ("Can I have your order number?"), read from the start of this one."""
    tokens = _TOKEN.findall(text)
    if asked is not None and (found := _number_at(tokens, 0)) is not None:
        yield Reference(asked, found[0])
    k = 0
    while k < len(tokens):
        kind = _CUES.get(tokens[k].lower())
        k += 1
        if kind is not None and (found := _number_at(tokens, k)) is not None:
            yield Reference(kind, found[0])
            k = found[1]


def asked_for(text: str) -> str | None:
    """The kind of number a question asks for (its last cue, when no number follows it)."""
    if "?" not in text:
        return None
    tokens = _TOKEN.findall(text)
    for k in range(len(tokens) - 1, -1, -1):
        kind = _CUES.get(tokens[k].lower())
        if kind is not None:
            return kind if _number_at(tokens, k + 1) is None else None
    return None


def spoken_references(segments: Sequence[Segment]) -> tuple[Reference, ...]:
    """Every distinct reference said in the call, in order of first mention."""
    seen: dict[Reference, None] = {}
    asked: str | None = None
    for segment in segments:
        for ref in references_in(segment.text, asked):
            seen.setdefault(ref, None)
        asked = asked_for(segment.text)
    return tuple(seen)
