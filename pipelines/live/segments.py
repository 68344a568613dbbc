"""Segments from one decoded utterance: pure functions shared by partials and finals."""

from __future__ import annotations

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
    Returns None and the guards' reasons when the segment is dropped.
    """
    words = tuple(
        Word(
            round(min(start + w.start, end), 3),
            round(min(start + w.end, end), 3),
            w.word,
            w.probability,
        )
        for w in result.words
    )
    recognized = RecognizedSegment(
        start=words[0].start if words else start,
        end=words[-1].end if words else end,
        text=result.text,
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
