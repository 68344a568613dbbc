"""Two-channel calls: one party per channel, cross-talk leakage removed, overtalk kept.

Telephone hybrids and headsets leak each party faintly into the other's channel. Left alone,
whisper transcribes the leak as the other party's words. Two layers stop that:

* signal (`suppress_crosstalk`): a frame of a channel is leak, and is replaced by the channel's
  own noise floor before transcription, only when the channel is far quieter than the other
  channel while the other is active (`level_candidates`) *and* the other channel explains it
  (`explained_by_other`: the share of the frame's energy that is a filtered copy of the other
  channel, once the leak's delay is known from `leak_lag`). Level alone is no evidence of leak:
  a quiet, band-limited caller leg sits 15-20 dB under a headset agent, and its speech, or its
  background while the agent talks, has nothing in common with the agent's signal, so it is
  left alone. Replaced spans get the channel's own background rather than digital silence,
  because a quiet channel gated to zero between its turns is one whisper may no longer find
  any speech in (it lost every turn of such a caller);
* text: a segment whose words repeat, at the same time, the words of a louder segment on the
  other channel is dropped (`drop_echoed_segments`).

True overtalk, both parties speaking at once, is kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz

from pipelines.core.types import CallAudio, Diarization, Segment, SpeakerTurn, SpeechRegion

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]
Levels = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]

# spectra are taken this many frames at a time, so memory stays flat on calls of hours
_CHUNK_FRAMES = 2048


@dataclass(frozen=True, slots=True)
class CrosstalkOptions:
    """Leakage thresholds (recorded in provenance)."""

    frame_s: float = 0.02
    margin_db: float = 15.0
    active_above_floor_db: float = 12.0
    smooth_frames: int = 5
    # leak evidence: how much of a channel the other channel explains, over a pooled window
    window_frames: int = 15
    fft_s: float = 0.032
    max_lag_s: float = 0.25  # the leak's delay is searched up to this (line and VoIP echo)
    lag_blocks: int = 64  # at most this many blocks of quiet-own, active-other audio for it
    explained_share: float = 0.9  # leak: the other channel explains this share of the energy,
    floor_explained_share: float = 0.5  # or this share, and what is left is the noise floor
    residual_above_floor_db: float = 2.0
    echo_similarity: float = 80.0
    echo_min_overlap: float = 0.5


@dataclass(frozen=True, slots=True)
class Explained:
    """Per frame of one channel: the share of its energy that the other channel explains, and
    the level (dBFS) of what is left unexplained."""

    share: Levels
    residual_db: Levels


def frame_energy_db(samples: FloatArray, frame: int) -> Levels:
    """RMS level in dBFS of consecutive frames of ``frame`` samples."""
    count = max(1, len(samples) // frame)
    blocks = samples[: count * frame].astype(np.float64).reshape(count, frame)
    return np.asarray(10.0 * np.log10(np.mean(blocks**2, axis=1) + 1e-12), dtype=np.float64)


def noise_floor_db(levels: Levels) -> float:
    """A channel's noise floor: the level of its quietest frames (10th percentile)."""
    return float(np.percentile(levels, 10))


def _moving_sum(values: npt.NDArray[Any], width: int) -> npt.NDArray[Any]:
    """Centered moving sum over the first axis, ``width`` rows (fewer at the edges)."""
    count, half = len(values), width // 2
    padded = np.concatenate([np.zeros((1, *values.shape[1:]), values.dtype), values])
    total = np.cumsum(padded, axis=0)
    index = np.arange(count)
    return np.asarray(
        total[np.minimum(index + half + 1, count)] - total[np.maximum(index - half, 0)]
    )


def level_candidates(own_db: Levels, other_db: Levels, options: CrosstalkOptions) -> Mask:
    """Frames far quieter than the other channel while the other channel is active."""
    other_active = other_db > noise_floor_db(other_db) + options.active_above_floor_db
    return np.asarray(other_active & (own_db < other_db - options.margin_db), dtype=np.bool_)


