"""The two decoding back ends: soundfile (libsndfile) and PyAV (FFmpeg).

Both return float32 ``(frames, channels)`` at the file's own rate, enforce `DecodeLimits` before
and while decoding, and turn every library exception into `AudioDecodeError`.
"""

from __future__ import annotations

import io
import logging
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf

from pipelines.core.errors import AudioDecodeError
from voice.containers import Header
from voice.limits import DecodeLimits, check_channels, check_duration, check_rate, one_line

logger = logging.getLogger(__name__)

Frames = npt.NDArray[np.float32]  # shape (frames, channels)
PYAV_DEMUXERS = {"mp3": "mp3", "m4a": "mp4", "opus": "ogg", "ogg": "ogg", "wav": "wav"}


def decode_soundfile(data: bytes, header: Header, limits: DecodeLimits) -> tuple[Frames, int]:
    blocks: list[Frames] = []
    rate = 0
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            rate = int(f.samplerate)
            check_rate(rate, limits)
            check_channels(f.channels, limits)
            if f.frames > 0:
                check_duration(f.frames / rate, limits)
            step = 10 * rate  # blocks: a decoder error keeps what was decoded before it
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
                f" {declared:.2f} s the header declares ({one_line(exc)})"
            ) from exc
        raise AudioDecodeError(f"corrupt {header.format}: {one_line(exc)}") from exc
    return (np.concatenate(blocks) if blocks else np.zeros((0, 1), np.float32)), rate


def decode_pyav(data: bytes, fmt: str, limits: DecodeLimits) -> tuple[Frames, int]:
    import av  # PyAV loads FFmpeg's libraries: only when a format needs it

    chunks: list[Frames] = []
    try:
        with av.open(io.BytesIO(data), mode="r", format=PYAV_DEMUXERS.get(fmt)) as container:
            if not container.streams.audio:
                raise AudioDecodeError(f"not audio: the {fmt} file has no audio stream")
            stream = container.streams.audio[0]
            rate, channels = stream.codec_context.sample_rate, stream.codec_context.channels
            check_rate(rate, limits)
            check_channels(channels, limits)
            if container.duration:
                check_duration(container.duration / av.time_base, limits)
            total, max_frames = 0, int(limits.max_duration_s * rate)
            for frame in container.decode(stream):
                if frame.layout.nb_channels != channels or frame.sample_rate != rate:
                    raise AudioDecodeError(
                        f"corrupt {fmt}: channel count or sample rate changes mid-stream"
                    )
                chunk = frame_to_array(frame.to_ndarray(), channels, frame.format.is_planar)
                chunks.append(chunk)
                total += chunk.shape[0]
                if total > max_frames:
                    check_duration(total / rate, limits)
            base = stream.time_base
            declared = float(stream.duration * base) if stream.duration and base else None
    except AudioDecodeError:
        raise
    except Exception as exc:  # av.FFmpegError, ValueError, MemoryError from hostile headers, ...
        raise AudioDecodeError(f"corrupt {fmt}: {one_line(exc)}") from exc
    frames = np.concatenate(chunks) if chunks else np.zeros((0, channels), np.float32)
    if declared is not None and frames.shape[0] / rate < declared - 0.2 - 0.01 * declared:
        raise AudioDecodeError(
            f"truncated {fmt}: decoded {frames.shape[0] / rate:.2f} s of the"
            f" {declared:.2f} s the container declares"
        )
    return frames, int(rate)


def frame_to_array(array: npt.NDArray[Any], channels: int, planar: bool) -> Frames:
    """An FFmpeg frame's samples as float32 (frames, channels)."""
    x = array if planar else array.reshape(-1, channels).T
    if np.issubdtype(x.dtype, np.floating):
        y = x.astype(np.float32)
    elif x.dtype == np.uint8:
        y = (x.astype(np.float32) - 128.0) / 128.0
    else:
        y = (x / float(np.iinfo(x.dtype).max + 1)).astype(np.float32)
    return np.ascontiguousarray(y.T)
