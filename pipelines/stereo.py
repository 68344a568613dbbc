"""Two-channel calls: one party per channel, cross-talk leakage removed, overtalk kept.

Telephone hybrids and headsets leak each party faintly into the other's channel. Left alone,
whisper transcribes the leak as the other party's words. Two layers stop that:

* signal: frames where a channel is far quieter than the other channel, and the other channel
  is active, are leakage and are muted before transcription (`suppress_crosstalk`);
* text: a segment whose words repeat, at the same time, the words of a louder segment on the
  other channel is dropped (`drop_echoed_segments`).

True overtalk, both parties speaking at once, has both channels loud and is kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz

from pipelines.types import CallAudio, Diarization, Segment, SpeakerTurn, SpeechRegion

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class CrosstalkOptions:
    """Leakage thresholds (recorded in provenance)."""

    frame_s: float = 0.02
    margin_db: float = 15.0
    active_above_floor_db: float = 12.0
    smooth_frames: int = 5
    echo_similarity: float = 80.0
    echo_min_overlap: float = 0.5


def frame_energy_db(samples: FloatArray, frame: int) -> npt.NDArray[np.float64]:
    """RMS level in dBFS of consecutive frames of ``frame`` samples."""
    count = max(1, len(samples) // frame)
    blocks = samples[: count * frame].astype(np.float64).reshape(count, frame)
    return np.asarray(10.0 * np.log10(np.mean(blocks**2, axis=1) + 1e-12), dtype=np.float64)


def leakage_mask(
    own_db: npt.NDArray[np.float64], other_db: npt.NDArray[np.float64], options: CrosstalkOptions
) -> npt.NDArray[np.bool_]:
    """Frames of a channel that hold only the other channel's leak."""
    floor = float(np.percentile(other_db, 10))
    other_active = other_db > floor + options.active_above_floor_db
    leak = other_active & (own_db < other_db - options.margin_db)
    if options.smooth_frames > 1:  # a frame between two leak frames is a leak frame too
        kernel = np.ones(options.smooth_frames) / options.smooth_frames
        leak = np.convolve(leak.astype(float), kernel, mode="same") >= 0.5
    return leak


def suppress_crosstalk(
    call: CallAudio, options: CrosstalkOptions
) -> tuple[CallAudio, dict[str, float]]:
    """Mute each channel where it carries only the other channel's leak."""
    if len(call.channels) != 2:
        return call, {}
    frame = max(1, int(options.frame_s * call.sample_rate))
    levels = [frame_energy_db(c.samples, frame) for c in call.channels]
    cleaned = []
    muted: dict[str, float] = {}
    for index, channel in enumerate(call.channels):
        mask = leakage_mask(levels[index], levels[1 - index], options)
        gain = np.repeat(np.where(mask, 0.0, 1.0), frame).astype(np.float32)
        gain = np.concatenate([gain, np.ones(len(channel.samples) - len(gain), np.float32)])
        ramp = np.ones(frame, np.float32) / frame  # no clicks at the edges of muted spans
        gain = np.convolve(gain, ramp, mode="same").astype(np.float32)
        cleaned.append(replace(channel, samples=(channel.samples * gain).astype(np.float32)))
        muted[f"channel_{channel.channel}_muted_s"] = round(float(mask.sum()) * options.frame_s, 2)
    logger.debug("cross-talk suppression: %s", muted)
    return replace(call, channels=tuple(cleaned)), muted


def _overlap(a: Segment, b: Segment) -> float:
    return max(0.0, min(a.end, b.end) - max(a.start, b.start))


def drop_echoed_segments(
    segments: tuple[Segment, ...], call: CallAudio, options: CrosstalkOptions
) -> tuple[tuple[Segment, ...], int]:
    """Drop segments that repeat a louder, simultaneous segment of the other channel."""
    if len(call.channels) != 2:
        return segments, 0
    channels = {c.channel: c for c in call.channels}

    def loudness(segment: Segment) -> float:
        audio = channels[segment.channel]
        a, b = int(segment.start * audio.sample_rate), int(segment.end * audio.sample_rate)
        chunk = audio.samples[a:b]
        return float(np.sqrt(np.mean(chunk.astype(np.float64) ** 2))) if len(chunk) else 0.0

    level = {s.id: loudness(s) for s in segments}  # once per segment, not once per pair
    dropped: set[int] = set()
    for seg in segments:
        for other in segments:
            if other.channel == seg.channel or other.id in dropped:
                continue
            shared = _overlap(seg, other)
            if shared < options.echo_min_overlap * max(1e-6, seg.end - seg.start):
                continue
            if fuzz.partial_ratio(seg.text.casefold(), other.text.casefold()) < (
                options.echo_similarity
            ):
                continue
            if level[seg.id] < level[other.id]:
                dropped.add(seg.id)
                break
    kept = tuple(s for s in segments if s.id not in dropped)
    return kept, len(dropped)


def channel_diarization(
    regions: dict[int, tuple[SpeechRegion, ...]], speakers: dict[int, str]
) -> Diarization:
    """Turns from each channel's speech regions; simultaneous turns are overtalk."""
    turns = sorted(
        (
            SpeakerTurn(round(r.start, 3), round(r.end, 3), speakers[channel])
            for channel, channel_regions in regions.items()
            for r in channel_regions
        ),
        key=lambda t: (t.start, t.speaker),
    )
    return Diarization(method="channel", turns=tuple(turns))
