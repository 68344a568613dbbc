"""Decode a call recording into one float32 `Audio` per channel at the working rate.

The format is sniffed from the content, never from the name; only header-less telephony audio
(G.711, PCM16) is taken on the word of the file extension or ``format_hint``. Every way an input
can be unusable ends in :class:`AudioDecodeError` with a one-line reason.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf
import soxr

from pipelines.errors import AudioDecodeError
from pipelines.types import Audio, AudioSource, CallAudio
from voice.containers import Header, describe_non_audio, parse_header, sniff
from voice.g711 import decode_alaw, decode_mulaw

logger = logging.getLogger(__name__)

Frames = npt.NDArray[np.float32]  # shape (frames, channels)

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
_SILENCE_PEAK = 10 ** (-80 / 20)
_PYAV_DEMUXERS = {"mp3": "mp3", "m4a": "mp4", "opus": "ogg", "ogg": "ogg"}


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """Bounds on what `load_call_audio` accepts."""

    max_bytes: int = 2 * 1024**3
    max_duration_s: float = 4 * 3600.0
    max_channels: int = 8
    min_sample_rate: int = 4000
    max_sample_rate: int = 384000


def load_call_audio(
    source: str | os.PathLike[str] | bytes,
    *,
    format_hint: str | None = None,
    target_rate: int = 16000,
    limits: DecodeLimits = DecodeLimits(),
) -> CallAudio:
    """Decode ``source`` (a path or the file's bytes) into one `Audio` per channel."""
    if target_rate <= 0:
        raise ValueError(f"target_rate must be positive, got {target_rate}")
    data, suffix = _read(source, limits)
    if not data:
        raise AudioDecodeError("empty file: 0 bytes")
    raw = _raw_format(format_hint, suffix)
    fmt = sniff(data)
    if fmt == "mp3" and raw is not None and not data.startswith(b"ID3"):
        fmt = None  # a bare MPEG frame sync is weak evidence next to a declared raw format
    if fmt is not None:
        header = parse_header(fmt, data)
        _check_header(header, limits)
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
        sha256=hashlib.sha256(data).hexdigest(),
        format=fmt,
        sample_rate=rate,
        channels=frames.shape[1],
        duration_s=frames.shape[0] / rate,
    )
    if rate != target_rate:
        frames = soxr.resample(frames, rate, target_rate, quality="HQ")
    frames = np.clip(frames, -1.0, 1.0).astype(np.float32, copy=False)
    channels = tuple(
        Audio(np.ascontiguousarray(frames[:, c]), target_rate, c) for c in range(frames.shape[1])
    )
    logger.debug("decoded %s: %s", fmt, source_facts)
    return CallAudio(source_facts, channels)


def _read(source: str | os.PathLike[str] | bytes, limits: DecodeLimits) -> tuple[bytes, str]:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        _check_size(len(data), limits)
        return data, ""
    path = Path(source)
    try:
        _check_size(path.stat().st_size, limits)
        with path.open("rb") as fh:
            data = fh.read(limits.max_bytes + 1)
    except FileNotFoundError:
        raise AudioDecodeError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise AudioDecodeError(f"not a file: {path}") from None
    except OSError as exc:
        raise AudioDecodeError(f"cannot read {path}: {exc.strerror or exc}") from None
    _check_size(len(data), limits)
    return data, path.suffix.lower()


def _check_size(size: int, limits: DecodeLimits) -> None:
    if size > limits.max_bytes:
        raise AudioDecodeError(f"too large: {size} bytes exceeds the {limits.max_bytes}-byte limit")


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


def _check_rate(rate: int, limits: DecodeLimits) -> None:
    if rate <= 0:
        raise AudioDecodeError(f"invalid header: sample rate is {rate}")
    if not limits.min_sample_rate <= rate <= limits.max_sample_rate:
        raise AudioDecodeError(
            f"unsupported sample rate {rate} Hz (accepted:"
            f" {limits.min_sample_rate}..{limits.max_sample_rate} Hz)"
        )


def _check_duration(seconds: float, limits: DecodeLimits) -> None:
    if seconds > limits.max_duration_s:
        raise AudioDecodeError(
            f"too long: {seconds / 3600:.2f} h exceeds the limit of"
            f" {limits.max_duration_s / 3600:.2f} h"
        )


def _check_header(header: Header, limits: DecodeLimits) -> None:
    if header.sample_rate is not None:
        _check_rate(header.sample_rate, limits)
    if header.channels is not None and not 1 <= header.channels <= limits.max_channels:
        raise AudioDecodeError(
            f"unsupported channel count {header.channels} (accepted: 1..{limits.max_channels})"
        )
    if header.duration_s is not None:
        _check_duration(header.duration_s, limits)


def _decode_container(data: bytes, header: Header, limits: DecodeLimits) -> tuple[Frames, int]:
    """Decode with soundfile (wav, flac, ogg, opus) or PyAV (mp3, m4a, opus fallback)."""
    fmt = header.format
    if fmt in ("wav", "flac", "ogg", "opus"):
        try:
            frames, rate = _decode_soundfile(data, header, limits)
        except AudioDecodeError:
            if fmt not in _PYAV_DEMUXERS:
                raise
            logger.debug("soundfile could not decode %s, trying PyAV", fmt, exc_info=True)
            frames, rate = _decode_pyav(data, fmt, limits)
    else:
        frames, rate = _decode_pyav(data, fmt, limits)
    declared = header.duration_s
    decoded = frames.shape[0] / rate
    if declared is not None and decoded < declared - (0.2 + 0.01 * declared):
        raise AudioDecodeError(
            f"truncated {fmt}: decoded {decoded:.2f} s of the {declared:.2f} s the header declares"
        )
    return frames, rate


