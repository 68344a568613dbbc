"""Voice activity detection: speech regions of one channel.

`SpeechDetector` is the protocol every detector follows (Silero lives in ``models/``);
`WebRtcVad` wraps the WebRTC GMM detector, which needs no model weights.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np
import numpy.typing as npt
import soxr

from pipelines.core.types import Audio, SpeechRegion

_VAD_RATES = (8000, 16000, 32000, 48000)


class SpeechDetector(Protocol):
    """Finds where people speak in one channel (`WebRtcVad`, ``models.vad.SileroVad``)."""

    def regions(self, audio: Audio) -> tuple[SpeechRegion, ...]: ...


def webrtc_speech_regions(
    audio: Audio,
    *,
    aggressiveness: int = 2,
    frame_ms: int = 30,
    min_speech_s: float = 0.25,
    min_silence_s: float = 0.3,
    pad_s: float = 0.1,
) -> tuple[SpeechRegion, ...]:
    """Speech regions found by WebRTC VAD, smoothed and padded.

    Frames are classified at 8/16/32/48 kHz (other rates are resampled to 16 kHz). Pauses shorter
    than ``min_silence_s`` are bridged (hangover), bursts shorter than ``min_speech_s`` dropped,
    and each region is widened by ``pad_s`` on both sides, clipped to the audio.
    """
    if aggressiveness not in (0, 1, 2, 3):
        raise ValueError(f"aggressiveness must be 0..3, got {aggressiveness}")
    if frame_ms not in (10, 20, 30):
        raise ValueError(f"frame_ms must be 10, 20 or 30, got {frame_ms}")
    samples, rate = audio.samples, audio.sample_rate
    if rate not in _VAD_RATES:
        samples = soxr.resample(np.ascontiguousarray(samples), rate, 16000, quality="HQ")
        rate = 16000
    flags = _frame_flags(samples, rate, aggressiveness, frame_ms)
    frame_s = frame_ms / 1000
    spans = [(start * frame_s, end * frame_s) for start, end in _runs(flags)]
    spans = _bridge(spans, min_silence_s)
    spans = [(s, e) for s, e in spans if e - s >= min_speech_s]
    padded = [(max(0.0, s - pad_s), min(audio.duration, e + pad_s)) for s, e in spans]
    return tuple(SpeechRegion(s, e, audio.channel) for s, e in _bridge(padded, 0.0))


@dataclass(frozen=True, slots=True)
class WebRtcVad:
    """`SpeechDetector` backed by WebRTC VAD; the fields are `webrtc_speech_regions` options."""

    name: ClassVar[str] = "webrtcvad"

    aggressiveness: int = 2
    frame_ms: int = 30
    min_speech_s: float = 0.25
    min_silence_s: float = 0.3
    pad_s: float = 0.1

    def regions(self, audio: Audio) -> tuple[SpeechRegion, ...]:
        return webrtc_speech_regions(audio, **self.options())

    def options(self) -> dict[str, Any]:
        """The options this detector runs with, for provenance."""
        return dataclasses.asdict(self)


def speech_ratio(regions: Iterable[SpeechRegion], duration: float) -> float:
    """Fraction of ``duration`` covered by the union of ``regions`` (0.0 for no duration)."""
    if duration <= 0:
        return 0.0
    spans = sorted((max(0.0, r.start), min(duration, r.end)) for r in regions)
    covered = sum(e - s for s, e in _bridge([(s, e) for s, e in spans if e > s], 0.0))
    return min(1.0, covered / duration)


def _frame_flags(
    samples: npt.NDArray[np.float32], rate: int, aggressiveness: int, frame_ms: int
) -> list[bool]:
    import webrtcvad

    vad = webrtcvad.Vad(aggressiveness)
    size = rate * frame_ms // 1000
    pcm = np.clip(np.rint(samples * 32767.0), -32768, 32767).astype("<i2")
    count = len(pcm) // size
    frames = pcm[: count * size].reshape(count, size)
    return [bool(vad.is_speech(frame.tobytes(), rate)) for frame in frames]


def _runs(flags: list[bool]) -> list[tuple[int, int]]:
    """(start, end) frame indices of each run of True."""
    edges = np.diff(np.concatenate(([0], np.asarray(flags, dtype=np.int8), [0])))
    return list(
        zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True)
    )


def _bridge(spans: list[tuple[float, float]], max_gap: float) -> list[tuple[float, float]]:
    """Merge sorted spans separated by at most ``max_gap`` seconds."""
    merged: list[tuple[float, float]] = []
    for start, end in spans:
        if merged and start - merged[-1][1] <= max_gap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
