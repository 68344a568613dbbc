"""Builds samples/call.wav: a two-channel call (agent left, customer right) from real clips.

Run from the repository root: ``python samples/build_sample_call.py [SHARED_DATA_DIR]``.
The clips and their licenses are listed in samples/NOTICE.md.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

RATE = 16000
# (channel, start second, clip): channel 0 is the agent, channel 1 the customer
TURNS = (
    (0, 0.5, "en/librispeech-1272-128104-0000.wav"),
    (1, 6.8, "en/jfk.wav"),
    (0, 18.2, "en/ljspeech-LJ050-0131.wav"),
    (1, 26.4, "en/librispeech-1995-1837-0001.wav"),
)


def build(data_dir: Path, out: Path) -> None:
    clips = []
    for channel, start, name in TURNS:
        samples, rate = sf.read(data_dir / name, dtype="float32")
        if rate != RATE:
            samples = soxr.resample(samples, rate, RATE)
        clips.append((channel, int(start * RATE), samples))
    length = max(offset + len(s) for _, offset, s in clips) + RATE // 2
    stereo = np.zeros((length, 2), dtype=np.float32)
    for channel, offset, samples in clips:
        stereo[offset : offset + len(samples), channel] += samples
    sf.write(out, stereo, RATE, subtype="PCM_16")
    logging.info("wrote %s (%.1f s)", out, length / RATE)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/data")
    build(shared, Path(__file__).with_name("call.wav"))
