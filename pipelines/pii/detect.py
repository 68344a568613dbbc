"""Finding personal data in (transcript) text: presidio's pattern recognizers plus our rules.

presidio-analyzer gives the written forms: card numbers with the Luhn check, e-mail addresses,
phone numbers (through ``phonenumbers``), US SSNs, UK NINOs, IBANs (checksum) and UK postcodes.
It is loaded lazily and without any NLP model. Our rules add what a phone call needs: spoken
numbers in English, Spanish and French (``pii_spoken``, ``pii_numbers``), spoken e-mail
addresses, context rules (card security codes, dates of birth, street addresses, numbers read
out after "card number", "phone", "social security", "DNI", "carte vitale"), and forms known by
their shape: spelled IBANs, Spanish DNI/NIE and French NIR numbers, UK postcodes without a cue
(``pii_forms``), Spanish and French street addresses (``pii_address``) and full dates of birth
(``pii_dates``).
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import importlib.abc
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pipelines.core.errors import ModelUnavailableError
from pipelines.pii.address import french_streets, streets_named_first, turned_streets
from pipelines.pii.cues import (
    ADDRESS_CONTEXT,
    BIRTH_CONTEXT,
    CARD_CONTEXT,
    CVV_CONTEXT,
    DATE_JOIN,
    DATE_LEAD,
    DATE_LEAD_MAX,
    DOMAIN_SPLIT,
    EMAIL_CONTEXT,
    GLUED_EMAIL,
    ID_CONTEXT,
    ID_PREFIX,
    ID_SUFFIX,
    MAY_HOLD_PII,
    MONTHS,
    NINO_SPELLED,
    ORDINAL_SUFFIX,
    ORDINALS,
    PHONE_CONTEXT,
    SPOKEN_EMAIL,
    SPOKEN_POSTCODE,
    STOP_WORDS,
    STREET,
)
from pipelines.pii.dates import births
from pipelines.pii.forms import REFERENCE_CUE, ibans, is_nir, spanish_ids, uk_postcodes
from pipelines.pii.spoken import (
    NUMBER_WORDS,
    Normalized,
    Token,
    normalize,
    tokenize,
)

logger = logging.getLogger(__name__)

PII_TYPES = (
    "CARD", "CVV", "PHONE", "EMAIL", "NATIONAL_ID", "IBAN", "DOB", "ADDRESS", "REFERENCE",
)  # fmt: skip
# REFERENCE (an order, account or case number after its cue) is found by pipelines.pii.references
# Which type names a span that two rules found: context rules before presidio's phone guess
# (an IBAN, checked mod 97, before the card number its account digits may look like).
STRENGTH = ("CVV", "IBAN", "CARD", "NATIONAL_ID", "DOB", "EMAIL", "PHONE", "ADDRESS", "REFERENCE")
PRIORITY = {t: len(STRENGTH) - i for i, t in enumerate(STRENGTH)}
DEFAULT_PHONE_REGIONS = ("US", "GB", "CA", "IE", "AU", "DE", "FR", "IN")


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
    long_run_min_digits: int = 13
    read_out_min_digits: int = 10  # digits read out in groups: an account number, an IBAN's
    scan_words: int = 14


AMOUNT = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")


def _read_out(run: str) -> bool:
    """Digits in groups apart (spaces, hyphens, full stops), not a written amount."""
    return AMOUNT.fullmatch(run) is None and re.search(r"\d[\s.-]+\d", run) is not None


class _Recognizers:
    """presidio's recognizers, built once per process without any NLP model."""

    def __init__(self, phone_regions: tuple[str, ...]) -> None:
        try:
            import tldextract

            with _without(NLP_BACKENDS):
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


# presidio's package imports its optional NLP engines, which import these when installed (torch
# and transformers for its Hugging Face engine, stanza for its Stanza one): 5 s and 860 MiB for
# pattern recognizers that use none of them. They are hidden while presidio is first imported
# (its engines then see them as not installed); anything else imports them as usual.
NLP_BACKENDS = ("torch", "transformers", "stanza")


class _Hidden(importlib.abc.MetaPathFinder):
    """Fails imports of the named top-level packages (and their submodules)."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        if fullname.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


@contextlib.contextmanager
def _without(modules: tuple[str, ...]) -> Iterator[None]:
    """Imports of ``modules`` fail inside the block unless they were imported before it.

    A finder first on ``sys.meta_path`` refuses them; ``sys.modules`` is left alone, since other
    threads read it meanwhile (scipy asks ``sys.modules["torch"]`` for its ``Tensor`` class on
    every array it checks: a ``None`` placed there broke the voice features' import of scipy in
    the analytics thread while presidio was imported in the main one)."""
    finder = _Hidden(tuple(name for name in modules if name not in sys.modules))
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


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
            *self._forms(norm, ctx),
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
            elif is_nir(digits):  # before the card check: a NIR starting with 2 may pass Luhn
                yield Found("NATIONAL_ID", run.start, run.end)
            elif self._card_digits(digits) or (
                n >= opts.card_context_min_digits and CARD_CONTEXT.search(ctx.before(run.start, 8))
            ):
                yield Found("CARD", run.start, run.end)
            elif n >= opts.id_context_min_digits and ID_CONTEXT.search(before):
                yield Found("NATIONAL_ID", *_with_letters(ctx.text, run.start, run.end))
            elif 7 <= n <= 15 and PHONE_CONTEXT.search(before):
                yield Found("PHONE", run.start, run.end)
            elif (
                n in (5, 9)
                and ADDRESS_CONTEXT.search(ctx.before(run.start, 15))
                and not REFERENCE_CUE.search(ctx.before(run.start, 3))
            ):
                yield Found("ADDRESS", run.start, run.end)
            elif n >= opts.long_run_min_digits and not REFERENCE_CUE.search(
                ctx.before(run.start, 4)
            ):
                # a run this long, not named as an order or a reference, is no amount said on a
                # call: a card read the transcriber or the translator garbled past the Luhn check
                # ("1,000,000,000,000,000." or a longer loop of zeros for a Spanish card)
                yield Found("CARD", run.start, run.end)
            elif (
                n >= opts.read_out_min_digits
                and _read_out(ctx.text[run.start : run.end])
                and not REFERENCE_CUE.search(ctx.before(run.start, 4))
            ):
                # ten digits or more read out in groups, named as nothing: an account number or
                # the part of an IBAN or card the transcriber kept ("1-5. 1-3-3-1. 9-2-5-6. 1-9")
                yield Found("REFERENCE", run.start, run.end)

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
        for kind, recognizer in (("NATIONAL_ID", rec.nino), ("IBAN", rec.iban)):
            for target in (text, norm.text):
                for start, end, _ in rec.spans(recognizer, target, min_score=0.5):
                    span = (start, end) if target is text else norm.to_source(start, end)
                    yield Found(kind, *span)
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

    def _forms(self, norm: Normalized, ctx: _Context) -> Iterable[Found]:
        for span in ibans(norm, ctx.before):
            yield Found("IBAN", *span)
        for span in spanish_ids(norm):
            yield Found("NATIONAL_ID", *span)
        for finder in (uk_postcodes, streets_named_first, french_streets, turned_streets):
            for span in finder(norm, ctx.before, ADDRESS_CONTEXT):
                yield Found("ADDRESS", *span)
        for span in births(norm):
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
