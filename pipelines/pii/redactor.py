"""PII redaction stage: placeholders in transcripts, words and translations, timed entities.

Detection (``pii_detect``) runs once over the whole call, so a card number read across two
segments of the same speaker, or a security code answered to the agent's question, is found.
Each segment gets its own placeholder (``[CARD]``, ``[CVV]``, ``[PHONE]``, ``[EMAIL]``,
``[NATIONAL_ID]``, ``[IBAN]``, ``[DOB]``, ``[ADDRESS]``) and ``PiiEntity`` timed from the words
(interpolated by character position where the digits have no timing of their own). The original
values are never logged, returned or kept.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from pipelines.core.types import PiiEntity, Segment, Word
from pipelines.pii.detect import PII_TYPES, DetectOptions, Detector
from pipelines.pii.references import Reference, reference_spans, spans_per_segment
from pipelines.pii.spoken import NUMBER_WORDS, TOKEN
from pipelines.pii.text import (
    PLACEHOLDERS,
    Place,
    Span,
    align_words,
    finish_cards,
    local_span,
    new_position,
    replace_spans,
    scrub,
    secrets_of,
    time_at,
)

DIGIT_RUN = re.compile(r"\d(?:[\d,.\s-]*\d)?")
"""Digits in an original whose translation held personal data the original's ASR garbled."""

__all__ = [
    "PII_TYPES",
    "PLACEHOLDERS",
    "POLICY",
    "DetectOptions",
    "PatternPiiRedactor",
    "PiiOptions",
    "PiiRedaction",
    "PiiRedactor",
    "default_redactor",
    "mask_numbers",
    "redact_text",
]

logger = logging.getLogger(__name__)

POLICY = "pattern-v1"
HARD_BREAK = "\n"

AudioSpan = tuple[float, float, int | None]


def _number_goes_on(before: str, after: str) -> bool:
    """A number closes ``before`` and another opens ``after`` (digits or number words)."""
    words = [[t for t in TOKEN.findall(text) if t[0].isalnum()] for text in (before, after)]
    edges = (words[0][-1:], words[1][:1])
    return all(e and (e[0].isdigit() or e[0].lower() in NUMBER_WORDS) for e in edges)


@dataclass(frozen=True, slots=True)
class PiiOptions:
    """Options of the pattern redactor.

    ``join_gap_s``: consecutive segments of one speaker closer than this are read as one text
    (numbers continue across them); ``number_gap_s``: so are two where a number read out
    closes the first and opens the second (a caller pausing mid-card). ``max_extend_s``: an
    entity's time reaches into the untranscribed gap next to it (where the transcriber dropped
    digits) up to this long.
    ``interpolation_margin_s`` widens times interpolated without word timestamps.
    """

    detect: DetectOptions = field(default_factory=DetectOptions)
    join_gap_s: float = 2.0
    number_gap_s: float = 5.0
    max_extend_s: float = 10.0
    interpolation_margin_s: float = 0.2


@dataclass(frozen=True, slots=True)
class PiiRedaction:
    """Redacted segments and where, in the call, personal data was removed."""

    segments: tuple[Segment, ...]
    entities: tuple[PiiEntity, ...]
    policy: str

    def audio_spans(self, *, all_channels: bool = True) -> tuple[AudioSpan, ...]:
        """``(start, end, channel)`` for ``redact_audio``; ``None`` channel = every channel."""
        channel = {s.id: s.channel for s in self.segments}
        return tuple(
            (e.start, e.end, None if all_channels else channel.get(e.segment_id))
            for e in self.entities
        )

    def to_json(self) -> dict[str, Any]:
        """The record's ``pii`` field."""
        return {
            "entities": [
                {
                    "type": e.type,
                    "segment_id": e.segment_id,
                    "start": round(e.start, 3),
                    "end": round(e.end, 3),
                }
                for e in self.entities
            ],
            "policy": self.policy,
        }


class PiiRedactor(Protocol):
    """The PII stage: removes personal data from segments and free text."""

    @property
    def policy(self) -> str: ...

    def redact(self, segments: Sequence[Segment]) -> PiiRedaction: ...

    def redact_text(self, text: str) -> tuple[str, tuple[str, ...]]: ...


REFERENCE = "REFERENCE"


def with_references(spans: list[Span], found: Iterable[tuple[Reference, int, int]]) -> list[Span]:
    """``spans`` and the references' spans that overlap none of them, in text order."""
    out = list(spans)
    for _, start, end in found:
        if not any(s.start < end and start < s.end for s in out):
            out.append(Span(REFERENCE, start, end))
    return sorted(out, key=lambda s: s.start)


