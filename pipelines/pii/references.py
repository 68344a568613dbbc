"""The order, account and case numbers said in a call: who is calling again.

Read from the transcript *before* redaction, these numbers link a customer's calls (with the
caller's number from the telephony platform): the service turns each into a keyed pseudonym
(``api.store.contacts``) and keeps only that. The redactor then removes them from the text,
words, translations and audio like any other personal data (``REFERENCE``), so a record never
holds them.

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
ASKED_REACH = 3  # words at the start of an answer before the number asked for ("Yes, it's 4 4 1")
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


def _number_at(
    tokens: list[re.Match[str]], k: int, reach: int = REACH
) -> tuple[str, int, int] | None:
    """The number read out within ``reach`` words from ``tokens[k]``: its value, and the
    index of its first and just past its last token."""
    start = next(
        (j for j in range(k, min(k + reach, len(tokens))) if _piece(tokens[j].group())),
        None,
    )
    if start is None:
        return None
    pieces: list[str] = []
    j = start
    while j < len(tokens) and (piece := _piece(tokens[j].group())) is not None:
        pieces.append(piece)
        j += 1
    value = "".join(pieces)
    digits = sum(c.isdigit() for c in value)
    return (value, start, j) if MIN_DIGITS <= digits <= MAX_DIGITS else None


def reference_spans(text: str, asked: str | None = None) -> Iterable[tuple[Reference, int, int]]:
    """Each number said after a cue in one text with its character span; ``asked``: the kind
    the previous turn asked for ("Can I have your order number?"), read from this one's start."""
    tokens = list(_TOKEN.finditer(text))
    if asked is not None and (found := _number_at(tokens, 0, ASKED_REACH)) is not None:
        value, first, past = found
        yield Reference(asked, value), tokens[first].start(), tokens[past - 1].end()
    k = 0
    while k < len(tokens):
        kind = _CUES.get(tokens[k].group().lower())
        k += 1
        if kind is not None and (found := _number_at(tokens, k)) is not None:
            value, first, past = found
            yield Reference(kind, value), tokens[first].start(), tokens[past - 1].end()
            k = past


def references_in(text: str, asked: str | None = None) -> Iterable[Reference]:
    """The numbers said after a cue in one text (see `reference_spans`)."""
    return (ref for ref, _, _ in reference_spans(text, asked))


def asked_for(text: str) -> str | None:
    """The kind of number a question asks for (its last cue, when no number follows it)."""
    if "?" not in text:
        return None
    tokens = list(_TOKEN.finditer(text))
    for k in range(len(tokens) - 1, -1, -1):
        kind = _CUES.get(tokens[k].group().lower())
        if kind is not None:
            return kind if _number_at(tokens, k + 1) is None else None
    return None


def spans_per_segment(
    segments: Sequence[Segment],
) -> dict[int, list[tuple[Reference, int, int]]]:
    """Per segment index (in call order), the references said in it with their spans."""
    out: dict[int, list[tuple[Reference, int, int]]] = {}
    asked: str | None = None
    for i in sorted(range(len(segments)), key=lambda i: (segments[i].start, i)):
        found = list(reference_spans(segments[i].text, asked))
        if found:
            out[i] = found
        asked = asked_for(segments[i].text)
    return out


def spoken_references(segments: Sequence[Segment]) -> tuple[Reference, ...]:
    """Every distinct reference said in the call, in order of first mention."""
    seen: dict[Reference, None] = {}
    for _, found in sorted(spans_per_segment(segments).items()):
        for ref, _, _ in found:
            seen.setdefault(ref, None)
    return tuple(seen)
