"""Line echo on a two-channel call: a faint copy of one party under the other party's channel.

A telephone hybrid leaks each party into the other's channel 20 dB down or so. Under line noise
the leak is not muted (`pipelines.speakers.stereo` mutes only what the other channel explains), but
whisper still hears words in it and Silero still calls it speech: the agent's greeting shows up
again as the customer's garbled line, and the customer's channel gains turns nobody said there.

A stretch of a channel is taken for echo when it is much fainter than that channel's own
speech (``margin_db`` under the upper quartile of its stretches' levels) **and**, for most of
its length, the other channel is speaking at the same time, louder by ``margin_db``. A quiet
caller is faint against the agent but not against their own channel, so it is kept; real
overtalk is loud on both channels and kept too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipelines.core.types import CallAudio, Segment, SpeechRegion

Span = tuple[float, float, int]  # start, end, channel


@dataclass(frozen=True, slots=True)
class EchoOptions:
    enabled: bool = True
    margin_db: float = 10.0
    overlap_share: float = 0.6


def _level_db(call: CallAudio, span: Span) -> float:
    audio = next(c for c in call.channels if c.channel == span[2])
    chunk = audio.samples[int(span[0] * audio.sample_rate) : int(span[1] * audio.sample_rate)]
    if not len(chunk):
        return -120.0
    return float(10 * np.log10(np.mean(chunk.astype(np.float64) ** 2) + 1e-12))


def faint_copies(spans: Sequence[Span], call: CallAudio, options: EchoOptions) -> set[int]:
    """Indexes of the spans that are another channel's echo."""
    if not options.enabled or len(call.channels) != 2 or not spans:
        return set()
    levels = [_level_db(call, span) for span in spans]
    median = {
        channel: float(
            np.percentile(
                [lv for sp, lv in zip(spans, levels, strict=True) if sp[2] == channel], 75
            )
        )
        for channel in {span[2] for span in spans}
    }
    echoes = set()
    for index, (start, end, channel) in enumerate(spans):
        if levels[index] > median[channel] - options.margin_db:
            continue
        louder = 0.0
        for other, (o_start, o_end, o_channel) in enumerate(spans):
            if o_channel != channel and levels[other] >= levels[index] + options.margin_db:
                louder += max(0.0, min(end, o_end) - max(start, o_start))
        if louder >= options.overlap_share * (end - start):
            echoes.add(index)
    return echoes


def drop_echo(
    segments: tuple[Segment, ...],
    regions: dict[int, tuple[SpeechRegion, ...]],
    call: CallAudio,
    options: EchoOptions,
) -> tuple[tuple[Segment, ...], dict[int, tuple[SpeechRegion, ...]], int]:
    """The segments and speech regions without the other channel's echo; segments dropped."""
    spans = [(s.start, s.end, s.channel) for s in segments]
    echoed = faint_copies(spans, call, options)
    kept = tuple(s for i, s in enumerate(segments) if i not in echoed)
    flat = [(r.start, r.end, channel) for channel, rs in regions.items() for r in rs]
    faint = faint_copies(flat, call, options)
    cleaned: dict[int, list[SpeechRegion]] = {channel: [] for channel in regions}
    for index, (start, end, channel) in enumerate(flat):
        if index not in faint:
            cleaned[channel].append(SpeechRegion(start, end, channel))
    return kept, {c: tuple(rs) for c, rs in cleaned.items()}, len(echoed)
