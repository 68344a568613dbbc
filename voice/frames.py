"""Streaming framing: fixed-size frames from decoded audio or from live PCM byte chunks."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

import numpy as np
import numpy.typing as npt
import soxr

from pipelines.core.types import Audio, Samples
from voice.g711 import BytesLike, decode_alaw, decode_mulaw

logger = logging.getLogger(__name__)

StreamEncoding = Literal["pcm_s16le", "mulaw", "alaw"]
_WIDTH: dict[str, int] = {"pcm_s16le": 2, "mulaw": 1, "alaw": 1}


def iter_frames(audio: Audio, frame_s: float) -> Iterator[Audio]:
    """Consecutive frames of ``frame_s`` seconds; the last one may be shorter.

    Frames are read-only views of ``audio.samples`` (no copies).
    """
    size = round(frame_s * audio.sample_rate)
    if size <= 0:
        raise ValueError(f"frame_s={frame_s} is shorter than one sample")
    for start in range(0, len(audio.samples), size):
        view = audio.samples[start : start + size]
        view.flags.writeable = False
        yield Audio(view, audio.sample_rate, audio.channel)


@dataclass(frozen=True, slots=True)
class StreamFrame:
    """One fixed-size frame of a live stream: all channels over the same time span."""

    index: int
    start: float
    channels: tuple[Audio, ...]

    @property
    def end(self) -> float:
        return self.start + self.channels[0].duration


class PcmFrameBuffer:
    """Turn arbitrary byte chunks of interleaved PCM16/G.711 into fixed-size float32 frames.

    Chunks may split a sample or an interleaved channel group anywhere; leftover bytes wait for
    the next chunk. Resampling to ``target_rate`` keeps its state across chunks
    (`soxr.ResampleStream`), so the frames equal a one-shot decode of the whole stream within
    resampler tolerance. Call `flush` at the end of the stream for the last, shorter frame.
    """

    def __init__(
        self,
        *,
        encoding: StreamEncoding = "pcm_s16le",
        sample_rate: int = 8000,
        channels: int = 1,
        frame_s: float = 0.02,
        target_rate: int = 16000,
    ) -> None:
        if encoding not in _WIDTH:
            raise ValueError(f"unsupported encoding {encoding!r}; use one of {sorted(_WIDTH)}")
        if sample_rate <= 0 or target_rate <= 0:
            raise ValueError("sample rates must be positive")
        if channels not in (1, 2):
            raise ValueError(f"channels must be 1 or 2, got {channels}")
        self.encoding: StreamEncoding = encoding
        self.sample_rate = sample_rate
        self.channels = channels
        self.target_rate = target_rate
        self.frame_size = round(frame_s * target_rate)
        if self.frame_size <= 0:
            raise ValueError(f"frame_s={frame_s} is shorter than one sample")
        self._group = _WIDTH[encoding] * channels
        self._pending = b""
        self._buffer = np.zeros((0, channels), dtype=np.float32)
        self._emitted = 0
        self._closed = False
        self._resampler = (
            soxr.ResampleStream(sample_rate, target_rate, channels, dtype="float32", quality="HQ")
            if sample_rate != target_rate
            else None
        )

    def push(self, chunk: BytesLike) -> list[StreamFrame]:
        """Add a chunk of bytes; return the frames it completes (possibly none)."""
        if self._closed:
            raise RuntimeError("push() after flush(): the stream is closed")
        data = self._pending + bytes(chunk)
        usable = len(data) - len(data) % self._group
        self._pending = data[usable:]
        return self._take(self._decode(data[:usable]), last=False)

    def flush(self) -> list[StreamFrame]:
        """End the stream: drain the resampler and return the remaining frames."""
        if self._closed:
            return []
        self._closed = True
        if self._pending:
            logger.warning("stream ended inside a sample: %d bytes dropped", len(self._pending))
            self._pending = b""
        return self._take(np.zeros((0, self.channels), dtype=np.float32), last=True)

    def _decode(self, data: bytes) -> npt.NDArray[np.float32]:
        if self.encoding == "mulaw":
            flat = decode_mulaw(data)
        elif self.encoding == "alaw":
            flat = decode_alaw(data)
        else:
            flat = (np.frombuffer(data, dtype="<i2") / 32768.0).astype(np.float32)
        return flat.reshape(-1, self.channels)

    def _take(self, samples: npt.NDArray[np.float32], *, last: bool) -> list[StreamFrame]:
        if self._resampler is not None:
            samples = self._resampler.resample_chunk(samples, last=last)
        if len(samples):
            self._buffer = np.concatenate((self._buffer, samples.astype(np.float32, copy=False)))
        count = len(self._buffer) // self.frame_size
        if last and len(self._buffer) % self.frame_size:
            count += 1
        frames = [
            self._frame(self._buffer[i * self.frame_size :][: self.frame_size])
            for i in range(count)
        ]
        self._buffer = self._buffer[count * self.frame_size :]
        return frames

    def _frame(self, block: npt.NDArray[np.float32]) -> StreamFrame:
        index, self._emitted = self._emitted, self._emitted + 1
        channels = tuple(
            Audio(np.ascontiguousarray(block[:, c]), self.target_rate, c)
            for c in range(self.channels)
        )
        return StreamFrame(index, index * self.frame_size / self.target_rate, channels)


T = TypeVar("T")


def frames_by_track(
    frames: Sequence[StreamFrame], tracks: Sequence[T]
) -> Iterator[tuple[T, Samples]]:
    """The samples of decoded frames by track: channel ``c`` of the frames is ``tracks[c]``
    (nothing for no frames)."""
    if not frames:
        return
    for index, track in enumerate(tracks):
        yield track, np.concatenate([f.channels[index].samples for f in frames])
