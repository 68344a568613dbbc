"""Call metrics from speaker turns and words: talk, silence, dead air, hold, overtalk,
interruptions, agent response latency, speaking rate. Pure functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipelines.core.types import Participant, Segment, SpeakerTurn


@dataclass(frozen=True, slots=True)
class MetricOptions:
    dead_air_min_s: float = 3.0
    hold_min_s: float = 15.0
    interruption_min_overlap_s: float = 0.5
    max_response_latency_s: float = 10.0
    merge_gap_s: float = 0.3


def merged_turns(turns: Sequence[SpeakerTurn], gap_s: float) -> tuple[SpeakerTurn, ...]:
    """Each speaker's turns with pauses shorter than ``gap_s`` bridged."""
    out: list[SpeakerTurn] = []
    for speaker in sorted({t.speaker for t in turns}):
        own = sorted((t for t in turns if t.speaker == speaker), key=lambda t: t.start)
        current = own[0]
        for turn in own[1:]:
            if turn.start - current.end <= gap_s:
                current = SpeakerTurn(current.start, max(current.end, turn.end), speaker)
            else:
                out.append(current)
                current = turn
        out.append(current)
    return tuple(sorted(out, key=lambda t: (t.start, t.speaker)))


def speech_union(turns: Sequence[SpeakerTurn]) -> list[tuple[float, float]]:
    spans: list[tuple[float, float]] = []
    for turn in sorted(turns, key=lambda t: t.start):
        if spans and turn.start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], turn.end))
        else:
            spans.append((turn.start, turn.end))
    return spans


def silences(turns: Sequence[SpeakerTurn], duration: float) -> list[tuple[float, float]]:
    """Stretches where nobody speaks, including before the first and after the last turn."""
    gaps, last = [], 0.0
    for start, end in speech_union(turns):
        if start > last:
            gaps.append((last, start))
        last = max(last, end)
    if duration > last:
        gaps.append((last, duration))
    return gaps


def overtalk(turns: Sequence[SpeakerTurn]) -> float:
    """Seconds during which two or more speakers talk at once."""
    events = sorted([(t.start, 1) for t in turns] + [(t.end, -1) for t in turns])
    active, last, total = 0, 0.0, 0.0
    for time, step in events:
        if active >= 2:
            total += time - last
        active += step
        last = time
    return total


def interruptions(turns: Sequence[SpeakerTurn], min_overlap_s: float) -> dict[str, int]:
    """Who cut in: B interrupts A when B starts while A talks on for ``min_overlap_s``."""
    counts: dict[str, int] = {}
    for b in turns:
        for a in turns:
            if a.speaker != b.speaker and a.start < b.start and a.end - b.start >= min_overlap_s:
                counts[b.speaker] = counts.get(b.speaker, 0) + 1
                break
    return counts


def response_latencies(
    turns: Sequence[SpeakerTurn], agents: set[str], max_latency_s: float
) -> list[float]:
    """Gaps from the end of a customer turn to the next agent turn that starts after it."""
    ordered = sorted(turns, key=lambda t: t.start)
    latencies = []
    for i, turn in enumerate(ordered):
        if turn.speaker in agents:
            continue
        reply = next(
            (t for t in ordered[i + 1 :] if t.speaker in agents and t.start >= turn.end), None
        )
        later_customer = next((t for t in ordered[i + 1 :] if t.speaker == turn.speaker), None)
        if reply is None or (later_customer is not None and later_customer.start < reply.start):
            continue
        gap = reply.start - turn.end
        if gap <= max_latency_s:
            latencies.append(gap)
    return latencies


def call_metrics(
    segments: Sequence[Segment],
    turns: Sequence[SpeakerTurn],
    participants: Sequence[Participant],
    duration: float,
    options: MetricOptions | None = None,
) -> dict[str, Any]:
    """The record's ``metrics`` block."""
    options = options or MetricOptions()
    if not turns:  # no diarization: segments are the only evidence of speech
        turns = [SpeakerTurn(s.start, s.end, s.speaker or "unknown") for s in segments]
    turns = merged_turns(turns, options.merge_gap_s)
    talk: dict[str, float] = {}
    for turn in turns:
        talk[turn.speaker] = talk.get(turn.speaker, 0.0) + turn.end - turn.start
    gaps = silences(turns, duration)
    inner = [(a, b) for a, b in gaps if a > 0 and b < duration]  # not before/after the call
    dead_air = [(a, b) for a, b in inner if options.dead_air_min_s <= b - a < options.hold_min_s]
    holds = [(a, b) for a, b in inner if b - a >= options.hold_min_s]
    agents = {p.speaker for p in participants if p.role == "agent"}
    latencies = response_latencies(turns, agents, options.max_response_latency_s)
    return {
        "duration_s": round(duration, 3),
        "talk_s": {k: round(v, 3) for k, v in sorted(talk.items())},
        "turns": {k: sum(t.speaker == k for t in turns) for k in sorted(talk)},
        "silence_s": round(sum((b - a for a, b in gaps), 0.0), 3),
        "dead_air_s": round(sum((b - a for a, b in dead_air), 0.0), 3),
        "dead_air_events": len(dead_air),
        "hold_s": round(sum((b - a for a, b in holds), 0.0), 3),
        "holds": [{"start": round(a, 3), "end": round(b, 3)} for a, b in holds],
        "overtalk_s": round(overtalk(turns), 3),
        "interruptions": interruptions(turns, options.interruption_min_overlap_s),
        "agent_response_latency_s": round(sum(latencies) / len(latencies), 3)
        if latencies
        else None,
        "speaking_rate_wpm": speaking_rates(segments, talk),
    }


def speaking_rates(segments: Sequence[Segment], talk: Mapping[str, float]) -> dict[str, float]:
    words: dict[str, int] = {}
    for segment in segments:
        key = segment.speaker or "unknown"
        words[key] = words.get(key, 0) + (len(segment.words) or len(segment.text.split()))
    return {k: round(60.0 * n / talk[k], 1) for k, n in sorted(words.items()) if talk.get(k)}