def leak_lag(
    own: FloatArray, other: FloatArray, candidates: Mask, frame: int, max_lag: int, blocks: int
) -> int:
    """Samples (0 to ``max_lag``) by which a leak of ``other`` in ``own`` would be delayed.

    GCC-PHAT over up to ``blocks`` blocks where most frames are ``candidates`` (own quiet, other
    active), the only place a leak can be heard. Without a leak the answer is arbitrary and
    harmless: an independent signal is unexplained at every lag.
    """
    size = 1 << max(4, int(np.ceil(np.log2(4 * max(1, max_lag)))))
    per = max(1, size // frame)
    count = min(len(candidates) // per, (len(own) - size) // (per * frame) + 1)
    usable = [b for b in range(max(0, count)) if candidates[b * per : (b + 1) * per].mean() >= 0.5]
    if not usable:
        return 0
    chosen = [
        usable[i] for i in np.linspace(0, len(usable) - 1, min(blocks, len(usable))).astype(int)
    ]
    window = np.hanning(size)
    cross = np.zeros(size // 2 + 1, np.complex128)
    for block in sorted(set(chosen)):
        start = block * per * frame
        a = np.fft.rfft(own[start : start + size].astype(np.float64) * window)
        b = np.fft.rfft(other[start : start + size].astype(np.float64) * window)
        cross += a * np.conj(b)
    correlation = np.fft.irfft(cross / np.maximum(np.abs(cross), 1e-20), n=size)
    return int(np.argmax(correlation[: max_lag + 1]))


def delayed(samples: FloatArray, lag: int) -> FloatArray:
    """``samples`` later by ``lag`` samples (zeros first), same length."""
    if lag <= 0:
        return samples
    return np.concatenate([np.zeros(lag, samples.dtype), samples[: len(samples) - lag]])


def explained_by_other(
    own: FloatArray, other: FloatArray, frame: int, fft: int, options: CrosstalkOptions
) -> Explained:
    """How much of each frame of ``own`` is a linear copy of ``other`` (leak).

    Per frequency, the magnitude-squared coherence of the two channels over ``window_frames``
    frames says which share of ``own``'s energy a filter applied to ``other`` reproduces (a
    hybrid's leak: delayed by less than the spectral window, low-passed, attenuated). Weighted
    by ``own``'s energy per frequency and summed, it is the share of the frame that is leak; a
    party's own speech is independent of the other channel and leaves it near ``1 / window``.
    ``other`` must already be aligned with its leak in ``own`` to within a few ms (`leak_lag`).
    """
    count = max(1, len(own) // frame)
    window = np.hanning(fft)
    pad = np.zeros(fft, np.float64)
    signals = [
        np.concatenate([pad, x[: count * frame].astype(np.float64), pad]) for x in (own, other)
    ]
    half = options.window_frames // 2
    share = np.zeros(count, np.float64)
    for first in range(0, count, _CHUNK_FRAMES):
        lo, hi = max(0, first - half), min(count, first + _CHUNK_FRAMES + half)
        starts = fft + np.arange(lo, hi) * frame + frame // 2 - fft // 2
        index = starts[:, None] + np.arange(fft)[None, :]
        y, x = (np.fft.rfft(s[index] * window, axis=1) for s in signals)
        sxy = _moving_sum(x * np.conj(y), options.window_frames)
        sxx = _moving_sum(np.abs(x) ** 2, options.window_frames)
        syy = _moving_sum(np.abs(y) ** 2, options.window_frames)
        coherence = np.clip(np.abs(sxy) ** 2 / np.maximum(sxx * syy, 1e-30), 0.0, 1.0)
        total = syy.sum(axis=1)
        part = np.where(
            total > 1e-20, (coherence * syy).sum(axis=1) / np.maximum(total, 1e-30), 0.0
        )
        share[first : min(count, first + _CHUNK_FRAMES)] = part[
            first - lo : first - lo + _CHUNK_FRAMES
        ]
    power = 10 ** (frame_energy_db(own, frame) / 10)
    pooled = _moving_sum(power, options.window_frames) / _moving_sum(
        np.ones(count), options.window_frames
    )
    residual = 10 * np.log10(pooled * np.maximum(1.0 - share, 1e-6) + 1e-12)
    return Explained(share, np.asarray(residual, dtype=np.float64))


def leakage_mask(
    own_db: Levels, other_db: Levels, options: CrosstalkOptions, explained: Explained | None = None
) -> Mask:
    """Frames of a channel that hold only the other channel's leak.

    Quiet frames while the other channel is active are leak candidates; with ``explained``
    (which `suppress_crosstalk` always gives) a candidate is leak only when the other channel
    explains the frame: ``explained_share`` of its energy, or ``floor_explained_share`` with
    nothing but the channel's own noise floor left over. Without it, level alone decides.
    """
    leak = level_candidates(own_db, other_db, options)
    if explained is not None:
        residual_is_floor = explained.residual_db <= (
            noise_floor_db(own_db) + options.residual_above_floor_db
        )
        copy = (explained.share >= options.explained_share) | (
            (explained.share >= options.floor_explained_share) & residual_is_floor
        )
        leak &= copy
    if options.smooth_frames > 1:  # a frame between two leak frames is a leak frame too
        kernel = np.ones(options.smooth_frames) / options.smooth_frames
        leak = np.convolve(leak.astype(float), kernel, mode="same") >= 0.5
    return leak


def _floor_bed(samples: FloatArray, levels: Levels, mask: Mask, frame: int) -> FloatArray:
    """The channel's own background: its quietest unmuted frames, tiled to the channel's length."""
    quiet = np.flatnonzero((levels <= noise_floor_db(levels) + 3.0) & ~mask)
    if len(quiet) == 0:
        return np.zeros(len(samples), np.float32)
    bed = samples[(quiet[:, None] * frame + np.arange(frame)[None, :]).ravel()]
    return np.resize(bed, len(samples)).astype(np.float32)


def suppress_crosstalk(
    call: CallAudio, options: CrosstalkOptions
) -> tuple[CallAudio, dict[str, float]]:
    """Replace, in each channel, the frames that carry only the other channel's leak by the
    channel's own noise floor; report the seconds muted per channel."""
    if len(call.channels) != 2:
        return call, {}
    frame = max(1, int(options.frame_s * call.sample_rate))
    fft = 1 << max(4, int(np.ceil(np.log2(options.fft_s * call.sample_rate))))
    levels = [frame_energy_db(c.samples, frame) for c in call.channels]
    cleaned = []
    muted: dict[str, float] = {}
    for index, channel in enumerate(call.channels):
        other = call.channels[1 - index].samples
        candidates = level_candidates(levels[index], levels[1 - index], options)
        max_lag = int(options.max_lag_s * call.sample_rate)
        lag = leak_lag(channel.samples, other, candidates, frame, max_lag, options.lag_blocks)
        logger.debug("channel %d: a leak would lag %d samples", channel.channel, lag)
        explained = explained_by_other(channel.samples, delayed(other, lag), frame, fft, options)
        other_db = levels[1 - index]
        shift = min(len(other_db) - 1, round(lag / frame))
        if shift > 0:  # the other channel's level when its leak arrives here
            other_db = np.concatenate([np.repeat(other_db[:1], shift), other_db[:-shift]])
        mask = leakage_mask(levels[index], other_db, options, explained)
        kept = np.repeat(np.where(mask, 0.0, 1.0), frame)
        kept = np.concatenate([kept, np.ones(len(channel.samples) - len(kept))])
        # a ramp over one frame at the edges of muted spans (no clicks): kept samples counted
        # (exact integers) then divided, so a frame with nothing muted nearby keeps a gain of
        # exactly 1 and its samples untouched on any CPU (float32 sums of 1/frame are not 1)
        gain = (np.convolve(kept, np.ones(frame), mode="same") / frame).astype(np.float32)
        bed = _floor_bed(channel.samples, levels[index], mask, frame)
        samples = channel.samples * gain + bed * (1.0 - gain)
        cleaned.append(replace(channel, samples=samples.astype(np.float32)))
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
