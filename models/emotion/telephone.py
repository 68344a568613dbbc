"""Telephone-channel copies of 16 kHz clips, to measure and train speech emotion on what a call
sounds like (``bench.emotion --telephone``, the training copies of ``models.emotion.train``).

The chain of one ``Channel`` (sox for the filters and the codec, numpy for the noise):

1. band-pass 300-3400 Hz (sox ``sinc``, the narrow-band telephone band) and resample to 8 kHz;
2. the active speech level set to ``LEVEL_DBFS`` (a nominal line level, so that the codec's
   quantisation is what a call gets) and seeded white Gaussian noise added at ``snr_db`` below it
   (levels over the 20 ms frames within ``ACTIVE_RANGE_DB`` of the loudest, a P.56-style active
   level), peaks clipped to full scale;
3. G.711 mu-law or A-law (8 bit, sox, no dither) and decoded back to float;
4. resampled to 16 kHz, the rate the models read.

Every step is deterministic: sox without dither, the noise from ``numpy.random.default_rng``
seeded by the caller (``seed`` and the clip's index), so the same clips give the same copies.
sox must be on ``PATH`` (Debian: ``apt-get install sox``); it is only needed here, never when
scoring calls.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import soundfile as sf

from pipelines.core.audio import SAMPLE_RATE
from pipelines.core.errors import ModelUnavailableError

logger = logging.getLogger(__name__)

LINE_RATE = 8000
BAND_HZ = (300, 3400)
LEVEL_DBFS = -20.0
ACTIVE_RANGE_DB = 30.0
FRAME = LINE_RATE // 50  # 20 ms

Codec = Literal["mu-law", "a-law"]
Clip = npt.NDArray[np.float32]

_SOX_ENCODING: dict[Codec, str] = {"mu-law": "u-law", "a-law": "a-law"}


@dataclass(frozen=True, slots=True)
class Channel:
    """A telephone channel: codec and noise (``snr_db`` None: no noise added)."""

    codec: Codec = "mu-law"
    snr_db: float | None = 15.0

    @property
    def name(self) -> str:
        noise = "no noise" if self.snr_db is None else f"{self.snr_db:g} dB SNR"
        return f"300-3400 Hz, 8 kHz {self.codec}, {noise}"


def _sox() -> str:
    sox = shutil.which("sox")
    if sox is None:
        raise ModelUnavailableError("sox", "telephone copies need sox: apt-get install sox")
    return sox


def _run(*args: str) -> None:
    subprocess.run([_sox(), "-V1", "-D", *args], check=True, capture_output=True)


def active_power(samples: npt.NDArray[np.float64]) -> float:
    """Mean power of the 20 ms frames within ``ACTIVE_RANGE_DB`` of the loudest (8 kHz)."""
    n = max(len(samples) // FRAME, 1)
    frames = np.resize(samples, n * FRAME).reshape(n, -1) if len(samples) else np.zeros((1, 1))
    power = np.mean(frames**2, axis=1)
    peak = float(power.max())
    if peak <= 0.0:
        return 0.0
    return float(power[power >= peak * 10.0 ** (-ACTIVE_RANGE_DB / 10.0)].mean())


def add_noise(
    samples: npt.NDArray[np.float64], snr_db: float | None, rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    """The clip at ``LEVEL_DBFS`` active level with white noise ``snr_db`` below it, clipped."""
    power = active_power(samples)
    if power <= 0.0:
        return np.zeros_like(samples)
    out = samples * np.sqrt(10.0 ** (LEVEL_DBFS / 10.0) / power)
    if snr_db is not None:
        noise_power = 10.0 ** ((LEVEL_DBFS - snr_db) / 10.0)
        out = out + rng.standard_normal(len(out)) * np.sqrt(noise_power)
    clipped: npt.NDArray[np.float64] = np.clip(out, -1.0, 1.0)
    return clipped


def degrade(samples: npt.ArrayLike, channel: Channel, rng: np.random.Generator, work: Path) -> Clip:
    """One clip (16 kHz mono) through ``channel``, back at 16 kHz; ``work``: a scratch folder."""
    y = np.asarray(samples, dtype=np.float32).reshape(-1)
    studio, line, noisy, coded, out = (
        work / f"{name}.wav" for name in ("studio", "line", "noisy", "coded", "out")
    )
    sf.write(studio, y, SAMPLE_RATE, subtype="FLOAT")
    low, high = BAND_HZ
    _run(str(studio), "-e", "floating-point", "-b", "32", str(line), "sinc", f"{low}-{high}",
         "rate", "-v", str(LINE_RATE))  # fmt: skip
    band, rate = sf.read(line, dtype="float64")
    if rate != LINE_RATE:
        raise RuntimeError(f"sox wrote {rate} Hz, expected {LINE_RATE}")
    sf.write(noisy, add_noise(band, channel.snr_db, rng), LINE_RATE, subtype="FLOAT")
    _run(str(noisy), "-e", _SOX_ENCODING[channel.codec], "-b", "8", str(coded))
    _run(str(coded), "-e", "floating-point", "-b", "32", str(out), "rate", "-v", str(SAMPLE_RATE))
    back, rate = sf.read(out, dtype="float32")
    if rate != SAMPLE_RATE:
        raise RuntimeError(f"sox wrote {rate} Hz, expected {SAMPLE_RATE}")
    return np.asarray(back, dtype=np.float32)


def degrade_each(
    clips: Sequence[npt.ArrayLike], channels: Sequence[Channel], seed: int
) -> list[Clip]:
    """Clip ``i`` through ``channels[i]``, its noise from ``default_rng([seed, i])``."""
    if len(clips) != len(channels):
        raise ValueError(f"{len(clips)} clips but {len(channels)} channels")
    out = []
    with tempfile.TemporaryDirectory(prefix="callqa-telephone-") as tmp:
        for index, (clip, channel) in enumerate(zip(clips, channels, strict=True)):
            rng = np.random.default_rng([seed, index])
            out.append(degrade(clip, channel, rng, Path(tmp)))
    return out


def degrade_all(clips: Sequence[npt.ArrayLike], channel: Channel, seed: int) -> list[Clip]:
    """Every clip through ``channel``; clip ``i``'s noise comes from ``default_rng([seed, i])``."""
    out = degrade_each(clips, [channel] * len(clips), seed)
    logger.info("%d clips through %s (seed %d)", len(out), channel.name, seed)
    return out
