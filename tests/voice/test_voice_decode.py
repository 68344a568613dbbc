"""load_call_audio on real clips and on formats built from them: rates, durations, channels,
content fidelity, and what `AudioSource` reports."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
import pytest
import soxr

from pipelines.core.types import CallAudio
from tests.voice.voice_testing import (
    DATA,
    JFK,
    STEREO,
    TELEPHONY_EN,
    Array,
    best_correlation,
    encode_pyav,
    envelope,
    read_clip,
    snr_db,
    write_sf,
)
from voice import encode_alaw, encode_mulaw, load_call_audio

MANIFEST = {
    row["file"]: row for row in csv.DictReader((DATA / "MANIFEST.tsv").open(), delimiter="\t")
}
CLIPS = sorted(
    str(p.relative_to(DATA)) for p in DATA.glob("*/*.wav") if str(p.relative_to(DATA)) in MANIFEST
)


def _resampled(samples: Array, rate: int, target: int = 16000) -> Array:
    out: Array = soxr.resample(samples, rate, target, quality="HQ") if rate != target else samples
    return out


def _assert_close_to(call: CallAudio, reference: Array, rate: int, *, min_corr: float) -> None:
    expected = _resampled(reference, rate, call.sample_rate)
    assert len(call.channels) == expected.shape[1]
    for channel in call.channels:
        corr = best_correlation(expected[:, channel.channel], channel.samples)
        assert corr > min_corr, f"channel {channel.channel}: correlation {corr:.3f}"


@pytest.mark.parametrize("clip", CLIPS)
def test_real_wav_clips(clip: str) -> None:
    row = MANIFEST[clip]
    path = DATA / clip
    call = load_call_audio(path)
    src = call.source
    assert src.format == "wav"
    assert src.sample_rate == int(row["sample_rate"]) and src.channels == int(row["channels"])
    assert src.duration_s == pytest.approx(float(row["seconds"]), abs=0.01)
    assert src.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert call.sample_rate == 16000 and call.duration == pytest.approx(src.duration_s, abs=1e-3)
    assert [a.channel for a in call.channels] == list(range(src.channels))
    for audio in call.channels:
        assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
        assert audio.samples.flags.c_contiguous and np.max(np.abs(audio.samples)) <= 1.0
    samples, rate = read_clip(path)
    if rate == 16000:
        np.testing.assert_array_equal(call.channels[0].samples, samples[:, 0])
    else:
        _assert_close_to(call, samples, rate, min_corr=0.999)


def test_bytes_and_path_give_the_same_result() -> None:
    from_path = load_call_audio(TELEPHONY_EN)
    from_bytes = load_call_audio(TELEPHONY_EN.read_bytes())
    assert from_path.source == from_bytes.source
    np.testing.assert_array_equal(from_path.channels[0].samples, from_bytes.channels[0].samples)


def test_stereo_channels_are_kept_apart() -> None:
    samples, rate = read_clip(STEREO)
    call = load_call_audio(STEREO)
    left, right = (a.samples for a in call.channels)
    assert not np.allclose(left, right)
    assert abs(np.corrcoef(left, right)[0, 1]) < 0.3
    for channel, other in ((0, 1), (1, 0)):
        decoded = envelope(call.channels[channel].samples, call.sample_rate)
        assert np.corrcoef(decoded, envelope(samples[:, channel], rate))[0, 1] > 0.99
        assert np.corrcoef(decoded, envelope(samples[:, other], rate))[0, 1] < 0.8
    # the right speaker talks only 0.36-2.46 s: the right channel is quiet afterwards
    tail = right[int(3.0 * call.sample_rate) :]
    assert np.sqrt(np.mean(tail**2)) < 0.1 * np.sqrt(np.mean(left[int(3.0 * 16000) :] ** 2))


@pytest.mark.parametrize(
    ("subtype", "min_snr"),
    [("PCM_16", 200.0), ("PCM_24", 200.0), ("PCM_32", 200.0), ("FLOAT", 200.0), ("DOUBLE", 200.0),
     ("PCM_U8", 12.0), ("ULAW", 30.0), ("ALAW", 30.0)],
)  # fmt: skip
def test_wav_subtypes(tmp_path: Path, subtype: str, min_snr: float) -> None:
    samples, rate = read_clip(STEREO)
    path = tmp_path / f"call-{subtype}.wav"
    path.write_bytes(write_sf(samples, rate, "WAV", subtype))
    call = load_call_audio(path)
    assert call.source.format == "wav" and call.source.channels == 2
    for channel in call.channels:
        assert snr_db(samples[:, channel.channel], channel.samples) > min_snr


@pytest.mark.parametrize("rate", [22050, 44100, 8000, 48000])
def test_other_rates_are_resampled(tmp_path: Path, rate: int) -> None:
    samples, source_rate = read_clip(JFK)
    at_rate = soxr.resample(samples, source_rate, rate, quality="VHQ")
    path = tmp_path / f"jfk-{rate}.wav"
    path.write_bytes(write_sf(at_rate, rate, "WAV", "PCM_16"))
    call = load_call_audio(path)
    assert call.source.sample_rate == rate and call.sample_rate == 16000
    assert call.duration == pytest.approx(11.0, abs=2 / rate + 1e-4)
    band_limited = soxr.resample(
        soxr.resample(samples, 16000, min(rate, 16000)), min(rate, 16000), 16000
    )
    assert best_correlation(band_limited[:, 0], call.channels[0].samples, max_lag=8) > 0.99


def test_target_rate_option() -> None:
    call = load_call_audio(JFK, target_rate=8000)
    assert call.sample_rate == 8000 and len(call.channels[0].samples) == 88000


def test_flac_is_lossless(tmp_path: Path) -> None:
    samples, rate = read_clip(STEREO)
    path = tmp_path / "call.flac"
    path.write_bytes(write_sf(samples, rate, "FLAC", "PCM_16"))
    call = load_call_audio(path)
    assert call.source.format == "flac" and call.source.duration_s == 5.0
    for channel in call.channels:
        np.testing.assert_array_equal(channel.samples, samples[:, channel.channel])


def test_ogg_vorbis(tmp_path: Path) -> None:
    samples, rate = read_clip(STEREO)
    path = tmp_path / "call.ogg"
    path.write_bytes(write_sf(samples, rate, "OGG", "VORBIS"))
    call = load_call_audio(path)
    assert call.source.format == "ogg" and call.source.channels == 2
    assert call.duration == pytest.approx(5.0, abs=0.05)
    _assert_close_to(call, samples, rate, min_corr=0.95)


@pytest.mark.parametrize(
    ("codec", "container", "out_rate", "fmt"),
    [("libmp3lame", "mp3", 16000, "mp3"), ("aac", "mp4", 16000, "m4a"),
     ("libopus", "ogg", 48000, "opus"), ("libmp3lame", "mp3", 44100, "mp3"),
     ("aac", "mp4", 8000, "m4a")],
)  # fmt: skip
def test_compressed_formats(
    tmp_path: Path, codec: str, container: str, out_rate: int, fmt: str
) -> None:
    samples, rate = read_clip(STEREO)
    path = tmp_path / "call.bin"  # the name says nothing: the content decides
    path.write_bytes(encode_pyav(samples, rate, codec, container, out_rate))
    call = load_call_audio(path)
    assert call.source.format == fmt and call.source.channels == 2
    assert call.source.sample_rate == out_rate and call.sample_rate == 16000
    # PyAV writes no edit list, so AAC keeps its priming and padding (up to 2048 samples)
    assert call.duration == pytest.approx(5.0, abs=2048 / out_rate + 0.02)
    _assert_close_to(call, samples, rate, min_corr=0.9 if out_rate == 8000 else 0.95)


def test_mono_opus_at_telephony_rate() -> None:
    samples, rate = read_clip(TELEPHONY_EN)
    call = load_call_audio(encode_pyav(samples, rate, "libopus", "ogg", 48000))
    assert call.source.format == "opus" and len(call.channels) == 1
    _assert_close_to(call, samples, rate, min_corr=0.9)


@pytest.mark.parametrize(
    ("suffix", "hint", "encoding", "rate"),
    [(".ul", None, "mulaw", 8000), (".mulaw", None, "mulaw", 8000), (".mu", None, "mulaw", 8000),
     (".ulaw", None, "mulaw", 8000), (".al", None, "alaw", 8000), (".alaw", None, "alaw", 8000),
     (".raw", None, "pcm_s16le", 8000), (".pcm", None, "pcm_s16le", 8000),
     (".sln", None, "pcm_s16le", 8000), (".sln16", None, "pcm_s16le", 16000),
     (".bin", "mulaw", "mulaw", 8000), (".bin", "alaw:16000", "alaw", 16000),
     (".dat", "pcm_s16le:16000", "pcm_s16le", 16000), (".ul", "MULAW:8000", "mulaw", 8000)],
)  # fmt: skip
def test_raw_telephony(
    tmp_path: Path, suffix: str, hint: str | None, encoding: str, rate: int
) -> None:
    samples, source_rate = read_clip(TELEPHONY_EN)
    speech = samples[:, 0] if rate == source_rate else soxr.resample(samples[:, 0], 8000, rate)
    if encoding == "mulaw":
        payload = encode_mulaw(speech)
    elif encoding == "alaw":
        payload = encode_alaw(speech)
    else:
        payload = np.clip(np.rint(speech * 32768), -32768, 32767).astype("<i2").tobytes()
    path = tmp_path / f"call{suffix}"
    path.write_bytes(payload)
    call = load_call_audio(path, format_hint=hint)
    assert call.source.format == encoding and call.source.sample_rate == rate
    assert call.source.duration_s == pytest.approx(len(speech) / rate)
    expected = _resampled(speech.reshape(-1, 1), rate)[:, 0]
    assert snr_db(expected, call.channels[0].samples) > (80.0 if encoding == "pcm_s16le" else 30.0)
    if hint is not None:  # bytes need the hint; a path can lean on its extension
        assert load_call_audio(payload, format_hint=hint).source == call.source


def test_content_wins_over_name_and_hint(tmp_path: Path) -> None:
    samples, rate = read_clip(STEREO)
    flac_named_wav = tmp_path / "call.wav"
    flac_named_wav.write_bytes(write_sf(samples, rate, "FLAC", "PCM_16"))
    assert load_call_audio(flac_named_wav).source.format == "flac"
    wav_named_ul = tmp_path / "call.ul"
    wav_named_ul.write_bytes(STEREO.read_bytes())
    assert load_call_audio(wav_named_ul, format_hint="mulaw").source.format == "wav"
    assert load_call_audio(STEREO, format_hint="mp3").source.format == "wav"


def test_leading_silence_in_raw_mulaw_is_not_taken_for_mp3() -> None:
    samples, _ = read_clip(TELEPHONY_EN)
    payload = bytes([0xFF, 0xFB, 0x90, 0x64]) + encode_mulaw(samples[:, 0])  # an MPEG frame sync
    call = load_call_audio(payload, format_hint="mulaw")
    assert call.source.format == "mulaw"


def test_wav_with_codecs_beyond_pcm() -> None:
    samples, rate = read_clip(TELEPHONY_EN)
    gsm = load_call_audio(write_sf(samples, rate, "WAV", "GSM610"))  # libsndfile decodes GSM 6.10
    mp3_in_wav = load_call_audio(encode_pyav(samples, rate, "libmp3lame", "wav", rate))  # PyAV
    for call in (gsm, mp3_in_wav):
        assert call.source.format == "wav" and call.source.sample_rate == 8000
        _assert_close_to(call, samples, rate, min_corr=0.9)