def _decode_soundfile(data: bytes, header: Header, limits: DecodeLimits) -> tuple[Frames, int]:
    blocks: list[Frames] = []
    rate = 0
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            rate = int(f.samplerate)
            _check_rate(rate, limits)
            if not 1 <= f.channels <= limits.max_channels:
                raise AudioDecodeError(f"unsupported channel count {f.channels}")
            if f.frames > 0:
                _check_duration(f.frames / rate, limits)
            step = 60 * rate  # blocks: a decoder error keeps what was decoded before it
            while len(block := f.read(step, dtype="float32", always_2d=True)):
                blocks.append(block)
    except AudioDecodeError:
        raise
    except Exception as exc:  # soundfile raises LibsndfileError, RuntimeError, ValueError, ...
        decoded = sum(len(b) for b in blocks) / rate if rate else 0.0
        declared = header.duration_s
        if declared is not None and decoded < declared:
            raise AudioDecodeError(
                f"truncated {header.format}: decoding failed after {decoded:.2f} s of the"
                f" {declared:.2f} s the header declares ({_one_line(exc)})"
            ) from exc
        raise AudioDecodeError(f"corrupt {header.format}: {_one_line(exc)}") from exc
    return (np.concatenate(blocks) if blocks else np.zeros((0, 1), np.float32)), rate


def _decode_pyav(data: bytes, fmt: str, limits: DecodeLimits) -> tuple[Frames, int]:
    import av  # PyAV loads FFmpeg's libraries: only when a format needs it

    chunks: list[Frames] = []
    try:
        with av.open(io.BytesIO(data), mode="r", format=_PYAV_DEMUXERS.get(fmt)) as container:
            if not container.streams.audio:
                raise AudioDecodeError(f"not audio: the {fmt} file has no audio stream")
            stream = container.streams.audio[0]
            rate, channels = stream.codec_context.sample_rate, stream.codec_context.channels
            _check_rate(rate, limits)
            if not 1 <= channels <= limits.max_channels:
                raise AudioDecodeError(f"unsupported channel count {channels}")
            if container.duration:
                _check_duration(container.duration / av.time_base, limits)
            total, max_frames = 0, int(limits.max_duration_s * rate)
            for frame in container.decode(stream):
                chunk = _frame_to_array(frame.to_ndarray(), channels, frame.format.is_planar)
                chunks.append(chunk)
                total += chunk.shape[0]
                if total > max_frames:
                    _check_duration(total / rate, limits)
            base = stream.time_base
            declared = float(stream.duration * base) if stream.duration and base else None
    except AudioDecodeError:
        raise
    except Exception as exc:  # av.FFmpegError, ValueError, MemoryError from hostile headers, ...
        raise AudioDecodeError(f"corrupt {fmt}: {_one_line(exc)}") from exc
    frames = np.concatenate(chunks) if chunks else np.zeros((0, channels), np.float32)
    if declared is not None and frames.shape[0] / rate < declared - 0.2 - 0.01 * declared:
        raise AudioDecodeError(
            f"truncated {fmt}: decoded {frames.shape[0] / rate:.2f} s of the"
            f" {declared:.2f} s the container declares"
        )
    return frames, int(rate)


def _frame_to_array(array: npt.NDArray[Any], channels: int, planar: bool) -> Frames:
    """An FFmpeg frame's samples as float32 (frames, channels)."""
    x = array if planar else array.reshape(-1, channels).T
    if np.issubdtype(x.dtype, np.floating):
        y = x.astype(np.float32)
    elif x.dtype == np.uint8:
        y = (x.astype(np.float32) - 128.0) / 128.0
    else:
        y = (x / float(np.iinfo(x.dtype).max + 1)).astype(np.float32)
    return np.ascontiguousarray(y.T)


def _decode_raw(data: bytes, fmt: str, rate: int, limits: DecodeLimits) -> Frames:
    _check_rate(rate, limits)
    width = 2 if fmt == "pcm_s16le" else 1
    _check_duration(len(data) / width / rate, limits)
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


def _check_samples(frames: Frames, rate: int, fmt: str) -> None:
    """Refuse empty, non-finite, silent and random-byte content."""
    if frames.size == 0:
        raise AudioDecodeError(f"empty {fmt}: decoding produced 0 samples")
    if not np.all(np.isfinite(frames)):
        raise AudioDecodeError(f"corrupt {fmt}: samples are NaN or infinite")
    peak = float(np.max(np.abs(frames)))
    if peak < _SILENCE_PEAK:
        level = 20 * np.log10(peak) if peak > 0 else float("-inf")
        raise AudioDecodeError(f"audio is silent: peak {level:.1f} dBFS is below -80 dBFS")
    if _looks_random(frames.mean(axis=1)):
        raise AudioDecodeError(f"corrupt {fmt}: content is full-scale white noise (random bytes)")


def _looks_random(mono: Frames, size: int = 1024) -> bool:
    """True for loud, spectrally flat content: what random bytes decode to, never speech."""
    count = len(mono) // size
    if count < 8:
        return False
    picks = np.linspace(0, count - 1, min(count, 64)).astype(int)
    blocks = mono[: count * size].reshape(count, size)[picks].astype(np.float64)
    rms = float(np.sqrt(np.mean(blocks**2)))
    power = np.mean(np.abs(np.fft.rfft(blocks * np.hanning(size), axis=1)) ** 2, axis=0)[1:-1]
    power += 1e-20
    flatness = float(np.exp(np.mean(np.log(power))) / np.mean(power))
    return rms > 0.1 and flatness > 0.9


def _one_line(exc: BaseException) -> str:
    strerror = getattr(exc, "strerror", None)  # FFmpegError/OSError: skip errno and call name
    text = " ".join(str(strerror or exc).split()) or type(exc).__name__
    return text[:200]
