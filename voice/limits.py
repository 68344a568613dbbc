"""Bounds on accepted audio, and the checks that enforce them with `AudioDecodeError`."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.core.errors import AudioDecodeError
from voice.containers import Header


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """Bounds on what `load_call_audio` accepts."""

    max_bytes: int = 2 * 1024**3
    max_duration_s: float = 4 * 3600.0
    max_channels: int = 8
    min_sample_rate: int = 4000
    max_sample_rate: int = 384000


DEFAULT_LIMITS = DecodeLimits()


def check_size(size: int, limits: DecodeLimits) -> None:
    if size > limits.max_bytes:
        raise AudioDecodeError(f"too large: {size} bytes exceeds the {limits.max_bytes}-byte limit")


def check_rate(rate: int, limits: DecodeLimits) -> None:
    if rate <= 0:
        raise AudioDecodeError(f"invalid header: sample rate is {rate}")
    if not limits.min_sample_rate <= rate <= limits.max_sample_rate:
        raise AudioDecodeError(
            f"unsupported sample rate {rate} Hz (accepted:"
            f" {limits.min_sample_rate}..{limits.max_sample_rate} Hz)"
        )


def check_duration(seconds: float, limits: DecodeLimits) -> None:
    if seconds > limits.max_duration_s:
        raise AudioDecodeError(
            f"too long: {seconds:.0f} s ({seconds / 3600:.2f} h) exceeds the limit of"
            f" {limits.max_duration_s:.0f} s"
        )


def check_channels(channels: int, limits: DecodeLimits) -> None:
    if not 1 <= channels <= limits.max_channels:
        raise AudioDecodeError(
            f"unsupported channel count {channels} (accepted: 1..{limits.max_channels})"
        )


def check_header(header: Header, limits: DecodeLimits) -> None:
    if header.sample_rate is not None:
        check_rate(header.sample_rate, limits)
    if header.channels is not None:
        check_channels(header.channels, limits)
    if header.duration_s is not None:
        check_duration(header.duration_s, limits)


def one_line(exc: BaseException) -> str:
    strerror = getattr(exc, "strerror", None)  # FFmpegError/OSError: skip errno and call name
    text = " ".join(str(strerror or exc).split()) or type(exc).__name__
    return text[:200]
