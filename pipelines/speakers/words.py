"""Joining transcript and diarization: each word gets the speaker whose turn covers it.

Pure functions. A word takes the speaker with the largest overlap; a word that falls between
turns takes the nearest turn. A segment whose words change speaker is split at the change, so
every segment has exactly one speaker.
"""

from __future__ import annotations

from dataclasses import replace

from pipelines.core.types import Segment, SpeakerTurn, Word


def speaker_at(start: float, end: float, turns: tuple[SpeakerTurn, ...]) -> str | None:
    """The speaker overlapping [start, end] most, else the one whose turn is nearest."""
    if not turns:
        return None
    overlap: dict[str, float] = {}
    for turn in turns:
        shared = min(end, turn.end) - max(start, turn.start)
        if shared > 0:
            overlap[turn.speaker] = overlap.get(turn.speaker, 0.0) + shared
    if overlap:
        return max(sorted(overlap), key=lambda speaker: overlap[speaker])
    middle = (start + end) / 2

    def distance(turn: SpeakerTurn) -> float:
        return max(turn.start - middle, middle - turn.end, 0.0)

    return min(turns, key=distance).speaker


def _smoothed(labels: list[str | None], words: tuple[Word, ...]) -> list[str | None]:
    """A single short word between two words of one other speaker joins that speaker."""
    out = list(labels)
    for i in range(1, len(out) - 1):
        if out[i - 1] == out[i + 1] != out[i] and words[i].end - words[i].start < 0.5:
            out[i] = out[i - 1]
    return out


def assign_speakers(
    segments: tuple[Segment, ...], turns: tuple[SpeakerTurn, ...]
) -> tuple[Segment, ...]:
    """Label every segment with a speaker, splitting segments where the speaker changes."""
    out: list[Segment] = []
    for segment in segments:
        if not segment.words:
            out.append(replace(segment, speaker=speaker_at(segment.start, segment.end, turns)))
            continue
        labels = _smoothed(
            [speaker_at(w.start, w.end, turns) for w in segment.words], segment.words
        )
        start = 0
        for i in range(1, len(labels) + 1):
            if i == len(labels) or labels[i] != labels[start]:
                words = segment.words[start:i]
                out.append(
                    replace(
                        segment,
                        start=words[0].start if start else segment.start,
                        end=words[-1].end if i < len(labels) else segment.end,
                        text="".join(w.word for w in words).strip()
                        if (start or i < len(labels))
                        else segment.text,
                        words=words,
                        speaker=labels[start],
                    )
                )
                start = i
    return tuple(replace(s, id=index) for index, s in enumerate(out))
