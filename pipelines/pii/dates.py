"""Dates of birth said in full, in English, Spanish and French, with or without a cue.

A date is found on the ``Normalized`` text (numbers said in words are digits there: "el 14 de
julio de 1982", "le 12 février 1970", "the 3rd of March 1985", "March 3rd, 1985", "3/03/1985").

* After a birth cue (the agent's "date of birth?", "fecha de nacimiento", "née le"), the first
  date said within ``CUE_REACH_WORDS`` words is a date of birth when it has no year or a year
  from 1900 to 2015 (the caller may say their name first: "Jane Doe, the 2nd of May, 1978").
* Without a cue, a full date (day, month, year) from 1900 to 2007 is taken for one too, unless
  it follows a word that dates an event ("since", "ordered", "depuis", "desde", ...).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from pipelines.pii.cues import BIRTH_CONTEXT, MONTHS, ORDINALS
from pipelines.pii.spoken import Normalized, normalize

CUE_REACH_WORDS = 30
CUE_YEARS = range(1900, 2016)
LONE_YEARS = range(1900, 2008)

_MONTH = "|".join(sorted((re.escape(m) for m in MONTHS), key=len, reverse=True))
_ORDINAL = "|".join(sorted(ORDINALS, key=len, reverse=True))
_DAY = (
    rf"(?:(?:[23]0[ \-]?)?(?:{_ORDINAL})"
    r"|(?:[12]\d|3[01]|0?[1-9])(?!\d)(?:[ ]?(?:st|nd|rd|th|er|re|ère|º|ª|°)(?![^\W\d_]))?)"
)
_YEAR = r"(?:1[89]\d\d|20\d\d|'?\d\d)(?!\d)"
_OF = r"(?:(?:of|de|del|en)[ ]+)?(?:the[ ]+)?"
DAY_MONTH = re.compile(
    rf"(?<![\w/.])(?P<day>{_DAY})[ ,]*{_OF}(?P<month>{_MONTH})(?![^\W\d_])"
    rf"(?:[ ,.]*{_OF}(?P<year>{_YEAR}))?",
    re.IGNORECASE,
)
MONTH_DAY = re.compile(
    rf"(?<![^\W\d_])(?P<month>{_MONTH})[ ,]+(?:the[ ]+)?"
    rf"(?:(?P<day>{_DAY})(?![^\W\d_])(?:[ ,.]*(?P<year>{_YEAR}))?"
    # "March 3, 1985" collapsed into one run of digits
    r"|(?P<glued_day>[12]\d|3[01]|0?[1-9])(?P<glued_year>(?:19|20)\d\d)(?!\d))",
    re.IGNORECASE,
)
NUMERIC = re.compile(
    r"(?<![\d/.])(?P<day>[0-3]?\d)[ ]?[/.][ ]?(?P<month>[01]?\d)[ ]?[/.][ ]?"
    r"(?P<year>(?:19|20)\d\d|\d\d)(?![\d/])"
)
EVENT_CUE = re.compile(
    r"\b(?:since|from|until|till|ordered|order|bought|purchased|paid|payment|invoice|bill"
    r"|opened|joined|signed|delivered|shipped|sent|installed|contract|renewed|expires?|expiry"
    r"|desde|hasta|pedido|factura|compr[ée]|contrato|depuis|jusqu|commande|facture|contrat"
    r"|livr[ée]e?|achet[ée]|pay[ée])\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class DateSpan:
    """A date found in normalized text: its span and year (``None`` if none was said)."""

    start: int
    end: int
    year: int | None
    full: bool


def _year(value: str | None) -> int | None:
    """The year said in full; ``None`` for none or two digits ("del 65", "'65")."""
    return int(value) if value and len(value) == 4 else None


def dates(text: str) -> list[DateSpan]:
    """The dates said in normalized ``text``, in order, not overlapping."""
    found: list[DateSpan] = []
    for m in DAY_MONTH.finditer(text):
        year = _year(m.group("year"))
        found.append(DateSpan(m.start("day"), m.end(), year, year is not None))
    for m in MONTH_DAY.finditer(text):
        year = _year(m.group("glued_year") if m.group("glued_day") else m.group("year"))
        found.append(DateSpan(m.start(), m.end(), year, year is not None))
    for m in NUMERIC.finditer(text):
        if 1 <= int(m.group("day")) <= 31 and 1 <= int(m.group("month")) <= 12:
            year = _year(m.group("year")) if len(m.group("year")) == 4 else None
            found.append(DateSpan(m.start(), m.end(), year, True))
    found.sort(key=lambda d: (d.start, -d.end))
    out: list[DateSpan] = []
    for d in found:
        if out and d.start < out[-1].end:
            if d.end > out[-1].end:
                last = out[-1]
                out[-1] = DateSpan(last.start, d.end, last.year or d.year, last.full or d.full)
            continue
        out.append(d)
    return out


def date_spans(text: str) -> list[tuple[int, int]]:
    """Source spans of every date said in ``text`` (a translation whose original had a date
    of birth: "January 30, 2010" for "el treinta de enero de dos mil diez")."""
    norm = normalize(text)
    return [norm.to_source(d.start, d.end) for d in dates(norm.text)]


def births(norm: Normalized) -> Iterator[tuple[int, int]]:
    """Source spans of the dates of birth in ``norm``: after a cue, or said in full alone."""
    text = norm.text
    said = dates(text)
    cues = [m.end() for m in BIRTH_CONTEXT.finditer(text)]
    for d in said:
        cue = max((c for c in cues if c <= d.start), default=None)
        near = cue is not None and len(text[cue : d.start].split()) <= CUE_REACH_WORDS
        if near and d.year is not None and d.year not in CUE_YEARS:
            near = False
        if near and any(cue is not None and cue <= o.start < d.start for o in said):
            near = False  # the cue's answer was an earlier date
        alone = (
            d.full
            and d.year in LONE_YEARS
            and not EVENT_CUE.search(" ".join(text[: d.start].split()[-5:]))
        )
        if near or alone:
            yield norm.to_source(d.start, d.end)
