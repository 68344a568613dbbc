"""iter_frames and PcmFrameBuffer: random chunking equals one-shot decoding."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from pipelines.core.types import Audio
from tests.voice.voice_testing import JFK, STEREO, TELEPHONY_EN, Array, read_clip
from voice import (
    PcmFrameBuffer,
    StreamEncoding,
    StreamFrame,
    decode_alaw,
    decode_mulaw,
    encode_alaw,
    encode_mulaw,
    iter_frames,
    load_call_audio,
)


def test_iter_frames() -> None:
    audio = load_call_audio(JFK).channels[0]
    frames = list(iter_frames(audio, 0.03))
    assert [len(f.samples) for f in frames[:-1]] == [480] * (len(frames) - 1)
    assert 0 < len(frames[-1].samples) <= 480
    np.testing.assert_array_equal(np.concatenate([f.samples for f in frames]), audio.samples)
    assert all(f.sample_rate == 16000 and f.channel == audio.channel for f in frames)
    assert not frames[0].samples.flags.writeable
    assert audio.samples.flags.writeable  # the source array is left alone
    with pytest.raises(ValueError, match="shorter than one sample"):
        next(iter_frames(audio, 1e-6))
    assert list(iter_frames(Audio(np.zeros(0, dtype=np.float32), 16000), 0.02)) == []


def _encode(samples: Array, encoding: StreamEncoding) -> bytes:
    interleaved = samples.reshape(-1)
    if encoding == "mulaw":
        return encode_mulaw(interleaved)
    if encoding == "alaw":
        return encode_alaw(interleaved)
    return np.clip(np.rint(interleaved * 32768), -32768, 32767).astype("<i2").tobytes()


def _decode(payload: bytes, encoding: StreamEncoding, channels: int) -> Array:
    if encoding == "mulaw":
        flat = decode_mulaw(payload)
    elif encoding == "alaw":
        flat = decode_alaw(payload)
    else:
        flat = (np.frombuffer(payload, dtype="<i2") / 32768.0).astype(np.float32)
    return flat.reshape(-1, channels)


def _stream(buffer: PcmFrameBuffer, payload: bytes, seed: int) -> list[StreamFrame]:
    rng = np.random.default_rng(seed)
    frames: list[StreamFrame] = []
    at = 0
    while at < len(payload):
        size = int(rng.choice([1, 2, 3, 5, 159, 160, 161, 1001, 4097]))
        frames += buffer.push(memoryview(payload)[at : at + size])
        at += size
    return frames + buffer.flush()


@pytest.mark.parametrize(
    ("encoding", "rate", "channels"),
    [("pcm_s16le", 8000, 1), ("mulaw", 8000, 1), ("alaw", 8000, 1), ("mulaw", 8000, 2),
     ("pcm_s16le", 8000, 2), ("pcm_s16le", 16000, 1), ("pcm_s16le", 16000, 2), ("mulaw", 16000, 2)],
)  # fmt: skip
def test_random_chunks_equal_one_shot(encoding: StreamEncoding, rate: int, channels: int) -> None:
    if channels == 2:
        samples, source_rate = read_clip(STEREO)
    else:
        samples, source_rate = read_clip(TELEPHONY_EN)
    if source_rate != rate:
        samples = soxr.resample(samples, source_rate, rate)
    payload = _encode(samples, encoding)
    buffer = PcmFrameBuffer(encoding=encoding, sample_rate=rate, channels=channels, frame_s=0.02)
    frames = _stream(buffer, payload, seed=rate + channels)

    assert all(len(f.channels) == channels for f in frames)
    assert {len(c.samples) for f in frames[:-1] for c in f.channels} == {320}
    assert [f.index for f in frames] == list(range(len(frames)))
    assert [f.start for f in frames] == pytest.approx([0.02 * i for i in range(len(frames))])
    assert frames[-1].end == pytest.approx(len(samples) / rate, abs=1e-3)

    one_shot = _decode(payload, encoding, channels)
    if rate != 16000:
        one_shot = soxr.resample(one_shot, rate, 16000, quality="HQ")
    for channel in range(channels):
        streamed = np.concatenate([f.channels[channel].samples for f in frames])
        assert all(f.channels[channel].channel == channel for f in frames)
        assert len(streamed) == len(one_shot)
        np.testing.assert_allclose(streamed, one_shot[:, channel], atol=1e-4)
    if channels == 1:  # and equals the file decoder on the same bytes
        hint = f"{encoding}:{rate}"
        decoded = load_call_audio(payload, format_hint=hint).channels[0].samples
        np.testing.assert_allclose(streamed, decoded, atol=1e-4)


def test_stream_keeps_channels_apart() -> None:
    samples, rate = read_clip(STEREO)
    payload = _encode(samples, "pcm_s16le")
    frames = _stream(PcmFrameBuffer(sample_rate=rate, channels=2), payload, seed=3)
    left = np.concatenate([f.channels[0].samples for f in frames])
    right = np.concatenate([f.channels[1].samples for f in frames])
    np.testing.assert_allclose(left, samples[:, 0], atol=1 / 32768)
    np.testing.assert_allclose(right, samples[:, 1], atol=1 / 32768)


def test_odd_trailing_byte_is_dropped_at_flush() -> None:
    buffer = PcmFrameBuffer(encoding="pcm_s16le", sample_rate=16000, frame_s=0.01)
    assert buffer.push(b"\x00\x10" * 100 + b"\x01") == []
    frames = buffer.push(b"\x00" + b"\x00\x10" * 59)
    assert len(frames) == 1 and len(frames[0].channels[0].samples) == 160
    rest = buffer.flush()
    assert len(rest) == 0  # 160 samples fit exactly in the first frame
    assert buffer.flush() == []
    with pytest.raises(RuntimeError, match="closed"):
        buffer.push(b"\x00\x00")


def test_invalid_configuration() -> None:
    with pytest.raises(ValueError, match="encoding"):
        PcmFrameBuffer(encoding="opus")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="channels"):
        PcmFrameBuffer(channels=3)
    with pytest.raises(ValueError, match="positive"):
        PcmFrameBuffer(sample_rate=0)
    with pytest.raises(ValueError, match="shorter than one sample"):
        PcmFrameBuffer(frame_s=0.0)
