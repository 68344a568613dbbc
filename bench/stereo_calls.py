"""Two-channel test calls built from real clips, with simulated hybrid leakage.

Each clip is placed on one channel (0 agent, 1 customer); with ``leak_db`` a delayed, low-passed
copy leaks into the other channel. Reference turns are Silero regions of each clean clip.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
from scipy.signal import lfilter

from models.vad import SileroVad
from pipelines.core.types import Audio, AudioSource, CallAudio

RATE = 16000
Reference = list[tuple[float, float, str]]


def load(data_dir: Path, name: str) -> np.ndarray:
    samples, rate = sf.read(data_dir / name, dtype="float32")
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    if rate != RATE:
        samples = soxr.resample(samples, rate, RATE)
    return np.asarray(samples, dtype=np.float32)


def leak(samples: np.ndarray, gain_db: float) -> np.ndarray:
    """What a telephone hybrid lets through: delayed, low-passed and much quieter."""
    delayed = np.concatenate([np.zeros(24, np.float32), samples[:-24]])
    smoothed = lfilter([0.25, 0.5, 0.25], [1.0], delayed)
    return np.asarray(smoothed * 10 ** (gain_db / 20), dtype=np.float32)


def two_channel_call(
    data_dir: Path, placements: list[tuple[int, float, str]], leak_db: float | None
) -> tuple[CallAudio, Reference]:
    """A call from real clips: (channel, start s, clip); reference turns from each clean clip."""
    clips = [(ch, int(at * RATE), load(data_dir, name)) for ch, at, name in placements]
    length = max(offset + len(x) for _, offset, x in clips) + RATE
    channels = np.zeros((2, length), np.float32)
    reference = []
    vad = SileroVad()
    for ch, offset, samples in clips:
        channels[ch, offset : offset + len(samples)] += samples
        if leak_db is not None:
            channels[1 - ch, offset : offset + len(samples)] += leak(samples, leak_db)
        for region in vad.regions(Audio(samples, RATE)):
            reference.append((offset / RATE + region.start, offset / RATE + region.end, f"ch{ch}"))
    source = AudioSource(
        hashlib.sha256(channels.tobytes()).hexdigest(), "wav", RATE, 2, length / RATE
    )
    call = CallAudio(source, tuple(Audio(channels[c], RATE, c) for c in range(2)))
    return call, reference


PLACEMENTS = [
    (0, 0.3, "en/librispeech-1272-128104-0000.wav"),  # agent
    (1, 6.8, "en/jfk.wav"),  # customer
    (0, 15.5, "en/ljspeech-LJ050-0131.wav"),  # agent talks over the end of the customer
    (1, 24.0, "en/librispeech-1995-1837-0001.wav"),
]
