"""Hallucination guards: pure functions that drop or repair segments whisper invented.

Whisper, asked to decode silence, hold music or noise, tends to produce stock phrases
("Thank you for watching."), music notes or the same phrase over and over. These checks run
on every recognized segment after decoding.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace

from models.asr import RecognizedSegment
from pipelines.core.types import SpeechRegion

_STOCK_PHRASES = (
    "thank you for watching",
    "thanks for watching",
    "please subscribe",
    "subscribe to my channel",
    "like and subscribe",
    "subtitles by",
    "subtitled by",
    "amara.org",
    "transcribed by",
    "translated by",
    "copyright",
    "www.",
    "untertitel",
    "sous-titres",
    "subtítulos",
)
_MUSIC = re.compile(
    r"^[\s♪♫♬♩🎵🎶*#~.\-]*$|^\s*[\[(](music|musique|música|musik|applause)[\])]\s*$", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class GuardOptions:
    """Thresholds of the hallucination guards (recorded in provenance)."""

    max_no_speech_prob: float = 0.6
    min_avg_logprob_when_no_speech: float = -1.0
    min_avg_logprob_for_stock_phrase: float = -0.4
    max_repeats: int = 2
    max_edge_word_gap_s: float = 1.5
    min_speech_overlap: float = 0.2
    min_word_probability: float = 0.1


def is_blank(text: str) -> bool:
    """True when text has no letter or digit in any script."""
    return not any(unicodedata.category(ch)[0] in "LN" for ch in text)


def is_music_marker(text: str) -> bool:
    return bool(_MUSIC.match(text))


def is_stock_phrase(text: str) -> bool:
    folded = text.casefold()
    return any(phrase in folded for phrase in _STOCK_PHRASES)


def collapse_repetitions(segment: RecognizedSegment, max_repeats: int) -> RecognizedSegment:
    """Cut a run of the same n-gram (n = 1..8) repeated more than ``max_repeats`` times."""
    words = list(segment.words)
    tokens = [_fold(w.word) for w in words] if words else _fold(segment.text).split()
    keep = _repetition_mask(tokens, max_repeats)
    if all(keep):
        return segment
    if words:
        kept = tuple(w for w, k in zip(words, keep, strict=True) if k)
        text = "".join(w.word for w in kept)
        return replace(segment, words=kept, text=text, end=kept[-1].end if kept else segment.end)
    pieces = segment.text.split()
    return replace(segment, text=" " + " ".join(p for p, k in zip(pieces, keep, strict=True) if k))


def snap_stray_edge_words(segment: RecognizedSegment, max_gap_s: float) -> RecognizedSegment:
    """Move a first or last word that alignment placed far from its neighbour next to it.

    Word alignment over VAD-joined audio can put a segment's first word into the noise or
    music before the speech; the word is real, its time is not.
    """
    words = list(segment.words)
    if len(words) < 2:
        return segment
    first, second = words[0], words[1]
    if second.start - first.end > max_gap_s:
        length = min(first.end - first.start, 0.5)
        words[0] = replace(first, start=second.start - length, end=second.start)
    last, before = words[-1], words[-2]
    if last.start - before.end > max_gap_s:
        length = min(last.end - last.start, 0.5)
        words[-1] = replace(last, start=before.end, end=before.end + length)
    if words == list(segment.words):
        return segment
    return replace(segment, words=tuple(words), start=words[0].start, end=words[-1].end)


def _fold(word: str) -> str:
    return "".join(ch for ch in word.casefold() if unicodedata.category(ch)[0] in "LN")


def _repetition_mask(tokens: list[str], max_repeats: int) -> list[bool]:
    keep = [True] * len(tokens)
    i = 0
    while i < len(tokens):
        advanced = False
        for n in range(1, 9):
            gram = tokens[i : i + n]
            if len(gram) < n or not any(gram):
                break
            repeats = 1
            while tokens[i + repeats * n : i + (repeats + 1) * n] == gram:
                repeats += 1
            if repeats > max_repeats:
                for j in range(i + max_repeats * n, i + repeats * n):
                    keep[j] = False
                i += repeats * n
                advanced = True
                break
        if not advanced:
            i += 1
    return keep


def overlap_with_speech(
    start: float, end: float, regions: tuple[SpeechRegion, ...] | None
) -> float:
    """Fraction of [start, end] covered by speech regions (1.0 when no regions are known)."""
    if regions is None or end <= start:
        return 1.0
    covered = sum(max(0.0, min(end, r.end) - max(start, r.start)) for r in regions)
    return min(1.0, covered / (end - start))


def reject_reason(
    segment: RecognizedSegment,
    options: GuardOptions,
    speech: tuple[SpeechRegion, ...] | None = None,
) -> str | None:
    """Why a segment should be dropped, or None to keep it."""
    if is_music_marker(segment.text):
        return "music"
    if is_blank(segment.text):
        return "blank"
    if (
        segment.no_speech_prob > options.max_no_speech_prob
        and segment.avg_logprob < options.min_avg_logprob_when_no_speech
    ):
        return "no-speech"
    if segment.words and (
        sum(w.probability for w in segment.words) / len(segment.words)
        < options.min_word_probability
    ):
        return "improbable"
    if is_stock_phrase(segment.text) and (
        segment.avg_logprob < options.min_avg_logprob_for_stock_phrase
        or overlap_with_speech(segment.start, segment.end, speech) < 0.5
    ):
        return "stock-phrase"
    if overlap_with_speech(segment.start, segment.end, speech) < options.min_speech_overlap:
        return "outside-speech"
    return None


def guard_segments(
    segments: tuple[RecognizedSegment, ...],
    options: GuardOptions,
    speech: tuple[SpeechRegion, ...] | None = None,
) -> tuple[tuple[RecognizedSegment, ...], dict[str, int]]:
    """Apply every guard; return the kept segments and a count of drops per reason."""
    kept: list[RecognizedSegment] = []
    dropped: dict[str, int] = {}
    previous, run = "", 0
    for segment in segments:
        repaired = snap_stray_edge_words(
            collapse_repetitions(segment, options.max_repeats), options.max_edge_word_gap_s
        )
        reason = reject_reason(repaired, options, speech)
        folded = _fold(repaired.text)
        if reason is None:
            run = run + 1 if folded == previous else 1
            previous = folded
            if run > options.max_repeats:
                reason = "repeated-segment"
        if reason is None:
            kept.append(repaired)
        else:
            dropped[reason] = dropped.get(reason, 0) + 1
    return tuple(kept), dropped
