"""Text plumbing of the PII stage: placeholders, word alignment, timing, leftover values."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pipelines.core.types import Segment, Word
from pipelines.pii.cues import STOP_WORDS
from pipelines.pii.dates import date_spans
from pipelines.pii.detect import PII_TYPES, Found
from pipelines.pii.spoken import NUMBER_WORDS, TOKEN, normalize, number_runs, tokenize

PLACEHOLDERS: Mapping[str, str] = {t: f"[{t}]" for t in PII_TYPES}
# Words of an entity too common to hunt for in its translation.
_PLAIN = STOP_WORDS | NUMBER_WORDS | {"dot", "com", "net", "org", "street", "road", "avenue"}

_TRIM_START = frozenset(".,;:!?)-")
_TRIM_END = frozenset(".,;:!?(-")


@dataclass(frozen=True, slots=True)
class Span:
    type: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Place:
    """A word's span in the segment text, and that of its letters and digits (for timing)."""

    start: int
    end: int
    core_start: int
    core_end: int

    def overlaps(self, span: Span) -> bool:
        return self.start < span.end and self.end > span.start


def local_span(f: Found, text: str, offset: int) -> Span | None:
    """The part of a call-level span that falls in one segment, trimmed of blanks and stops."""
    start = max(f.start, offset) - offset
    end = min(f.end, offset + len(text)) - offset
    while start < end and (text[start].isspace() or text[start] in _TRIM_START):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in _TRIM_END):
        end -= 1
    if start >= end or not any(c.isalnum() for c in text[start:end]):
        return None
    return Span(f.type, start, end)


def finish_cards(
    segments: Sequence[Segment],
    order: Sequence[int],
    spans: dict[int, list[Span]],
    gap_s: float,
) -> None:
    """Digits that open a party's segment within ``gap_s`` of its card finish that card.

    A garbled number word between the groups breaks the run ("... es 4.111, 111,",
    "Mielcientronse,", "111, gracias."); the digits after it are still the card's.
    ``spans`` (segment index to spans) gains those tails; ``order`` is time order.
    """
    card_end: dict[tuple[int, str | None], float] = {}
    for i in order:
        seg = segments[i]
        party = (seg.channel, seg.speaker)
        last = card_end.get(party)
        if last is not None and not spans.get(i) and seg.start - last <= gap_s:
            tail = _opening_number(seg.text)
            if tail is not None:
                spans[i] = [tail]
        if any(span.type == "CARD" for span in spans.get(i, ())):
            card_end[party] = seg.end


def _opening_number(text: str) -> Span | None:
    """The number (digits or number words) ``text`` opens with, as a card's span."""
    runs = number_runs(text, tokenize(text))
    if not runs or any(c.isalnum() for c in text[: runs[0].start]):
        return None
    return Span("CARD", runs[0].start, runs[0].end)


def replace_spans(text: str, spans: Sequence[Span]) -> tuple[str, list[Span]]:
    """``text`` with each span replaced by its placeholder, and where the placeholders stand."""
    out: list[str] = []
    placed: list[Span] = []
    pos = shift = 0
    for s in sorted(spans, key=lambda s: s.start):
        out.append(text[pos : s.start])
        mark = PLACEHOLDERS[s.type]
        start = s.start + shift
        placed.append(Span(s.type, start, start + len(mark)))
        out.append(mark)
        shift += len(mark) - (s.end - s.start)
        pos = s.end
    out.append(text[pos:])
    return "".join(out), placed


def new_position(pos: int, spans: Sequence[Span], placed: Sequence[Span]) -> int:
    """Where old position ``pos`` (outside spans, or on their edges) lands after replacement."""
    shift = 0
    for s, p in zip(spans, placed, strict=True):
        if pos >= s.end:
            shift = p.end - s.end
        elif pos >= s.start:
            return p.start
        else:
            break
    return pos + shift


def align_words(words: Sequence[Word], text: str) -> list[Place | None]:
    """Where each word stands in the segment text (``None`` if it cannot be found)."""
    places: list[Place | None] = []
    cursor = 0
    for word in words:
        core = word.word.strip()
        at = text.find(core, cursor) if core else -1
        if at < 0:
            places.append(None)
            continue
        end = at + len(core)
        a, b = at, end
        while a < b and not text[a].isalnum():
            a += 1
        while b > a and not text[b - 1].isalnum():
            b -= 1
        places.append(Place(at, end, a, b) if a < b else Place(at, end, at, end))
        cursor = end
    return places


def time_at(word: Word, place: Place, pos: int) -> float:
    """The time at character ``pos`` of a word, spreading its duration over its letters."""
    a, b = place.core_start, place.core_end
    frac = min(max((pos - a) / max(b - a, 1), 0.0), 1.0)
    return word.start + frac * (word.end - word.start)


def secrets_of(text: str, spans: Sequence[Span]) -> list[tuple[str, str]]:
    """(type, value) pieces of the removed spans to hunt for where they may reappear."""
    out: list[tuple[str, str]] = []
    for s in spans:
        value = text[s.start : s.end]
        digits = "".join(run.digits for run in normalize(value).runs)  # written or spoken
        if len(digits) >= 3:
            out.append((s.type, digits))
        for m in TOKEN.finditer(value):
            token = m.group().lower()
            if len(token) >= 3 and token.isalpha() and token not in _PLAIN:
                out.append((s.type, token))
    return out


_NUMBER = re.compile(r"\d(?:[\d ,.\-]*\d)?")
_WORD = re.compile(r"[^\W\d_]{3,}")


def scrub(text: str, secrets: Sequence[tuple[str, str]], *, retold: bool = False) -> str:
    """Replace what is left of removed values (their digits, their rare words) in ``text``.

    ``retold``: ``text`` says the same again in other words (a translation), which may not
    keep the digits ("14,000,000" for a card read out): then every number of three digits or
    more goes when a removed value was a number, and every date when one was a date of birth.
    """
    if not secrets:
        return text
    if retold and any(kind == "DOB" for kind, _ in secrets):
        for start, end in reversed(date_spans(text)):
            text = text[:start] + PLACEHOLDERS["DOB"] + text[end:]
    numeric = next((kind for kind, value in secrets if value.isdigit()), None)

    def number(m: re.Match[str]) -> str:
        digits = "".join(c for c in m.group() if c.isdigit())
        for kind, value in secrets:
            if value.isdigit() and len(digits) >= 3 and (digits in value or value in digits):
                return PLACEHOLDERS[kind]
        if retold and numeric is not None and len(digits) >= 3:
            return PLACEHOLDERS[numeric]
        return m.group()

    def word(m: re.Match[str]) -> str:
        token = m.group().lower()
        for kind, value in secrets:
            if token == value:
                return PLACEHOLDERS[kind]
        return m.group()

    return _WORD.sub(word, _NUMBER.sub(number, text))
