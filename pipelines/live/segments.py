"""Segments from one decoded utterance: pure functions shared by partials and finals."""

from __future__ import annotations

import unicodedata

import numpy as np

from models.asr import RecognizedSegment
from models.asr_stream import UtteranceResult
from pipelines.core.types import Segment, Word
from pipelines.transcribe.guards import GuardOptions, guard_segments
from pipelines.transcribe.stage import segment_confidence


def partial_segment(
    segment_id: int, start: float, end: float, result: UtteranceResult, channel: int
) -> Segment | None:
    """A partial covering ``[start, end]`` s of the call (None when whisper heard no text)."""
    text = result.text.strip()
    if not text:
        return None
    return Segment(
        id=segment_id,
        start=round(start, 3),
        end=round(end, 3),
        text=text,
        words=(),
        language=result.language,
        confidence=round(float(np.exp(result.avg_logprob)), 4),
        channel=channel,
    )


def final_segment(
    segment_id: int,
    start: float,
    end: float,
    result: UtteranceResult,
    channel: int,
    guards: GuardOptions,
) -> tuple[Segment | None, dict[str, int]]:
    """The final for audio ``[start, end]`` s after the hallucination guards.

    Word times move onto the call's timeline (clipped to ``end``); the segment spans its words.
    Words whisper could not place in the audio, a run of words of no duration at its end (a
    decode that repeats its sentence puts the copy there: seen on an AVX2 CPU), are left out
    unless no word is left. Returns None and the guards' reasons when the segment is dropped.
    """
    heard = result.words
    while heard and heard[-1].end <= heard[-1].start:
        heard = heard[:-1]
    text = result.text if len(heard) in (0, len(result.words)) else "".join(w.word for w in heard)
    words = tuple(
        Word(
            round(min(start + w.start, end), 3),
            round(min(start + w.end, end), 3),
            w.word,
            w.probability,
        )
        for w in (heard or result.words)
    )
    recognized = RecognizedSegment(
        start=words[0].start if words else start,
        end=words[-1].end if words else end,
        text=text,
        words=words,
        language=result.language,
        avg_logprob=result.avg_logprob,
        no_speech_prob=result.no_speech_prob,
        compression_ratio=result.compression_ratio,
    )
    kept, dropped = guard_segments((recognized,), guards)
    if not kept:
        return None, dropped
    segment = kept[0]
    return (
        Segment(
            id=segment_id,
            start=round(max(start, segment.start), 3),
            end=round(min(end, max(segment.end, segment.start)), 3),
            text=segment.text.strip(),
            words=segment.words,
            language=segment.language,
            confidence=round(segment_confidence(segment), 4),
            channel=channel,
        ),
        dropped,
    )


def gap_middle(words: tuple[Word, ...], index: int) -> float:
    """The middle of the gap after ``words[index]`` (its end if it is the last word)."""
    end = words[index].end
    following = words[index + 1].start if index + 1 < len(words) else end
    return max(end, (end + following) / 2)


def splittable(words: tuple[Word, ...], index: int) -> bool:
    """May an utterance be cut after ``words[index]``? Never between two numbers (a card read
    in groups stays whole)."""
    following = words[index + 1] if index + 1 < len(words) else None
    return following is None or not (has_digit(words[index].word) and has_digit(following.word))


def gap_after(words: tuple[Word, ...], index: int) -> float:
    """The silence after ``words[index]`` (0 after the last word)."""
    following = words[index + 1] if index + 1 < len(words) else None
    return following.start - words[index].end if following is not None else 0.0


def has_digit(word: str) -> bool:
    """Does a word hold a digit?"""
    return any(ch.isdigit() for ch in word)


def fold(word: str) -> str:
    """A word compared as heard: case-folded, letters and digits only."""
    return "".join(ch for ch in word.casefold() if unicodedata.category(ch)[0] in "LN")


def longest_run(windows: list[int], window_len: int) -> tuple[int, int] | None:
    """The longest run of consecutive VAD windows (by start sample, each ``window_len``
    samples long), as [first, end)."""
    best: tuple[int, int] | None = None
    run_start = previous = None
    for window in windows:
        if previous is None or window != previous + window_len:
            run_start = window
        previous = window
        assert run_start is not None
        if best is None or window + window_len - run_start > best[1] - best[0]:
            best = (run_start, window + window_len)
    return best
