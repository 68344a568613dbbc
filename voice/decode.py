"""Decode a call recording into one float32 `Audio` per channel at the working rate.

The format is sniffed from the content, never from the name; only header-less telephony audio
(G.711, PCM16) is taken on the word of the file extension or ``format_hint``. Every way an input
can be unusable ends in :class:`AudioDecodeError` with a one-line reason.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soxr

from pipelines.core.errors import AudioDecodeError
from pipelines.core.types import Audio, AudioSource, CallAudio
from voice.backends import Frames, decode_pyav, decode_soundfile
from voice.containers import (
    Header,
    describe_non_audio,
    fill_unknown_wav_length,
    parse_header,
    sniff,
)
from voice.g711 import decode_alaw, decode_mulaw
from voice.limits import (
    DEFAULT_LIMITS,
    DecodeLimits,
    check_duration,
    check_header,
    check_rate,
    check_size,
)

__all__ = ["DecodeLimits", "load_call_audio"]

logger = logging.getLogger(__name__)

RAW_FORMATS = ("mulaw", "alaw", "pcm_s16le")
CONTAINER_FORMATS = ("wav", "flac", "ogg", "opus", "mp3", "m4a")
_HINT_ALIASES = {
    "ulaw": "mulaw", "pcm_mulaw": "mulaw", "g711u": "mulaw", "pcmu": "mulaw",
    "pcm_alaw": "alaw", "g711a": "alaw", "pcma": "alaw", "s16le": "pcm_s16le", "slin": "pcm_s16le",
}  # fmt: skip
_RAW_EXTENSIONS = {
    **dict.fromkeys((".ul", ".ulaw", ".mulaw", ".mu"), ("mulaw", 8000)),
    **dict.fromkeys((".al", ".alaw"), ("alaw", 8000)),
    **dict.fromkeys((".raw", ".pcm", ".sln"), ("pcm_s16le", 8000)),
    ".sln16": ("pcm_s16le", 16000),
}
SILENCE_PEAK = 10 ** (-80 / 20)  # a whole file or channel this quiet holds no speech


def load_call_audio(
    source: str | os.PathLike[str] | bytes,
    *,
    format_hint: str | None = None,
    target_rate: int = 16000,
    limits: DecodeLimits = DEFAULT_LIMITS,
) -> CallAudio:
    """Decode ``source`` (a path or the file's bytes) into one `Audio` per channel.

    Each channel is resampled to ``target_rate`` (soxr HQ); `CallAudio.source` describes the
    input as received. Raises `AudioDecodeError` for anything that is not usable call audio.
    """
    if target_rate <= 0:
        raise ValueError(f"target_rate must be positive, got {target_rate}")
    data, suffix = _read(source, limits)
    if not data:
        raise AudioDecodeError("empty file: 0 bytes")
    sha256 = hashlib.sha256(data).hexdigest()
    raw = _raw_format(format_hint, suffix)
    fmt = sniff(data)
    if fmt == "mp3" and raw is not None and not data.startswith(b"ID3"):
        fmt = None  # a bare MPEG frame sync is weak evidence next to a declared raw format
    if fmt == "wav":
        data = fill_unknown_wav_length(data)
    if fmt is not None:
        header = parse_header(fmt, data)
        check_header(header, limits)
        frames, rate = _decode_container(data, header, limits)
    else:
        what = describe_non_audio(data)
        if what is not None:
            raise AudioDecodeError(f"not audio: the content is {what}")
        if raw is None:
            raise AudioDecodeError(f"not audio: unrecognised format (starts with {data[:8].hex()})")
        fmt, rate = raw
        frames = _decode_raw(data, fmt, rate, limits)
    _check_samples(frames, rate, fmt)
    source_facts = AudioSource(
        sha256=sha256,
        format=fmt,
        sample_rate=rate,
        channels=frames.shape[1],
        duration_s=frames.shape[0] / rate,
    )
    channels = tuple(
        Audio(_to_target(frames[:, c], rate, target_rate), target_rate, c)
        for c in range(frames.shape[1])
    )
    logger.debug("decoded %s: %s", fmt, source_facts)
    return CallAudio(source_facts, channels)


def _read(source: str | os.PathLike[str] | bytes, limits: DecodeLimits) -> tuple[bytes, str]:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        check_size(len(data), limits)
        return data, ""
    path = Path(source)
    try:
        size = path.stat().st_size
        check_size(size, limits)
        with path.open("rb") as fh:
            data = fh.read(size + 1)
            if len(data) > size:  # grew since stat (or a pipe): read on, up to the limit
                data += fh.read(limits.max_bytes + 1 - len(data))
    except FileNotFoundError:
        raise AudioDecodeError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise AudioDecodeError(f"not a file: {path}") from None
    except OSError as exc:
        raise AudioDecodeError(f"cannot read {path}: {exc.strerror or exc}") from None
    check_size(len(data), limits)
    return data, path.suffix.lower()


def _raw_format(hint: str | None, suffix: str) -> tuple[str, int] | None:
    """The raw telephony format and rate named by ``hint`` (e.g. ``mulaw:16000``) or extension."""
    if hint is None:
        return _RAW_EXTENSIONS.get(suffix)
    name, _, rate_text = hint.strip().lower().partition(":")
    name = _HINT_ALIASES.get(name, name)
    if name in CONTAINER_FORMATS:
        return None
    if name not in RAW_FORMATS:
        raise AudioDecodeError(f"unknown format hint {hint!r}")
    if not rate_text:
        return name, 16000 if suffix == ".sln16" and name == "pcm_s16le" else 8000
    if not rate_text.isdigit():
        raise AudioDecodeError(f"invalid sample rate in format hint {hint!r}")
    return name, int(rate_text)


def _decode_container(data: bytes, header: Header, limits: DecodeLimits) -> tuple[Frames, int]:
    """Decode with soundfile (wav, flac, ogg, opus) or PyAV (mp3, m4a; and the fallback for
    Ogg and for WAV codecs libsndfile lacks, such as MP3-in-WAV)."""
    fmt = header.format
    if fmt in ("wav", "flac", "ogg", "opus"):
        try:
            frames, rate = decode_soundfile(data, header, limits)
        except AudioDecodeError:
            if fmt not in ("ogg", "opus") and not (fmt == "wav" and header.frames is None):
                raise
            logger.debug("soundfile could not decode %s, trying PyAV", fmt, exc_info=True)
            frames, rate = decode_pyav(data, fmt, limits)
    else:
        frames, rate = decode_pyav(data, fmt, limits)
    declared = header.duration_s
    decoded = frames.shape[0] / rate
    if declared is not None and decoded < declared - (0.2 + 0.01 * declared):
        raise AudioDecodeError(
            f"truncated {fmt}: decoded {decoded:.2f} s of the {declared:.2f} s the header declares"
        )
    return frames, rate


def _decode_raw(data: bytes, fmt: str, rate: int, limits: DecodeLimits) -> Frames:
    check_rate(rate, limits)
    width = 2 if fmt == "pcm_s16le" else 1
    check_duration(len(data) / width / rate, limits)
    if len(data) % width:
        logger.warning("raw %s input has an odd trailing byte; dropped", fmt)
        data = data[: len(data) - len(data) % width]
    if fmt == "mulaw":
        mono = decode_mulaw(data)
    elif fmt == "alaw":
        mono = decode_alaw(data)
    else:
        mono = (np.frombuffer(data, dtype="<i2") / 32768.0).astype(np.float32)
    return mono.reshape(-1, 1)


def _to_target(samples: npt.NDArray[np.float32], rate: int, target_rate: int) -> Frames:
    """One channel as contiguous float32 in [-1, 1] at ``target_rate`` (soxr HQ)."""
    mono = np.ascontiguousarray(samples, dtype=np.float32)
    if rate != target_rate:
        mono = soxr.resample(mono, rate, target_rate, quality="HQ")
    return np.clip(mono, -1.0, 1.0, out=mono)


def _check_samples(frames: Frames, rate: int, fmt: str) -> None:
    """Refuse empty, non-finite, silent and random-byte content."""
    if frames.size == 0:
        raise AudioDecodeError(f"empty {fmt}: decoding produced 0 samples")
    peak = max(float(frames.max()), -float(frames.min()))  # NaN propagates
    if not np.isfinite(peak):
        raise AudioDecodeError(f"corrupt {fmt}: samples are NaN or infinite")
    if peak < SILENCE_PEAK:
        level = 20 * np.log10(peak) if peak > 0 else float("-inf")
        raise AudioDecodeError(f"audio is silent: peak {level:.1f} dBFS is below -80 dBFS")
    if _looks_random(frames):
        raise AudioDecodeError(f"corrupt {fmt}: content is full-scale white noise (random bytes)")


def _looks_random(frames: Frames, size: int = 1024) -> bool:
    """True for loud, spectrally flat content: what random bytes decode to, never speech."""
    count = len(frames) // size
    if count < 8:
        return False
    picks = np.linspace(0, count - 1, min(count, 64)).astype(int)
    starts = picks * size
    blocks = np.stack([frames[i : i + size].mean(axis=1) for i in starts]).astype(np.float64)
    rms = float(np.sqrt(np.mean(blocks**2)))
    power = np.mean(np.abs(np.fft.rfft(blocks * np.hanning(size), axis=1)) ** 2, axis=0)[1:-1]
    power += 1e-20
    flatness = float(np.exp(np.mean(np.log(power))) / np.mean(power))
    return rms > 0.1 and flatness > 0.9