def add_references(segments: Sequence[Segment], local: dict[int, list[Span]]) -> None:
    """The order, account and case numbers said in the call join each segment's spans."""
    for i, found in spans_per_segment(segments).items():
        local[i] = with_references(local.get(i, []), found)


class PatternPiiRedactor:
    """Pattern and context rules (presidio's recognizers plus spoken forms); no NLP model."""

    def __init__(self, options: PiiOptions | None = None) -> None:
        self.options = options or PiiOptions()
        self._detector = Detector(self.options.detect)

    @property
    def policy(self) -> str:
        return POLICY

    @property
    def settings(self) -> dict[str, Any]:
        """The options it runs with, for the record's provenance."""
        o = self.options
        return {
            "policy": POLICY,
            "types": sorted(o.detect.types),
            "phone_regions": list(o.detect.phone_regions),
            "join_gap_s": o.join_gap_s,
            "number_gap_s": o.number_gap_s,
            "max_extend_s": o.max_extend_s,
        }

    def redact_text(self, text: str) -> tuple[str, tuple[str, ...]]:
        """Free text (search queries, log lines) with placeholders, and the types removed."""
        spans = [Span(f.type, f.start, f.end) for f in self._detector.find(text)]
        if REFERENCE in self.options.detect.types:
            spans = with_references(spans, reference_spans(text))
        new_text, _ = replace_spans(text, spans)
        return new_text, tuple(span.type for span in spans)

    def redact(self, segments: Sequence[Segment]) -> PiiRedaction:
        """Redact a call's segments; entities come in time order."""
        order = sorted(range(len(segments)), key=lambda i: (segments[i].start, i))
        parts: list[str] = []
        offsets: dict[int, int] = {}
        length = 0
        for n, i in enumerate(order):
            if n:
                sep = self._separator(segments[order[n - 1]], segments[i])
                parts.append(sep)
                length += len(sep)
            offsets[i] = length
            parts.append(segments[i].text)
            length += len(segments[i].text)
        found = self._detector.find("".join(parts))
        local: dict[int, list[Span]] = {}
        for f in found:
            for i in order:
                span = local_span(f, segments[i].text, offsets[i])
                if span is not None:
                    local.setdefault(i, []).append(span)
        finish_cards(segments, order, local, self.options.number_gap_s)
        if REFERENCE in self.options.detect.types:
            add_references(segments, local)
        timeline = sorted(
            (w.start, w.end) for s in segments for w in (s.words or (Word(s.start, s.end, "", 0),))
        )
        out: list[Segment] = []
        entities: list[PiiEntity] = []
        for i, segment in enumerate(segments):
            new, ents = self._segment(segment, local.get(i, []), timeline)
            out.append(new)
            entities.extend(ents)
        entities.sort(key=lambda e: (e.start, e.segment_id, e.char_start))
        if entities:
            logger.info(
                "redacted %d PII entities (%s)",
                len(entities),
                ", ".join(sorted({e.type for e in entities})),
            )
        return PiiRedaction(tuple(out), tuple(entities), POLICY)

    def _separator(self, a: Segment, b: Segment) -> str:
        if a.channel != b.channel or a.speaker != b.speaker:
            return HARD_BREAK
        gap = b.start - a.end
        if gap <= self.options.join_gap_s:
            return " "
        if gap <= self.options.number_gap_s and _number_goes_on(a.text, b.text):
            return " "
        return HARD_BREAK

    def _segment(
        self, seg: Segment, spans: list[Span], timeline: Sequence[tuple[float, float]] = ()
    ) -> tuple[Segment, list[PiiEntity]]:
        spans = sorted(spans, key=lambda s: s.start)
        translation = seg.translation
        only_translated: tuple[str, ...] = ()
        if translation is not None:
            text, only_translated = self.redact_text(translation.text)
            if only_translated and not spans:
                # the translation is clearer than the original ("4,111,111" for a 16-digit
                # card): mask the original's digits too, and mark the whole segment
                kind = only_translated[0]
                spans = [Span(kind, m.start(), m.end()) for m in DIGIT_RUN.finditer(seg.text)]
            else:
                only_translated = ()
            text = scrub(text, secrets_of(seg.text, spans), retold=True)
            if text != translation.text:
                translation = replace(translation, text=text)
        secrets = secrets_of(seg.text, spans)
        new_text, placed = replace_spans(seg.text, spans)
        aligned = align_words(seg.words, seg.text)
        entities = [
            PiiEntity(s.type, seg.id, *self._times(seg, aligned, s, timeline), p.start, p.end)
            for s, p in zip(spans, placed, strict=True)
        ]
        if only_translated and not entities:
            entities = [PiiEntity(only_translated[0], seg.id, seg.start, seg.end)]
        words = self._words(seg, aligned, spans, placed, new_text, secrets)
        if new_text == seg.text and words == seg.words and translation is seg.translation:
            return seg, entities
        return replace(seg, text=new_text, words=words, translation=translation), entities

    def _times(
        self,
        seg: Segment,
        aligned: list[Place | None],
        span: Span,
        timeline: Sequence[tuple[float, float]],
    ) -> tuple[float, float]:
        """The entity's time: from its words, reaching into the silent gaps on either side.

        Transcribers drop repeated digits ("4,111,111" for a 16-digit card) and leave the gap
        untimed: the span reaches back to the previous word and on to the next word of the
        call (any channel), at most ``max_extend_s`` each way.
        """
        hits = [k for k, a in enumerate(aligned) if a and a.overlaps(span)]
        words = seg.words
        if not hits:
            n = max(len(seg.text), 1)
            dur = seg.end - seg.start
            margin = self.options.interpolation_margin_s
            start = seg.start + dur * span.start / n - margin
            end = seg.start + dur * span.end / n + margin
            return max(seg.start, start), min(seg.end, max(end, start))
        first, last = hits[0], hits[-1]
        fa, la = aligned[first], aligned[last]
        assert fa is not None and la is not None
        start = time_at(words[first], fa, span.start)
        end = time_at(words[last], la, span.end)
        limit = self.options.max_extend_s
        if span.start <= fa.core_start:
            before = max((e for _, e in timeline if e <= start), default=0.0)
            start = max(min(start, before), start - limit, 0.0)
        if span.end >= la.core_end:
            after = min((s for s, _ in timeline if s >= end), default=end + limit)
            end = min(max(end, after), end + limit)
        return start, max(end, start)

    def _words(
        self,
        seg: Segment,
        aligned: list[Place | None],
        spans: list[Span],
        placed: list[Span],
        new_text: str,
        secrets: list[tuple[str, str]],
    ) -> tuple[Word, ...]:
        groups: list[list[int]] = []  # [first word, last word, old start, old end]
        for s in spans:
            hits = [k for k, a in enumerate(aligned) if a and a.overlaps(s)]
            if not hits:
                continue
            first_a, last_a = aligned[hits[0]], aligned[hits[-1]]
            assert first_a is not None and last_a is not None
            group = [hits[0], hits[-1], min(first_a.start, s.start), max(last_a.end, s.end)]
            if groups and group[0] <= groups[-1][1]:
                prev = groups[-1]
                groups[-1] = [prev[0], max(prev[1], group[1]), prev[2], max(prev[3], group[3])]
            else:
                groups.append(group)
        by_first = {g[0]: g for g in groups}
        words: list[Word] = []
        k = 0
        while k < len(seg.words):
            word = seg.words[k]
            if k in by_first:
                first, last, old_start, old_end = by_first[k]
                lead = word.word[: len(word.word) - len(word.word.lstrip())]
                text = new_text[
                    new_position(old_start, spans, placed) : new_position(old_end, spans, placed)
                ]
                members = seg.words[first : last + 1]
                words.append(
                    Word(
                        start=word.start,
                        end=max(w.end for w in members),
                        word=lead + text,
                        probability=min(w.probability for w in members),
                    )
                )
                k = last + 1
                continue
            if aligned[k] is None:
                text, _ = self.redact_text(word.word)
                word = replace(word, word=scrub(text, secrets))
            words.append(word)
            k += 1
        return tuple(words)


@functools.cache
def default_redactor() -> PatternPiiRedactor:
    """One process-wide redactor with default options (built on first use)."""
    return PatternPiiRedactor()


def redact_text(text: str) -> tuple[str, tuple[str, ...]]:
    """``text`` with personal data replaced by placeholders, and the types removed."""
    return default_redactor().redact_text(text)


def mask_numbers(text: str, min_digits: int = 4, runs: re.Pattern[str] = DIGIT_RUN) -> str:
    """The ``runs`` of ``min_digits`` digits or more as ``[NUMBER]``, without recognizers:
    for live desktops (a live decode garbles a card past them, "4-1-1") and for logs while
    the recognizers load."""

    def number(m: re.Match[str]) -> str:
        return "[NUMBER]" if sum(c.isdigit() for c in m.group()) >= min_digits else m.group()

    return runs.sub(number, text)
