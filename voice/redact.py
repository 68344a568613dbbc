"""Audio redaction: silence or beep spans of a call, and PCM16 WAV bytes to hash or store.

Spans are ``(start_s, end_s, channel)``; channel ``None`` redacts every channel. Spans are
padded, clipped to the audio and applied to copies: the input ``CallAudio`` is never changed.
"""

from __future__ import annotations

import io
import logging
import math
import wave
from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

import numpy as np

from pipelines.core.types import CallAudio, Samples

logger = logging.getLogger(__name__)

RedactMode = Literal["beep", "silence"]
BEEP_HZ = 1000.0
BEEP_DBFS = -20.0
FADE_S = 0.005


def redact_audio(
    call: CallAudio,
    spans: Sequence[tuple[float, float, int | None]],
    mode: RedactMode = "beep",
    pad_s: float = 0.1,
) -> CallAudio:
    """A copy of ``call`` with each span (widened by ``pad_s``) beeped or silenced.

    The beep is a 1 kHz sine at -20 dBFS (peak) with 5 ms raised-cosine fades; nothing of the
    original signal is left inside a span. Spans outside the audio are clipped or dropped.
    """
    if mode not in ("beep", "silence"):
        raise ValueError(f"mode must be 'beep' or 'silence', not {mode!r}")
    if pad_s < 0:
        raise ValueError("pad_s must not be negative")
    n_channels = len(call.channels)
    per_channel: list[list[tuple[int, int]]] = [[] for _ in range(n_channels)]
    for start, end, channel in spans:
        if channel is not None and not 0 <= channel < n_channels:
            raise ValueError(f"channel {channel} is not in a {n_channels}-channel call")
        for c in range(n_channels) if channel is None else (channel,):
            audio = call.channels[c]
            bounds = _samples(start - pad_s, end + pad_s, audio.sample_rate, len(audio.samples))
            if bounds is not None:
                per_channel[c].append(bounds)
    channels = []
    for audio, ranges in zip(call.channels, per_channel, strict=True):
        samples = np.array(audio.samples, dtype=np.float32, copy=True)
        for a, b in _merge(ranges):
            samples[a:b] = _beep(b - a, audio.sample_rate) if mode == "beep" else 0.0
        channels.append(replace(audio, samples=samples))
    logger.debug("redacted %d audio spans (%s)", sum(map(len, per_channel)), mode)
    return replace(call, channels=tuple(channels))


def encode_wav(call: CallAudio) -> bytes:
    """The call as a PCM16 WAV (channels interleaved, at the working sample rate)."""
    length = max(len(a.samples) for a in call.channels)
    frames = np.zeros((length, len(call.channels)), dtype=np.float32)
    for c, audio in enumerate(call.channels):
        frames[: len(audio.samples), c] = audio.samples
    pcm = np.round(np.clip(frames, -1.0, 1.0) * 32767.0).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(len(call.channels))
        wav.setsampwidth(2)
        wav.setframerate(call.sample_rate)
        wav.writeframes(pcm.tobytes())
    return buffer.getvalue()


def _samples(start: float, end: float, rate: int, n: int) -> tuple[int, int] | None:
    a = max(0, math.floor(start * rate))
    b = min(n, math.ceil(end * rate))
    return (a, b) if b > a else None


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _beep(n: int, rate: int) -> Samples:
    """``n`` samples of the redaction tone with raised-cosine fades at both ends."""
    t = np.arange(n, dtype=np.float64) / rate
    tone = 10 ** (BEEP_DBFS / 20) * np.sin(2 * np.pi * BEEP_HZ * t)
    fade = min(int(FADE_S * rate), n // 2)
    if fade:
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(fade) / fade)
        tone[:fade] *= ramp
        tone[n - fade :] *= ramp[::-1]
    return tone.astype(np.float32)
