"""Spanish and French numbers said in words, as digits: "cuatro cinco cinco seis",
"treinta y dos", "mil novecientos ochenta y dos", "zéro six, quarante-deux", "soixante-dix-sept",
"quatre-vingt-treize", "dix-neuf cent soixante".

``cardinal`` reads one number from a token on; ``pii_spoken`` joins the numbers of a run (digit
by digit, in pairs or in groups) as it does for English ones. Words that are also ordinary words
("un", "une", "una", "once", "sept", "seize", "cent") count only next to another number word.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class _Tok(Protocol):
    @property
    def text(self) -> str: ...

    @property
    def start(self) -> int: ...

    @property
    def end(self) -> int: ...

    @property
    def lower(self) -> str: ...


UNITS = {
    # Spanish
    "cero": 0,
    "uno": 1,
    "una": 1,
    "un": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "ocho": 8,
    "nueve": 9,
    # French
    "zéro": 0,
    "une": 1,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "six": 6,
    "sept": 7,
    "huit": 8,
    "neuf": 9,
}
SMALL = {
    "diez": 10,
    "once": 11,
    "doce": 12,
    "trece": 13,
    "catorce": 14,
    "quince": 15,
    "dieciséis": 16,
    "dieciseis": 16,
    "diecisiete": 17,
    "dieciocho": 18,
    "diecinueve": 19,
    "veinte": 20,
    "veintiuno": 21,
    "veintiuna": 21,
    "veintiún": 21,
    "veintiun": 21,
    "veintidós": 22,
    "veintidos": 22,
    "veintitrés": 23,
    "veintitres": 23,
    "veinticuatro": 24,
    "veinticinco": 25,
    "veintiséis": 26,
    "veintiseis": 26,
    "veintisiete": 27,
    "veintiocho": 28,
    "veintinueve": 29,
    "dix": 10,
    "onze": 11,
    "douze": 12,
    "treize": 13,
    "quatorze": 14,
    "quinze": 15,
    "seize": 16,
}
_FRENCH_TEENS = frozenset({"onze", "douze", "treize", "quatorze", "quinze", "seize"})
TENS = {
    "treinta": 30,
    "cuarenta": 40,
    "cincuenta": 50,
    "sesenta": 60,
    "setenta": 70,
    "ochenta": 80,
    "noventa": 90,
    "vingt": 20,
    "trente": 30,
    "quarante": 40,
    "cinquante": 50,
    "soixante": 60,
}
HUNDREDS = {
    "cien": 100,
    "ciento": 100,
    **{
        f"{stem}{end}": value
        for stem, value in (
            ("doscient", 200),
            ("trescient", 300),
            ("cuatrocient", 400),
            ("quinient", 500),
            ("seiscient", 600),
            ("setecient", 700),
            ("ochocient", 800),
            ("novecient", 900),
        )
        for end in ("os", "as")
    },
}
CENT = frozenset({"cent", "cents"})
THOUSAND = frozenset({"mil", "mille"})
JOINERS = frozenset({"y", "et"})
AMBIGUOUS = frozenset({"un", "une", "una", "once", "sept", "seize", "cent"})
NUMBER_WORDS = frozenset({*UNITS, *SMALL, *TENS, *HUNDREDS, *CENT, *THOUSAND, "vingts"})
_HYPHENS = ("-", "–")


class _Reader:
    """Reads Spanish and French number words from a token list."""

    def __init__(self, text: str, tokens: Sequence[_Tok]) -> None:
        self.text = text
        self.tokens = tokens

    def word(self, i: int) -> str:
        return self.tokens[i].lower if 0 <= i < len(self.tokens) else ""

    def after(self, i: int, *, joiners: bool = False) -> int | None:
        """The index of the word after token ``i``: blanks, one hyphen or (if allowed) one
        joiner word ("y", "et") may stand between; a comma or a stop ends the number."""
        toks = self.tokens
        j = i + 1
        if i < 0 or j >= len(toks) or self.text[toks[i].end : toks[j].start].strip():
            return None
        if toks[j].text in _HYPHENS or (joiners and toks[j].lower in JOINERS):
            if j + 1 >= len(toks) or self.text[toks[j].end : toks[j + 1].start].strip():
                return None
            return j + 1
        return j

    def below_100(self, i: int) -> tuple[int, int] | None:
        """A number from 0 to 99 said from token ``i`` and the index after it."""
        w = self.word(i)
        if not w:
            return None
        nxt = self.after(i)
        if w == "quatre" and nxt is not None and self.word(nxt) in ("vingt", "vingts"):
            tail = self._teen_or_unit(nxt, allow_teen=True)
            return (80 + tail[0], tail[1]) if tail else (80, nxt + 1)
        if w == "dix" and nxt is not None and self.word(nxt) in ("sept", "huit", "neuf"):
            return 10 + UNITS[self.word(nxt)], nxt + 1
        if w in UNITS:
            return UNITS[w], i + 1
        if w in SMALL:
            return SMALL[w], i + 1
        if w in TENS:
            tail = self._teen_or_unit(i, allow_teen=w == "soixante")
            return (TENS[w] + tail[0], tail[1]) if tail else (TENS[w], i + 1)
        return None

    def _teen_or_unit(self, i: int, *, allow_teen: bool) -> tuple[int, int] | None:
        """What follows tens at ``i``: a unit 1-9 ("treinta y dos", "vingt-trois"), or for
        French 60 and 80 a number 10-19 ("soixante-dix-sept", "quatre-vingt-onze")."""
        j = self.after(i, joiners=True)
        if j is None:
            return None
        w = self.word(j)
        if allow_teen and w == "dix":
            k = self.after(j)
            if k is not None and self.word(k) in ("sept", "huit", "neuf"):
                return 10 + UNITS[self.word(k)], k + 1
            return 10, j + 1
        if allow_teen and w in SMALL and SMALL[w] < 20 and w in _FRENCH_TEENS:
            return SMALL[w], j + 1
        if UNITS.get(w, 0) > 0:
            return UNITS[w], j + 1
        return None

    def cardinal(self, i: int) -> tuple[int, int] | None:
        """One number below 10 000 said from token ``i``, and the index after it."""
        total = 0
        end = i  # the index after what has been read
        first = self.below_100(i)
        if first is not None and self.word(self.then(first[1])) in THOUSAND:
            total, end = first[0] * 1000, self.then(first[1]) + 1
        elif self.word(i) in THOUSAND:
            total, end = 1000, i + 1
        cur = self.then(end) if end > i else i
        if self.word(cur) in HUNDREDS:
            total, end = total + HUNDREDS[self.word(cur)], cur + 1
        else:
            times = self.below_100(cur)
            if times is not None and 0 < times[0] < 20 and self.word(self.then(times[1])) in CENT:
                total, end = total + times[0] * 100, self.then(times[1]) + 1
            elif self.word(cur) == "cent":
                total, end = total + 100, cur + 1
        cur = self.then(end) if end > i else i
        rest = self.below_100(cur)
        if rest is not None:
            total, end = total + rest[0], rest[1]
        return (total, end) if end > i else None

    def then(self, end: int) -> int:
        """The index of the word that goes on a number read up to ``end`` (-1: none)."""
        nxt = self.after(end - 1)
        return -1 if nxt is None else nxt


def spoken_number(
    text: str, tokens: Sequence[_Tok], i: int, others: frozenset[str] = frozenset()
) -> tuple[str, int] | None:
    """Digits of the Spanish or French number said from token ``i`` and the index after it;
    ``others``: number words of other languages, which make an ambiguous word a number too."""
    reader = _Reader(text, tokens)
    if reader.word(i) == "cents" or reader.word(i) == "vingts":
        return None
    parsed = reader.cardinal(i)
    if parsed is None:
        return None
    value, j = parsed
    if j == i + 1 and reader.word(i) in AMBIGUOUS and not _beside_number(text, tokens, i, others):
        return None
    return str(value), j


def _beside_number(text: str, tokens: Sequence[_Tok], i: int, others: frozenset[str]) -> bool:
    """Another number word stands just before or after token ``i`` (blanks or a comma)."""
    for j in (i - 1, i + 1):
        if not 0 <= j < len(tokens):
            continue
        a, b = sorted((i, j))
        word = tokens[j].lower
        if not text[tokens[a].end : tokens[b].start].strip(" \t,") and (
            word in NUMBER_WORDS or word in others
        ):
            return True
    return False
