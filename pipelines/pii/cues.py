"""The words and patterns personal data is recognised by: the cue phrases that make a number
a card, a security code, a phone number, an ID, an IBAN, a date of birth or an address (in
English, Spanish and French), spoken e-mail addresses ("dot", "punto", "point"; "at", "arroba",
"arobase"), and the word lists of spoken dates."""

from __future__ import annotations

import re

from pipelines.pii.numbers import NUMBER_WORDS as ES_FR_NUMBER_WORDS

_I = re.IGNORECASE
# Every rule needs a digit, a number word, an "@" or a domain-like "x.yz"/"dot", or a street
# named without its number: text without any of them is returned as it is without running the
# recognizers.
MAY_HOLD_PII = re.compile(
    r"\d|@|\w\.[a-z]{2}|\b(?:dot|o|oh|zero|nought|one|two|three|four|five|six|seven|eight|nine"
    r"|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty"
    r"|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|double|triple"
    r"|arroba|arobase|arrobase|point|punto|rue|calle|avenida|avenue|paseo|plaza|boulevard|chemin|all[ée]e"
    rf"|{'|'.join(sorted(ES_FR_NUMBER_WORDS, key=len, reverse=True))})\b",
    _I,
)
CVV_CONTEXT = re.compile(
    r"security\s+(?:code|number|digits)|secure\s+code|\bc\.?\s?v\.?\s?[vc]2?\b|\bcv2\b|\bcsc\b"
    r"|card\s+verification|verification\s+(?:code|number|value)|\bdigits\b|on\s+the\s+back"
    r"|c[óo]digo\s+de\s+seguridad|d[íi]gitos|\bdorso\b|\breverso\b|detr[áa]s\s+de\s+la\s+tarjeta"
    r"|code\s+de\s+s[ée]curit[ée]|cryptogramme|(?:trois|3)\s+chiffres|chiffres\s+au\s+dos|\bau\s+dos\b",
    _I,
)
CARD_CONTEXT = re.compile(
    r"(?<!\bid )(?<!identity )\bcard\b|\bvisa\b|master\s?card|\bamex\b|american\s+express"
    r"|\bdiscover\b|long\s+number"
    # the same said by callers in Spanish, French, German, Portuguese, Italian
    r"|\btarjeta\b(?!\s+sanitaria)|\bcarte\b(?!\s+(?:vitale|d'identit))|\w*karte\b"
    r"|\bcart[ãa]o\b|\bcarta\b",
    _I,
)
PHONE_CONTEXT = re.compile(
    r"phone|mobile|\bcell\b|telephone|landline|\bcall\s+(?:me|you|us|him|her)\b|reach\s+me"
    r"|contact\s+number|\bring\s+me|text\s+me|whatsapp"
    r"|tel[ée]fono|\bm[óo]vil\b|celular|ll[áa]m(?:a|e|ar)me|tel[ée]phone|\bportable\b"
    r"|\bjoindre\b|rappeler|\bfixe\b",
    _I,
)
ID_CONTEXT = re.compile(
    r"social\s+security|\bssn\b|national\s+insurance|\bn\.?\s?i\.?\s+number|\bnino\b"
    r"|national\s+id|\bid\s+number|identity\s+number|identification\s+number|tax\s+(?:id|number)"
    r"|\bid\s+card|identity\s+card|passport|\bdni\b|\bnie\b|\bnif\b|documento\s+(?:de|nacional)"
    r"|seguridad\s+social|tarjeta\s+sanitaria|pasaporte|s[ée]curit[ée]\s+sociale|\bs[ée]cu\b"
    r"|carte\s+vitale|carte\s+d'identit[ée]|\binsee\b|\bnir\b|passeport",
    _I,
)
BIRTH_CONTEXT = re.compile(
    r"date\s+of\s+birth|birth\s*date|\bborn\b|\bd\.?\s?o\.?\s?b\b\.?|birthday"
    # Spanish and French callers
    r"|fecha\s+de\s+nacimiento|\bnac[ií](?:ó|o|mos)?\b|cumpleaños|date\s+de\s+naissance"
    r"|\bn[ée]e?\s+le\b|anniversaire",
    _I,
)
STREET_TYPES = (
    r"street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard|blvd|court|ct|place|pl|way|close"
    r"|crescent|terrace|square|sq|highway|hwy|parkway|pkwy|circle|cir|trail|mews|grove|gardens"
)
ADDRESS_CONTEXT = re.compile(
    rf"address|\blive\s+(?:at|on|in)\b|\bliving\s+at\b|\blives\s+at\b|post\s?code|postal\s+code"
    rf"|\bzip\b|\b(?:{STREET_TYPES})\b\.?\s*,"
    r"|c[óo]digo\s+postal|direcci[óo]n|domicilio|\bviv(?:o|imos)\s+en\b|code\s+postal|adresse"
    r"|\bj'habite\b|\bnous\s+habitons\b|\bdomicile\b"
    r"|\b(?:rue|calle|avenida|paseo|plaza|boulevard|chemin|all[ée]e|impasse)\b",
    _I,
)
# a UK postcode as recognizers write it: any case, its halves joined by a space, hyphen or comma
SPOKEN_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?[ ,\-]{0,2}\d[A-Z]{2}\b", _I)
STREET = re.compile(
    rf"(?<![\w.])\d{{1,5}}[A-Za-z]?((?:[ \t]+[A-Za-z][A-Za-z'\-]*){{1,3}}?)[ \t]+"
    rf"(?:{STREET_TYPES})\b\.?(?:,?[ \t]+(?:apartment|apt|flat|unit|suite|#)\.?[ \t]*\w+)?",
    _I,
)
NINO_SPELLED = re.compile(
    r"\b[A-CEGHJ-PR-TW-Z][ .]{0,2}[A-CEGHJ-NPR-TW-Z][ .]{0,2}\d{6}[ .]{0,2}[A-D]\b"
)
ID_PREFIX = re.compile(r"(?<![\w'])(?:[A-Z]{1,2}[ .]{0,2}){1,2}$")
# a check letter read after the number ("... 6 C", "..., K"); never I, O or U (no ID uses them)
ID_SUFFIX = re.compile(r"(?:[ .]{0,2}|[ ]?,[ ]?)[A-HJ-NP-TV-Z]\b")
# the words between the parts of a spoken address, which recognizers may set between commas
_LOCAL_SEP = (
    r"(?:[ \t]*[._\-][ \t]*|[ \t,]+(?:dot|underscore|dash|hyphen|period|point|punto"
    r"|tiret(?:[ \t]+bas)?|gui[óo]n(?:[ \t]+bajo)?|barra[ \t]+baja|trait[ \t]+d'union)[ \t,]+)"
)
_DOMAIN_SEP = r"(?:[ \t]*\.[ \t]*|[ \t,]+(?:dot|point|punto)[ \t,]+)"
_AT = r"(?:[ \t]*@[ \t]*|[ \t,]+(?:at|arroba|arobas[e]?|arrobase|a[ \t]robase)[ \t,]+)"
SPOKEN_EMAIL = re.compile(
    rf"\b(?P<local>[^\W_]+(?:{_LOCAL_SEP}[^\W_]+)*){_AT}"
    rf"(?P<domain>[a-z0-9]+(?:{_DOMAIN_SEP}[a-z0-9]+)+)\b",
    _I,
)
DOMAIN_SPLIT = re.compile(_DOMAIN_SEP, _I)
# "help at northwind dot com" as ASR sometimes writes it: "helpat-northwind.com",
# "help-at-northwind.com", "helpat.northwind.com", "helpatnorthwind.com"
GLUED_EMAIL = re.compile(
    r"\b(?P<local>[a-z0-9][a-z0-9._]*?)-?at[-.]?(?P<domain>[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+)\b",
    _I,
)
EMAIL_CONTEXT = re.compile(
    r"\b(?:e-?mail\w*|mail|write|wrote|reach|contact|address|send|sent|at|on)\b", _I
)


def wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


STOP_WORDS = wordset(
    """a an the is are was were be been am i i'm im me my mine you your yours we our us he she it
    it's its they them their this that these those there here to of in on at by for from with and or
    but so if as not no yes yeah okay ok please thanks thank email e mail address send sent use
    using just then than also all any some more most much many one each every what which who
    dollars dollar pounds pound euros euro cents pence percent minutes minute hours hour days day
    weeks week months month years year times time items item people calls call pm am can could
    reach contact write
    es mi su tu el la los las lo de del y o que correo electrónico electronico dirección direccion
    sí si pues bueno claro vale yo soy tengo usted
    est c'est mon ma ta votre le les du des et ou mais oui non alors donc je j'ai suis mail
    courriel adresse électronique electronique vous"""
)
MONTHS = wordset(
    """january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec
    enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre noviembre
    diciembre janvier février fevrier mars avril mai juin juillet août aout septembre octobre
    novembre décembre decembre"""
)
ORDINALS = wordset(
    """first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth
    thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth
    thirtieth premier première primero primer"""
)
DATE_LEAD = wordset(
    "is was it's its it on in the my of a at date birth be um uh er yes yeah sure ok okay so "
    "that's that please for me your can you confirm right thanks thank "
    "es el la mi fue sí si est le ma mon oui c'est alors donc pues bueno claro vale "
    "? . , : ; ! -"
)
DATE_JOIN = frozenset({"of", "the", "and", ",", "/", "-", ".", "'", "–", "de", "del", "y", "et"})
DATE_LEAD_MAX = 10  # "date of birth, please? - Yes, it's the 23rd of March 1965"
ORDINAL_SUFFIX = frozenset({"st", "nd", "rd", "th", "er", "re", "ère", "º", "ª", "°"})
