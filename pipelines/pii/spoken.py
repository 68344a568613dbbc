"""Numbers as whisper writes them, written or spoken, collapsed to digits with a map back.

"4111 1111", "4,111,111", "four one one one", "four double one", "oh seven seven",
"nineteen eighty-five" and "three hundred and twelve" all become digit runs, and so do Spanish
and French numbers (``pii_numbers``: "cuatro cinco", "quarante-deux"); each digit keeps the span
of the text it came from, so a match on the collapsed text maps back to the original.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipelines.pii import numbers as pii_numbers
from pipelines.pii.cues import MONTHS

TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?|\d+|\S")
# What may stand between two parts of one number: blanks, commas, dashes, brackets, a plus,
# or a full stop followed by a blank ("4111. 1111."); never a line break.
RUN_GAP = re.compile(r"(?:[ \t,\-–()+]|\.(?=[ \t]))*")
MAX_RUN_GAP = 5
THOUSANDS = re.compile(r"\d{3}(?!\d)")

UNITS = {
    "zero": 0,
    "oh": 0,
    "o": 0,
    "nought": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
ZERO_LETTERS = frozenset({"oh", "o"})
TEENS = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
REPEATS = {"double": 2, "triple": 3}
ENGLISH_NUMBER_WORDS = frozenset({*UNITS, *TEENS, *TENS, *REPEATS, "hundred", "thousand"})
NUMBER_WORDS = ENGLISH_NUMBER_WORDS | pii_numbers.NUMBER_WORDS
FOREIGN_WORDS = pii_numbers.NUMBER_WORDS - ENGLISH_NUMBER_WORDS
# Words that make "sept", "seize", "once", "un" numbers when said next to them ("seize octobre")
NEIGHBOURS = ENGLISH_NUMBER_WORDS | MONTHS
TAIL_WORDS = frozenset({*TEENS, *TENS, *(w for w, v in UNITS.items() if v)})


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    start: int
    end: int

    @property
    def lower(self) -> str:
        return self.text.lower()

    @property
    def is_word(self) -> bool:
        return self.text[0].isalpha()


@dataclass(frozen=True, slots=True)
class NumberRun:
    """Consecutive numbers read as one: its digits and, per digit, the source span."""

    digits: str
    start: int
    end: int
    positions: tuple[tuple[int, int], ...]
    spoken: bool


@dataclass(frozen=True, slots=True)
class Normalized:
    """``text`` with every number run collapsed to its digits; ``source`` maps chars back."""

    text: str
    source: tuple[tuple[int, int], ...]
    runs: tuple[NumberRun, ...]
    run_starts: tuple[int, ...]

    def to_source(self, start: int, end: int) -> tuple[int, int]:
        """The source span of ``text[start:end]``."""
        return self.source[start][0], self.source[end - 1][1]


@dataclass(frozen=True, slots=True)
class _Item:
    digits: str
    start: int
    end: int
    positions: tuple[tuple[int, int], ...]
    spoken: bool
    zero_letter: bool = False
    foreign: bool = False  # a Spanish or French number word


def tokenize(text: str) -> list[Token]:
    return [Token(m.group(), m.start(), m.end()) for m in TOKEN.finditer(text)]


def normalize(text: str) -> Normalized:
    """Collapse the number runs of ``text`` (written and spoken) to digits."""
    runs = number_runs(text, tokenize(text))
    out: list[str] = []
    source: list[tuple[int, int]] = []
    starts: list[int] = []
    pos = 0
    for run in runs:
        out.append(text[pos : run.start])
        source.extend((i, i + 1) for i in range(pos, run.start))
        starts.append(len(source))
        out.append(run.digits)
        source.extend(run.positions)
        pos = run.end
    out.append(text[pos:])
    source.extend((i, i + 1) for i in range(pos, len(text)))
    return Normalized("".join(out), tuple(source), tuple(runs), tuple(starts))


def number_runs(text: str, tokens: list[Token]) -> list[NumberRun]:
    """Group the numbers of ``text`` that are separated only by blanks and light punctuation."""
    groups: list[list[_Item]] = []
    for item in _items(text, tokens):
        last = groups[-1][-1] if groups else None
        # "tres o cuatro": Spanish "o" is "or", not a zero
        spanish_or = last is not None and (
            (last.zero_letter and item.foreign) or (last.foreign and item.zero_letter)
        )
        if last is not None and not spanish_or and _joins(text, last.end, item.start):
            groups[-1].append(item)
        else:
            groups.append([item])
    runs = []
    for group in groups:
        group = _trim_zero_letters(text, group)
        if group:
            runs.append(
                NumberRun(
                    digits="".join(i.digits for i in group),
                    start=group[0].start,
                    end=group[-1].end,
                    positions=tuple(p for i in group for p in i.positions),
                    spoken=any(i.spoken for i in group),
                )
            )
    return runs


def _joins(text: str, end: int, start: int) -> bool:
    gap = text[end:start]
    if gap == "." and THOUSANDS.match(text, start):  # "4.111": a thousands point (es, de, fr)
        return True
    return len(gap) <= MAX_RUN_GAP and RUN_GAP.fullmatch(gap) is not None


def _trim_zero_letters(text: str, group: list[_Item]) -> list[_Item]:
    """ "oh"/"o" is a zero only next to other digits, without punctuation in between."""
    if all(i.zero_letter for i in group):
        return []
    while group and group[0].zero_letter and text[group[0].end : group[1].start].strip():
        group = group[1:]
    while group and group[-1].zero_letter and text[group[-2].end : group[-1].start].strip():
        group = group[:-1]
    return group


def _items(text: str, tokens: list[Token]) -> list[_Item]:
    items: list[_Item] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.text.isdigit():
            positions = tuple((p, p + 1) for p in range(tok.start, tok.end))
            items.append(_Item(tok.text, tok.start, tok.end, positions, spoken=False))
            i += 1
            continue
        parsed = _spoken(text, tokens, i)
        if parsed is None:
            i += 1
            continue
        digits, j = parsed
        start, end = tok.start, tokens[j - 1].end
        items.append(
            _Item(
                digits,
                start,
                end,
                tuple((start, end) for _ in digits),
                spoken=True,
                zero_letter=j == i + 1 and tok.lower in ZERO_LETTERS,
                foreign=tok.lower in FOREIGN_WORDS,
            )
        )
        i = j
    return items


def _next(text: str, tokens: list[Token], i: int, *, hyphen: bool = False) -> Token | None:
    """Token ``i + 1`` when only blanks separate it from ``i`` (or, if allowed, a hyphen)."""
    if i + 1 >= len(tokens):
        return None
    nxt = tokens[i + 1]
    if hyphen and nxt.text in ("-", "–") and i + 2 < len(tokens):
        after = tokens[i + 2]
        if not text[tokens[i].end : nxt.start].strip() and not text[nxt.end : after.start].strip():
            return after
        return None
    return None if text[tokens[i].end : nxt.start].strip() else nxt


def _step(text: str, tokens: list[Token], i: int) -> int:
    """Index after token ``i + 1``, skipping a hyphen token in between."""
    if tokens[i + 1].text in ("-", "–"):
        return i + 3
    return i + 2


def _spoken(text: str, tokens: list[Token], i: int) -> tuple[str, int] | None:
    """Digits of the spoken number starting at token ``i`` and the index after it."""
    word = tokens[i].lower
    if word in pii_numbers.NUMBER_WORDS:
        other = pii_numbers.spoken_number(text, tokens, i, NEIGHBOURS)
        # "six" is English too: "six hundred" is read below
        if other is not None and (other[1] > i + 1 or word not in UNITS):
            return other
    nxt = _next(text, tokens, i)
    if word in REPEATS:
        if nxt is not None and (nxt.lower in UNITS or (nxt.text.isdigit() and len(nxt.text) == 1)):
            digit = str(UNITS.get(nxt.lower, 0)) if not nxt.text.isdigit() else nxt.text
            return digit * REPEATS[word], i + 2
        return None
    if word in UNITS:
        unit = UNITS[word]
        if nxt is not None and nxt.lower == "hundred" and unit:
            tail, j = _tail(text, tokens, i + 1)
            return f"{unit * 100 + tail:03d}", j
        if nxt is not None and nxt.lower == "thousand" and unit:
            tail, j = _tail(text, tokens, i + 1, hundreds=True)
            return f"{unit * 1000 + tail:04d}", j
        return str(unit), i + 1
    if word in TEENS:
        if nxt is not None and nxt.lower == "hundred":
            tail, j = _tail(text, tokens, i + 1)
            return f"{TEENS[word] * 100 + tail:04d}", j
        return str(TEENS[word]), i + 1
    if word in TENS:
        after = _next(text, tokens, i, hyphen=True)
        if after is not None and UNITS.get(after.lower, 0) > 0:
            return str(TENS[word] + UNITS[after.lower]), _step(text, tokens, i)
        return str(TENS[word]), i + 1
    return None


def _tail(text: str, tokens: list[Token], i: int, *, hundreds: bool = False) -> tuple[int, int]:
    """After "hundred"/"thousand" at ``i``: an optional "and" and a number below 100 (or 1000)."""
    j = i + 1
    nxt = _next(text, tokens, i)
    if nxt is not None and nxt.lower == "and":
        after = _next(text, tokens, i + 1)
        if after is None or after.lower not in TAIL_WORDS:
            return 0, j
        j, nxt = i + 2, after
    if nxt is None:
        return 0, j
    word = nxt.lower
    if hundreds and word in UNITS and UNITS[word]:
        after = _next(text, tokens, j)
        if after is not None and after.lower == "hundred":
            rest, k = _tail(text, tokens, j + 1)
            return UNITS[word] * 100 + rest, k
    if word in TEENS:
        return TEENS[word], j + 1
    if word in TENS:
        after = _next(text, tokens, j, hyphen=True)
        if after is not None and UNITS.get(after.lower, 0) > 0:
            return TENS[word] + UNITS[after.lower], _step(text, tokens, j)
        return TENS[word], j + 1
    if word in UNITS and word not in ZERO_LETTERS and UNITS[word] > 0:
        return UNITS[word], j + 1
    return 0, j
