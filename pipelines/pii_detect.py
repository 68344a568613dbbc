"""Finding personal data in (transcript) text: presidio's pattern recognizers plus our rules.

presidio-analyzer gives the written forms: card numbers with the Luhn check, e-mail addresses,
phone numbers (through ``phonenumbers``), US SSNs, UK NINOs, IBANs (checksum) and UK postcodes.
It is loaded lazily and without any NLP model. Our rules add what a phone call needs: spoken
numbers (``pii_spoken``), spoken e-mail addresses, and context rules (card security codes, dates
of birth, street addresses, numbers read out after "card number", "phone", "social security").
"""

from __future__ import annotations

import bisect
import functools
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pipelines.errors import ModelUnavailableError
from pipelines.pii_spoken import (
    NUMBER_WORDS,
    Normalized,
    Token,
    normalize,
    tokenize,
)

logger = logging.getLogger(__name__)

PII_TYPES = ("CARD", "CVV", "PHONE", "EMAIL", "NATIONAL_ID", "DOB", "ADDRESS")
# Which type names a span that two rules found: context rules before presidio's phone guess.
STRENGTH = ("CVV", "CARD", "NATIONAL_ID", "DOB", "EMAIL", "PHONE", "ADDRESS")
PRIORITY = {t: len(STRENGTH) - i for i, t in enumerate(STRENGTH)}
DEFAULT_PHONE_REGIONS = ("US", "GB", "CA", "IE", "AU", "DE", "FR", "IN")

