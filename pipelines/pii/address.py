"""Street addresses said by Spanish and French callers, and as translations write them.

* Spanish: a street word, its name, then its number and floor ("calle Goya 27", "avenida de
  Andalucía, 42, tercero B", "Paseo de la Castellana número 118").
* French: a number, a street word and its name ("14 avenue Jean Jaurès", "3 bis rue du Moulin").
* English translations keep either form ("I live at 21 rue Victor Hugo", "I live on Calle Goya
  27") or turn it round after an address cue ("I live on Goya Street 27").

The street's name ends at a word such as "à", "in", "et", "y", at a comma or a full stop; a name
in lower case ("la calle estaba cortada") is taken only after an address cue.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from pipelines.pii.cues import wordset
from pipelines.pii.spoken import Normalized

Before = Callable[[int, int], str]

_I = re.IGNORECASE
SPANISH_TYPES = (
    r"calle|c/|avenida|avda\.?|plaza|paseo|camino|carretera|ronda|traves[íi]a|glorieta"
    r"|pasaje|callej[óo]n|rambla|bulevar|urbanizaci[óo]n"
)
FRENCH_TYPES = (
    r"rue|avenue|av\.|boulevard|bd|place|chemin|all[ée]e|impasse|quai|route|cours|square"
    r"|passage|voie|r[ée]sidence|cit[ée]|lotissement|faubourg|promenade|esplanade|sentier"
    r"|hameau|mont[ée]e"
)
# French street words that are ordinary words too: their name must be capitalized
COMMON_FRENCH = frozenset(
    {"place", "cours", "route", "passage", "voie", "square", "cité", "cite", "promenade"}
)
SPANISH_STREET = re.compile(rf"(?<![^\W\d_])(?:{SPANISH_TYPES})(?=[\s,])", _I)
FRENCH_STREET = re.compile(
    rf"(?<![\w,.])\d{{1,4}}(?:[ ]?(?:bis|ter|[A-Da-d])\b)?[ ]?,?[ ]+(?P<type>{FRENCH_TYPES})(?=\s)",
    _I,
)
FRENCH_BARE = re.compile(rf"(?<![^\W\d_])(?:{FRENCH_TYPES})(?=\s)", _I)
# "I live on the street Mayor 15", "the avenue of Andalusia, 42": a translation, after a cue
ENGLISH_FIRST = re.compile(r"(?<![^\W\d_])(?:street|avenue|road|square|boulevard)(?=\s)", _I)
ENGLISH_TYPES = r"street|avenue|road|lane|drive|boulevard|square|place|way|promenade|walk"
ENGLISH_TURNED = re.compile(
    r"(?<![\w])(?:[A-ZÁÉÍÓÚÑ][\w'’\-]*[ ]+){1,3}?(?i:" + ENGLISH_TYPES + r")[ ]*,?[ ]*"
    r"(?:(?:number|no\.?)[ ]*)?\d{1,4}\b"
)
CONNECTORS = wordset("de del la las los el d' d l' l du des le les san santa saint sainte of")
NAME_ENDS = wordset(
    """à a au aux en in et y and at to on pour por para que qui con avec with is es est c'est
    je yo mi ma mon my près cerca near dans número numero number n no nº n° piso planta puerta
    bajo escalera apartment flat apt bis ter the it's i vale ok okay oui sí si please por favor
    merci gracias thanks thank you también aussi also"""
)
_WORD = re.compile(r"[ ]*(?P<comma>,?)[ ]*(?P<word>[^\W\d_][\w'’\-]*|\d{1,4}[A-Za-z]?(?!\w))")
_NUMBER_WORD = re.compile(
    r"[ ]*,?[ ]*(?:(?:n[úu]mero|n\.?[º°o]\.?)[ ]*)?(?P<n>\d{1,4}[A-Za-z]?)\b", _I
)
_FLOOR = re.compile(
    r"[ ]*,?[ ]*(?:\d{1,2}[ ]?[º°ª](?:[ ]?[A-Za-z]\b)?|(?:piso|planta|puerta|escalera)[ ]+\w+"
    r"|bajo\b(?:[ ]?[A-Za-z]\b)?"
    r"|(?:primero|segundo|tercero|cuarto|quinto|sexto)\b(?:[ ]+[A-Z]\b)?"
    r"|izquierda|derecha|izda\.?|dcha\.?)",
    _I,
)


def _name(text: str, pos: int, *, max_words: int = 4) -> tuple[int, bool] | None:
    """The end of the street name said from ``pos`` and whether it is capitalized."""
    end, names, capital = pos, 0, False
    while True:
        m = _WORD.match(text, end)
        if m is None or m.group("comma") or m.group("word")[0].isdigit():
            break
        word = m.group("word")
        low = word.lower()
        if low in CONNECTORS or low.rstrip("'’") in CONNECTORS:
            end = m.end()
            continue
        if low in NAME_ENDS or names == max_words:
            break
        if names == 0:
            capital = re.sub(r"^[dl]['’]", "", word)[:1].isupper()
        names += 1
        end = m.end()
    if names == 0:
        return None
    # connectors at the end belong to what follows ("rue du Moulin à la gare" -> "Moulin")
    while True:
        tail = re.search(r"[ ]+([^\W\d_][\w'’]*)$", text[pos:end])
        if tail is None or tail.group(1).lower() not in CONNECTORS:
            break
        end = pos + tail.start()
    return end, capital


def streets_named_first(
    norm: Normalized, before: Before, cue: re.Pattern[str]
) -> Iterator[tuple[int, int]]:
    """A street word, a capitalized name and a number ("calle Goya 27"), or an address cue
    instead of either; a French street without its number ("rue des Lilas") after a cue."""
    text = norm.text
    bare = (*FRENCH_BARE.finditer(text), *ENGLISH_FIRST.finditer(text))
    for m in (*SPANISH_STREET.finditer(text), *bare):
        named = _name(text, m.end())
        if named is None:
            continue
        end, capital = named
        number = _NUMBER_WORD.match(text, end) if m.re is not FRENCH_BARE else None
        cued = bool(cue.search(before(norm.to_source(m.start(), m.end())[0], 8)))
        if (
            not (capital or cued)
            or not (number or cued)
            or (m.re is ENGLISH_FIRST and not (cued and number))
        ):
            continue
        if number is not None:
            end = number.end()
            while (floor := _FLOOR.match(text, end)) is not None:
                end = floor.end()
        yield norm.to_source(m.start(), end)


def french_streets(
    norm: Normalized, before: Before, cue: re.Pattern[str]
) -> Iterator[tuple[int, int]]:
    """A number, a street word and its name: "14 avenue Jean Jaurès"."""
    text = norm.text
    for m in FRENCH_STREET.finditer(text):
        named = _name(text, m.end())
        if named is None:
            continue
        end, capital = named
        if m.group("type").lower() in COMMON_FRENCH and not (
            capital or cue.search(before(norm.to_source(m.start(), m.end())[0], 8))
        ):
            continue
        yield norm.to_source(m.start(), end)


def turned_streets(
    norm: Normalized, before: Before, cue: re.Pattern[str]
) -> Iterator[tuple[int, int]]:
    """A name, a street word and a number after an address cue: "Goya Street 27" (a
    translation of "calle Goya 27")."""
    for m in ENGLISH_TURNED.finditer(norm.text):
        start, end = norm.to_source(m.start(), m.end())
        if cue.search(before(start, 8)):
            yield start, end
