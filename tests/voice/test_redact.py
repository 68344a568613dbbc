"""Audio redaction on a real speech clip: silence, beep, channels, clipping, WAV output."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipelines.core.types import Audio, AudioSource, CallAudio
from voice.redact import encode_wav, redact_audio


def _call(*channels: np.ndarray, rate: int) -> CallAudio:
    source = AudioSource("0" * 64, "wav", rate, len(channels), len(channels[0]) / rate)
    return CallAudio(
        source, tuple(Audio(c.astype(np.float32), rate, i) for i, c in enumerate(channels))
    )


@pytest.fixture(scope="module")
def speech(data_dir: Path) -> tuple[np.ndarray, int]:
    samples, rate = sf.read(data_dir / "en" / "jfk.wav", dtype="float32", always_2d=True)
    return samples[:, 0], rate


@pytest.fixture
def mono(speech: tuple[np.ndarray, int]) -> CallAudio:
    return _call(speech[0], rate=speech[1])


def _bounds(start: float, end: float, rate: int, pad: float = 0.1) -> tuple[int, int]:
    return int(np.floor((start - pad) * rate)), int(np.ceil((end + pad) * rate))


def test_silence_removes_the_span_and_keeps_the_rest(mono: CallAudio) -> None:
    original = mono.channels[0].samples.copy()
    out = redact_audio(mono, [(2.0, 3.0, None)], mode="silence")
    a, b = _bounds(2.0, 3.0, mono.sample_rate)
    samples = out.channels[0].samples
    assert np.abs(original[a:b]).max() > 0.05  # there was speech to remove
    assert not samples[a:b].any()
    np.testing.assert_array_equal(samples[:a], original[:a])
    np.testing.assert_array_equal(samples[b:], original[b:])
    np.testing.assert_array_equal(mono.channels[0].samples, original)  # input untouched
    assert samples is not mono.channels[0].samples and out is not mono
    assert out.source == mono.source and samples.dtype == np.float32


def test_beep_is_a_1khz_tone_at_minus_20_dbfs_with_fades(mono: CallAudio) -> None:
    rate = mono.sample_rate
    out = redact_audio(mono, [(4.0, 5.0, 0)], pad_s=0.0)
    tone = out.channels[0].samples[4 * rate : 5 * rate]
    spectrum = np.abs(np.fft.rfft(tone))
    assert np.fft.rfftfreq(len(tone), 1 / rate)[spectrum.argmax()] == pytest.approx(1000, abs=2)
    assert np.abs(tone).max() == pytest.approx(0.1, rel=0.01)  # -20 dBFS peak
    assert 20 * np.log10(np.abs(tone).max()) == pytest.approx(-20, abs=0.1)
    assert abs(tone[0]) < 1e-3 and abs(tone[-1]) < 0.01  # faded in and out
    fade = int(0.005 * rate)
    assert np.abs(tone[fade : fade + rate // 100]).max() == pytest.approx(0.1, rel=0.01)
    np.testing.assert_array_equal(
        out.channels[0].samples[: 4 * rate], mono.channels[0].samples[: 4 * rate]
    )
    np.testing.assert_array_equal(
        out.channels[0].samples[5 * rate :], mono.channels[0].samples[5 * rate :]
    )


def test_stereo_redacts_only_the_given_channel(speech: tuple[np.ndarray, int]) -> None:
    samples, rate = speech
    call = _call(samples, samples[::-1].copy(), rate=rate)
    out = redact_audio(call, [(1.0, 2.0, 1)], mode="silence")
    a, b = _bounds(1.0, 2.0, rate)
    np.testing.assert_array_equal(out.channels[0].samples, call.channels[0].samples)
    assert out.channels[0].samples is not call.channels[0].samples
    assert not out.channels[1].samples[a:b].any()
    np.testing.assert_array_equal(out.channels[1].samples[b:], call.channels[1].samples[b:])

    both = redact_audio(call, [(1.0, 2.0, None)], mode="silence")
    assert not both.channels[0].samples[a:b].any() and not both.channels[1].samples[a:b].any()
    with pytest.raises(ValueError, match="channel 2"):
        redact_audio(call, [(1.0, 2.0, 2)])


def test_spans_outside_the_audio_are_clipped(mono: CallAudio) -> None:
    rate, n = mono.sample_rate, len(mono.channels[0].samples)
    duration = n / rate
    out = redact_audio(
        mono,
        [
            (-5.0, 0.5, None),
            (duration - 0.5, duration + 10.0, None),
            (duration + 1, duration + 2, None),
        ],
        mode="silence",
    )
    samples = out.channels[0].samples
    assert len(samples) == n
    assert not samples[: int(0.6 * rate)].any()
    assert not samples[int((duration - 0.6) * rate) :].any()
    middle = slice(int(0.6 * rate) + 1, int((duration - 0.6) * rate) - 1)
    np.testing.assert_array_equal(samples[middle], mono.channels[0].samples[middle])
    unchanged = redact_audio(mono, [(duration + 1, duration + 2, None)])
    np.testing.assert_array_equal(unchanged.channels[0].samples, mono.channels[0].samples)


def test_overlapping_spans_and_bad_arguments(mono: CallAudio) -> None:
    rate = mono.sample_rate
    out = redact_audio(mono, [(1.0, 2.0, None), (1.5, 3.0, None)], mode="silence", pad_s=0.0)
    assert not out.channels[0].samples[rate : 3 * rate].any()
    with pytest.raises(ValueError, match="mode"):
        redact_audio(mono, [], mode="bleep")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pad_s"):
        redact_audio(mono, [], pad_s=-1)


def test_encode_wav_is_pcm16_of_the_redacted_audio(speech: tuple[np.ndarray, int]) -> None:
    samples, rate = speech
    call = _call(samples, samples * 0.5, rate=rate)
    redacted = redact_audio(call, [(1.0, 2.0, None)])
    data = encode_wav(redacted)
    decoded, decoded_rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    info = sf.info(io.BytesIO(data))
    assert (info.format, info.subtype, info.channels, decoded_rate) == ("WAV", "PCM_16", 2, rate)
    np.testing.assert_allclose(decoded[:, 0], redacted.channels[0].samples, atol=1 / 32767)
    np.testing.assert_allclose(decoded[:, 1], redacted.channels[1].samples, atol=1 / 32767)
    assert hashlib.sha256(data).hexdigest() == hashlib.sha256(encode_wav(redacted)).hexdigest()
    assert data != encode_wav(call)