_I = re.IGNORECASE
# Every rule needs a digit, a number word, an "@" or a domain-like "x.yz"/"dot": text without
# any of them is returned as it is without running the recognizers.
MAY_HOLD_PII = re.compile(
    r"\d|@|\w\.[a-z]{2}|\b(?:dot|o|oh|zero|nought|one|two|three|four|five|six|seven|eight|nine"
    r"|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty"
    r"|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|double|triple)\b",
    _I,
)
CVV_CONTEXT = re.compile(
    r"security\s+(?:code|number|digits)|secure\s+code|\bc\.?\s?v\.?\s?[vc]2?\b|\bcv2\b|\bcsc\b"
    r"|card\s+verification|verification\s+(?:code|number|value)|\bdigits\b|on\s+the\s+back",
    _I,
)
CARD_CONTEXT = re.compile(
    r"\bcard\b|\bvisa\b|master\s?card|\bamex\b|american\s+express|\bdiscover\b|long\s+number"
    # the same said by callers in Spanish, French, German, Portuguese, Italian
    r"|\btarjeta\b|\bcarte\b|\w*karte\b|\bcart[ãa]o\b|\bcarta\b",
    _I,
)
PHONE_CONTEXT = re.compile(
    r"phone|mobile|\bcell\b|telephone|landline|\bcall\s+(?:me|you|us|him|her)\b|reach\s+me"
    r"|contact\s+number|\bring\s+me|text\s+me|whatsapp",
    _I,
)
ID_CONTEXT = re.compile(
    r"social\s+security|\bssn\b|national\s+insurance|\bn\.?\s?i\.?\s+number|\bnino\b"
    r"|national\s+id|\bid\s+number|identity\s+number|identification\s+number|tax\s+(?:id|number)",
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
    r"|c[óo]digo\s+postal|direcci[óo]n|\bvivo\s+en\b|code\s+postal|adresse|\bj'habite\b",
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
ID_SUFFIX = re.compile(r"[ .]{0,2}[A-Z]\b")
_LOCAL_SEP = r"(?:[ \t]*[._\-][ \t]*|[ \t]+(?:dot|underscore|dash|hyphen|period)[ \t]+)"
_DOMAIN_SEP = r"(?:[ \t]*\.[ \t]*|[ \t]+dot[ \t]+)"
SPOKEN_EMAIL = re.compile(
    rf"\b(?P<local>[a-z0-9]+(?:{_LOCAL_SEP}[a-z0-9]+)*)(?:[ \t]*@[ \t]*|[ \t]+at[ \t]+)"
    rf"(?P<domain>[a-z0-9]+(?:{_DOMAIN_SEP}[a-z0-9]+)+)\b",
    _I,
)
DOMAIN_SPLIT = re.compile(_DOMAIN_SEP, _I)
# "help at northwind dot com" as ASR sometimes writes it: "helpat-northwind.com",
# "help-at-northwind.com", "helpat.northwind.com"
GLUED_EMAIL = re.compile(
    r"\b(?P<local>[a-z0-9][a-z0-9._]*?)-?at[-.](?P<domain>[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+)\b",
    _I,
)
EMAIL_CONTEXT = re.compile(
    r"\b(?:e-?mail\w*|mail|write|wrote|reach|contact|address|send|sent|at|on)\b", _I
)


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


STOP_WORDS = _wordset(
    """a an the is are was were be been am i i'm im me my mine you your yours we our us he she it
    it's its they them their this that these those there here to of in on at by for from with and or
    but so if as not no yes yeah okay ok please thanks thank email e mail address send sent use
    using just then than also all any some more most much many one each every what which who
    dollars dollar pounds pound euros euro cents pence percent minutes minute hours hour days day
    weeks week months month years year times time items item people calls call pm am can could
    reach contact write"""
)
MONTHS = _wordset(
    """january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec
    enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre noviembre
    diciembre janvier février fevrier mars avril mai juin juillet août aout septembre octobre
    novembre décembre decembre"""
)
ORDINALS = _wordset(
    """first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth
    thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth
    thirtieth"""
)
DATE_LEAD = _wordset(
    "is was it's its it on in the my of a at date birth be um uh er yes yeah sure ok okay so "
    "that's that please for me your can you confirm right thanks thank "
    "es el la mi fue sí si est le ma mon oui c'est "
    "? . , : ; ! -"
)
DATE_JOIN = frozenset({"of", "the", "and", ",", "/", "-", ".", "'", "–", "de", "del"})
DATE_LEAD_MAX = 10  # "date of birth, please? - Yes, it's the 23rd of March 1965"
ORDINAL_SUFFIX = frozenset({"st", "nd", "rd", "th"})


@dataclass(frozen=True, slots=True)
class Found:
    """One piece of personal data: its type and its span in the analysed text."""

    type: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class DetectOptions:
    """What to look for and how far context phrases reach (in words)."""

    types: frozenset[str] = frozenset(PII_TYPES)
    phone_regions: tuple[str, ...] = DEFAULT_PHONE_REGIONS
    context_words: int = 12
    card_context_min_digits: int = 6
    id_context_min_digits: int = 6
    scan_words: int = 14


class _Recognizers:
    """presidio's recognizers, built once per process without any NLP model."""

    def __init__(self, phone_regions: tuple[str, ...]) -> None:
        try:
            import tldextract
            from presidio_analyzer import PatternRecognizer
            from presidio_analyzer.predefined_recognizers import (
                CreditCardRecognizer,
                EmailRecognizer,
                IbanRecognizer,
                PhoneRecognizer,
                UkNinoRecognizer,
                UkPostcodeRecognizer,
                UsSsnRecognizer,
            )
        except ImportError as exc:  # pragma: no cover - declared dependency
            raise ModelUnavailableError(
                "presidio-analyzer", "pip install presidio-analyzer (pattern recognizers)"
            ) from exc
        # presidio logs matched text on some validation failures: never let values through.
        logging.getLogger("presidio-analyzer").addFilter(_drop_args)
        self.card = CreditCardRecognizer()
        # EmailRecognizer's own check asks the network for the public suffix list; use its
        # pattern and check the domain against the suffix list snapshot shipped with tldextract.
        self.email = PatternRecognizer(
            supported_entity="EMAIL_ADDRESS", patterns=EmailRecognizer.PATTERNS
        )
        self.suffixes = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
        self.phone = PhoneRecognizer(supported_regions=phone_regions)
        self.ssn = UsSsnRecognizer()
        self.nino = UkNinoRecognizer()
        self.iban = IbanRecognizer()
        self.postcode = UkPostcodeRecognizer()

    def spans(
        self, recognizer: Any, text: str, min_score: float = 0.0
    ) -> list[tuple[int, int, float]]:
        results = recognizer.analyze(
            text, entities=recognizer.supported_entities, nlp_artifacts=None
        )
        return [(r.start, r.end, r.score) for r in results if r.score >= min_score]

    def is_card(self, digits: str) -> bool:
        return bool(self.card.validate_result(digits))

    def is_domain(self, domain: str) -> bool:
        parts = self.suffixes(domain)
        return bool(parts.domain and parts.suffix)


def _drop_args(record: logging.LogRecord) -> bool:
    if record.args:
        record.args = tuple("<redacted>" for _ in record.args)
    return True


@functools.cache
def recognizers(phone_regions: tuple[str, ...] = DEFAULT_PHONE_REGIONS) -> _Recognizers:
    """The process-wide presidio recognizers (first call imports presidio: a few seconds)."""
    return _Recognizers(phone_regions)


class _Context:
    """Context phrases before or after a position, counted in words."""

    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.words = [t for t in tokens if t.is_word or t.text.isdigit()]
        self.starts = [t.start for t in self.words]

    def before(self, pos: int, n: int) -> str:
        i = bisect.bisect_left(self.starts, pos)
        if i == 0:
            return ""
        return self.text[self.words[max(0, i - n)].start : pos]

    def after(self, pos: int, n: int) -> str:
        i = bisect.bisect_left(self.starts, pos)
        if i >= len(self.words):
            return ""
        return self.text[pos : self.words[min(len(self.words), i + n) - 1].end]


class Detector:
    """Finds personal data in text and returns non-overlapping, typed spans."""

    def __init__(self, options: DetectOptions | None = None) -> None:
        self.options = options or DetectOptions()
        self._rec = recognizers(tuple(self.options.phone_regions))

    def find(self, text: str) -> list[Found]:
        if not MAY_HOLD_PII.search(text):
            return []
        tokens = tokenize(text)
        norm = normalize(text)
        ctx = _Context(text, tokens)
        found = [
            *self._runs(norm, ctx),
            *self._written(text, norm),
            *self._spoken_emails(text, tokens),
            *self._addresses(text, norm, ctx),
            *self._births(text, tokens),
        ]
        wanted = [f for f in found if f.type in self.options.types]
        return merge(text, wanted)

    def _runs(self, norm: Normalized, ctx: _Context) -> Iterable[Found]:
        opts, n_ctx = self.options, self.options.context_words
        for run in norm.runs:
            digits, n = run.digits, len(run.digits)
            before = ctx.before(run.start, n_ctx)
            if 3 <= n <= 4 and (
                CVV_CONTEXT.search(before) or CVV_CONTEXT.search(ctx.after(run.end, 5))
            ):
                yield Found("CVV", run.start, run.end)
            elif self._card_digits(digits) or (
                n >= opts.card_context_min_digits and CARD_CONTEXT.search(ctx.before(run.start, 8))
            ):
                yield Found("CARD", run.start, run.end)
            elif n >= opts.id_context_min_digits and ID_CONTEXT.search(before):
                yield Found("NATIONAL_ID", *_with_letters(ctx.text, run.start, run.end))
            elif 7 <= n <= 15 and PHONE_CONTEXT.search(before):
                yield Found("PHONE", run.start, run.end)
            elif n in (5, 9) and ADDRESS_CONTEXT.search(ctx.before(run.start, 15)):
                yield Found("ADDRESS", run.start, run.end)

    def _card_digits(self, digits: str) -> bool:
        """A card number (Luhn), alone or with a digit or three run into it by the transcriber."""
        n = len(digits)
        if 13 <= n <= 19 and digits[0] in "23456" and self._rec.is_card(digits):
            return True
        if 17 <= n <= 22:
            windows = (digits[:16], digits[-16:], digits[:15], digits[-15:])
            return any(w[0] in "3456" and self._rec.is_card(w) for w in windows)
        return False

    def _written(self, text: str, norm: Normalized) -> Iterable[Found]:
        rec = self._rec
        for start, end, _ in rec.spans(rec.card, text):
            yield Found("CARD", start, end)
        for start, end, _ in rec.spans(rec.email, text):
            if rec.is_domain(text[start:end].rsplit("@", 1)[-1]):
                yield Found("EMAIL", start, end)
        for start, end, _ in rec.spans(rec.ssn, text, min_score=0.5):
            yield Found("NATIONAL_ID", start, end)
        for recognizer in (rec.nino, rec.iban):
            for target in (text, norm.text):
                for start, end, _ in rec.spans(recognizer, target, min_score=0.5):
                    span = (start, end) if target is text else norm.to_source(start, end)
                    yield Found("NATIONAL_ID", *span)
        for m in NINO_SPELLED.finditer(norm.text):
            yield Found("NATIONAL_ID", *norm.to_source(m.start(), m.end()))
        for start, end, _ in rec.spans(rec.phone, norm.text):
            yield Found("PHONE", *norm.to_source(start, end))

    def _spoken_emails(self, text: str, tokens: list[Token]) -> Iterable[Found]:
        for m in SPOKEN_EMAIL.finditer(text):
            labels = [p.strip() for p in DOMAIN_SPLIT.split(m.group("domain"))]
            if m.group("local").lower() in STOP_WORDS or not self._rec.is_domain(".".join(labels)):
                continue  # "reach us at northwind.com" names a website, not an address
            yield Found("EMAIL", _local_start(text, tokens, m.start()), m.end())
        for m in GLUED_EMAIL.finditer(text):  # "at" fused into the address, after a cue word
            if not self._rec.is_domain(m.group("domain")):
                continue
            if EMAIL_CONTEXT.search(text[max(0, m.start() - 40) : m.start()]):
                yield Found("EMAIL", m.start(), m.end())

    def _addresses(self, text: str, norm: Normalized, ctx: _Context) -> Iterable[Found]:
        for m in STREET.finditer(norm.text):
            names = m.group(1).split()
            if any(w.lower() in STOP_WORDS or w.lower() in NUMBER_WORDS for w in names):
                continue
            yield Found("ADDRESS", *norm.to_source(m.start(), m.end()))
        for start, end, _ in self._rec.spans(self._rec.postcode, text):
            if ADDRESS_CONTEXT.search(ctx.before(start, 15)) and text[start].isupper():
                yield Found("ADDRESS", start, end)
        for m in SPOKEN_POSTCODE.finditer(text):
            if ADDRESS_CONTEXT.search(ctx.before(m.start(), 15)):
                yield Found("ADDRESS", m.start(), m.end())

    def _births(self, text: str, tokens: list[Token]) -> Iterable[Found]:
        starts = [t.start for t in tokens]
        for m in BIRTH_CONTEXT.finditer(text):
            i = bisect.bisect_left(starts, m.end())
            span = _date_span(tokens, i, self.options.scan_words)
            if span is not None:
                yield Found("DOB", *span)


def _with_letters(text: str, start: int, end: int) -> tuple[int, int]:
    """An ID number with the capital letters read out before and after it ("AB 123456 C")."""
    left = ID_PREFIX.search(text, 0, start)
    right = ID_SUFFIX.match(text, end)
    return (left.start() if left else start), (right.end() if right else end)


def _local_start(text: str, tokens: list[Token], start: int) -> int:
    """Spelled letters and up to two name words said before a spoken address's local part."""
    starts = [t.start for t in tokens]
    i = bisect.bisect_left(starts, start) - 1
    names = 0
    while i >= 0:
        tok = tokens[i]
        if text[tok.end : start].strip(" \t") != "":
            break
        word = tok.lower
        if len(tok.text) == 1 and tok.text.isalnum():
            pass
        elif tok.is_word and word not in STOP_WORDS and names < 2:
            names += 1
        else:
            break
        start = tok.start
        i -= 1
    return start


def _date_span(tokens: list[Token], i: int, limit: int) -> tuple[int, int] | None:
    """The date said from token ``i`` on (after fillers like "is", "on the"), if any."""
    lead = 0
    while i < len(tokens) and lead < DATE_LEAD_MAX and tokens[i].lower in DATE_LEAD:
        i += 1
        lead += 1
    first = last = None
    numeric = False
    j = i
    while j < len(tokens) and j - i < limit:
        tok = tokens[j]
        word = tok.lower
        if tok.text.isdigit() or word in NUMBER_WORDS or word in ORDINALS:
            numeric = True
        elif word in MONTHS or (word in ORDINAL_SUFFIX and tokens[j - 1].text.isdigit()):
            pass
        elif word in DATE_JOIN and first is not None:
            j += 1
            continue
        else:
            break
        if first is None:
            first = j
        last = j
        j += 1
    if first is None or last is None or not numeric:
        return None
    return tokens[first].start, tokens[last].end


def merge(text: str, found: Iterable[Found]) -> list[Found]:
    """Widen spans to whole words, then join overlapping ones (the stronger type wins)."""
    spans = sorted((_widen(text, f) for f in found), key=lambda f: (f.start, -f.end))
    merged: list[Found] = []
    for f in spans:
        if merged and f.start < merged[-1].end:
            last = merged[-1]
            kind = max(last.type, f.type, key=PRIORITY.__getitem__)
            merged[-1] = Found(kind, last.start, max(last.end, f.end))
        else:
            merged.append(f)
    return merged


def _widen(text: str, f: Found) -> Found:
    start, end = f.start, f.end
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum() and text[end - 1].isalnum():
        end += 1
    return Found(f.type, start, end)
