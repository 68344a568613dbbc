"""Personal data recognised by its shape and check digits, as speech recognizers write it.

* IBANs, written in groups or spelled out character by character ("F R 7 6 3 0 0 ..."): the
  country's length and the mod-97 check (or an "IBAN"/"cuenta"/"compte" cue before it).
* Spanish DNI and NIE numbers (8 digits and a letter; X, Y or Z, 7 digits and a letter), with
  their check letter; French social security numbers (NIR: 13 digits and a 2-digit key).
* UK postcodes without a cue: the outward code's area must be one of the real postal areas and
  the inward code's letters the ones Royal Mail uses, so "MA14 5RT" or "S 21 5G is" are not
  taken; spelled ("S W 9, 8 L T") and run together ("m14 5rt") too.

All functions read ``Normalized`` text (numbers said in words already digits) and return spans
of the source text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from pipelines.pii.cues import wordset
from pipelines.pii.spoken import Normalized

Before = Callable[[int, int], str]
"""``before(pos, n)``: the text of the ``n`` words before source position ``pos``."""

IBAN_LENGTHS = {
    **dict.fromkeys(("NO",), 15),
    **dict.fromkeys(("BE",), 16),
    **dict.fromkeys(("DK", "FI", "FO", "GL", "NL"), 18),
    **dict.fromkeys(("MK", "SI"), 19),
    **dict.fromkeys(("AT", "BA", "EE", "KZ", "LT", "LU", "XK"), 20),
    **dict.fromkeys(("CH", "HR", "LI", "LV"), 21),
    **dict.fromkeys(("BG", "BH", "CR", "DE", "GB", "GE", "IE", "ME", "RS"), 22),
    **dict.fromkeys(("AE", "GI", "IL"), 23),
    **dict.fromkeys(("AD", "CZ", "ES", "MD", "PK", "RO", "SA", "SE", "SK", "TN", "VG"), 24),
    **dict.fromkeys(("PT",), 25),
    **dict.fromkeys(("IS", "TR"), 26),
    **dict.fromkeys(("FR", "GR", "IT", "MC", "MR", "SM"), 27),
    **dict.fromkeys(("AL", "AZ", "CY", "DO", "GT", "HU", "LB", "PL"), 28),
    **dict.fromkeys(("BR", "PS", "QA", "UA"), 29),
    **dict.fromkeys(("JO", "KW", "MU"), 30),
    **dict.fromkeys(("MT",), 31),
}
IBAN_HEAD = re.compile(r"(?<![A-Za-z0-9])([A-Z])[ .\-]{0,2}([A-Z])[ .\-]{0,2}(\d)[ .\-]{0,2}(\d)")
IBAN_CUE = re.compile(
    r"\biban\b|\brib\b|bank\s+account|account\s+number|n[úu]mero\s+de\s+cuenta|\bcuenta\b"
    r"|num[ée]ro\s+de\s+compte|\bcompte\b|\bbic\b|\bswift\b",
    re.IGNORECASE,
)
_GROUP = re.compile(r"[ .\-,]{0,3}([A-Za-z0-9]+)")


def _mod97(code: str) -> bool:
    moved = code[4:] + code[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def ibans(norm: Normalized, before: Before) -> Iterator[tuple[int, int]]:
    """IBANs of the right length for their country that pass the check (or follow a cue)."""
    text = norm.text
    for m in IBAN_HEAD.finditer(text):
        country = m.group(1) + m.group(2)
        length = IBAN_LENGTHS.get(country)
        if length is None:
            continue
        code, pos = country + m.group(3) + m.group(4), m.end()
        while len(code) < length:
            g = _GROUP.match(text, pos)
            # groups of the account part: digits or capitals ("NWBK", "3M02"), no words
            if g is None or not (g.group(1).isdigit() or g.group(1).isupper()):
                break
            code += g.group(1)
            pos = g.end()
        if len(code) != length:
            continue
        start, end = norm.to_source(m.start(), pos)
        if _mod97(code) or IBAN_CUE.search(before(start, 10)):
            yield start, end


DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
SPANISH_ID = re.compile(
    r"(?<![\w])(?:(?P<nie>[XYZ])[ .\-]{0,2})?(?P<number>\d{7,8})[ .,\-]{0,3}"
    r"(?:(?:letra|lettre|letter)[ ]+)?(?P<letter>[A-Z])(?![\w])"
)


def spanish_ids(norm: Normalized) -> Iterator[tuple[int, int]]:
    """DNI and NIE numbers whose check letter is right."""
    for m in SPANISH_ID.finditer(norm.text):
        nie, number = m.group("nie"), m.group("number")
        if nie:
            if len(number) != 7:
                continue
            value = int(str("XYZ".index(nie)) + number)
        elif len(number) == 8:
            value = int(number)
        else:
            continue
        if DNI_LETTERS[value % 23] == m.group("letter"):
            yield norm.to_source(m.start(), m.end())


def is_nir(digits: str) -> bool:
    """A French social security number: sex, year, month, place, order, and its key."""
    if len(digits) != 15 or digits[0] not in "12":
        return False
    month = int(digits[3:5])
    if not (1 <= month <= 12 or month >= 20):
        return False
    return 97 - int(digits[:13]) % 97 == int(digits[13:])


# The UK's postal areas (the letters that open an outward code).
POSTAL_AREAS = wordset(
    """AB AL B BA BB BD BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT
    DY E EC EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L LA LD
    LE LL LN LS LU M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG SK
    SL SM SN SO SP SR SS ST SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS WV YO
    ZE"""
)
_AREA = "|".join(sorted(POSTAL_AREAS, key=len, reverse=True))
POSTCODE = re.compile(rf"(?P<area>{_AREA})\d[A-Z\d]?\d[ABD-HJLNP-UW-Z]{{2}}")
_CHUNK = re.compile(r"[A-Za-z0-9]+")
_CHUNK_GAP = re.compile(r"[ ,.\-]{1,3}")
ORDINAL_ENDS = frozenset({"st", "nd", "rd", "th"})
# two-letter areas that are words too: "me 2 3ds", "so 1 2"
AREA_WORDS = wordset("al me so st ha la le pa pe po sa se")
REFERENCE_CUE = re.compile(
    r"\b(?:order|reference|ref|booking|ticket|case|part|model|flight|tracking|serial|invoice"
    r"|confirmation|voucher|promo|product|item|version|registration|plate|pedido|referencia"
    r"|commande|r[ée]f[ée]rence|dossier)\b",
    re.IGNORECASE,
)


def uk_postcodes(
    norm: Normalized, before: Before, cue: re.Pattern[str]
) -> Iterator[tuple[int, int]]:
    """UK postcodes as recognizers write them; without an address ``cue`` they must look like
    one (capitals, or a lone letter or one run into its digits) and follow no reference cue."""
    text = norm.text
    chunks = list(_CHUNK.finditer(text))
    k = 0
    while k < len(chunks):
        first = chunks[k]
        if not first.group()[0].isalpha() or (first.start() and text[first.start() - 1] == "'"):
            k += 1
            continue
        squeezed, best = "", -1
        for j in range(k, min(k + 7, len(chunks))):
            if j > k and not _CHUNK_GAP.fullmatch(text[chunks[j - 1].end() : chunks[j].start()]):
                break
            squeezed += chunks[j].group()
            if len(squeezed) > 7:
                break
            if POSTCODE.fullmatch(squeezed.upper()):
                best = j
        if best < 0:
            k += 1
            continue
        start, end = norm.to_source(first.start(), chunks[best].end())
        parts = [c.group() for c in chunks[k : best + 1]]
        inside = _spelled_on(text, chunks, k - 1, k) or _spelled_on(text, chunks, best + 1, best)
        if (cue.search(before(start, 15)) and not _spelled_on(text, chunks, k - 1, k)) or (
            _looks_like_postcode(parts)
            and not inside
            and not REFERENCE_CUE.search(before(start, 6))
        ):
            yield start, end
        k = best + 1


def _spelled_on(text: str, chunks: list[re.Match[str]], j: int, k: int) -> bool:
    """Chunk ``j`` (next to chunk ``k``) is a lone character of the same spelled-out code
    ("A W 7 2 7 E H" holds "W72 7EH" but is no postcode)."""
    if not 0 <= j < len(chunks):
        return False
    a, b = sorted((j, k))
    gap = text[chunks[a].end() : chunks[b].start()]
    lone = chunks[j]
    if len(lone.group()) != 1 or "'" in text[max(lone.start() - 1, 0) : lone.end() + 1]:
        return False  # "It's"
    return _CHUNK_GAP.fullmatch(gap) is not None and gap != ", "


def _looks_like_postcode(parts: list[str]) -> bool:
    """Without a cue: no ordinary word among the pieces ("S 21 5G is", "me 2 3ds", "Me")."""
    last = parts[-1]
    if last.islower() and last[-2:] in ORDINAL_ENDS and last[:-2].isdigit():
        return False  # "2 3rd", "W 1 2nd"
    for n, part in enumerate(parts):
        if part.isalpha() and (len(part) > 2 or part in AREA_WORDS):
            return False
        if part.isalpha() and part.islower() and not (n == 0 and len(part) == 1):
            return False
        if not (part.isupper() or part.islower() or part.isdigit()):
            return False
    return True
