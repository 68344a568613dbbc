"""Line echo under the other party's channel is not that party's speech."""

from __future__ import annotations

import numpy as np

from pipelines.core.types import Audio, AudioSource, CallAudio, Segment, SpeechRegion
from pipelines.speakers.echo import EchoOptions, drop_echo

RATE = 16000


def burst(seconds: float, level: float, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(seconds * RATE)) * level).astype(
        np.float32
    )


def call_with(
    left: list[tuple[float, float, float]], right: list[tuple[float, float, float]]
) -> CallAudio:
    channels = []
    for index, bursts in enumerate((left, right)):
        samples = burst(12, 0.0005, 99 + index)  # line noise
        for n, (start, end, level) in enumerate(bursts):
            samples[int(start * RATE) : int(end * RATE)] += burst(end - start, level, n)
        channels.append(Audio(samples, RATE, index))
    return CallAudio(AudioSource("0" * 64, "wav", RATE, 2, 12.0), tuple(channels))


def seg(index: int, start: float, end: float, channel: int) -> Segment:
    return Segment(index, start, end, "words", (), "en", 0.9, channel=channel)


def test_the_agents_echo_on_the_callers_channel_is_dropped() -> None:
    agent, echo, caller = 0.3, 0.03, 0.3  # the echo 20 dB under the agent
    call = call_with(
        [(0, 3, agent), (7, 9, agent)],
        [(0, 3, echo), (4, 6, caller), (7, 9, echo), (10, 11.5, caller)],
    )
    segments = (
        seg(0, 0, 3, 0),
        seg(1, 0, 3, 1),
        seg(2, 4, 6, 1),
        seg(3, 7, 9, 0),
        seg(4, 7, 9, 1),
        seg(5, 10, 11.5, 1),
    )
    regions = {
        0: (SpeechRegion(0, 3, 0), SpeechRegion(7, 9, 0)),
        1: (
            SpeechRegion(0, 3, 1),
            SpeechRegion(4, 6, 1),
            SpeechRegion(7, 9, 1),
            SpeechRegion(10, 11.5, 1),
        ),
    }
    kept, cleaned, dropped = drop_echo(segments, regions, call, EchoOptions())
    assert dropped == 2 and [s.id for s in kept] == [0, 2, 3, 5]
    assert cleaned[1] == (SpeechRegion(4, 6, 1), SpeechRegion(10, 11.5, 1))
    assert cleaned[0] == regions[0]


def test_a_quiet_caller_talking_over_the_agent_is_kept() -> None:
    agent, caller = 0.3, 0.04  # a leg 18 dB quieter, no echo at all
    call = call_with(
        [(0, 3, agent), (7, 9, agent)], [(2, 3.5, caller), (4, 6, caller), (10, 11, caller)]
    )
    segments = (
        seg(0, 0, 3, 0),
        seg(1, 2, 3.5, 1),
        seg(2, 4, 6, 1),
        seg(3, 7, 9, 0),
        seg(4, 10, 11, 1),
    )
    regions = {0: (SpeechRegion(0, 3, 0),), 1: (SpeechRegion(2, 3.5, 1), SpeechRegion(4, 6, 1))}
    kept, cleaned, dropped = drop_echo(segments, regions, call, EchoOptions())
    assert dropped == 0 and kept == segments and cleaned == regions
