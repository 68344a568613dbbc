"""Every unusable input ends in AudioDecodeError with a one-line message that says why."""

from __future__ import annotations

import random
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from pipelines.core.errors import AudioDecodeError
from tests.voice.voice_testing import JFK, STEREO, TELEPHONY_EN, encode_pyav, read_clip, write_sf
from voice import DecodeLimits, encode_mulaw, load_call_audio


def _wav(
    payload: bytes,
    *,
    channels: int = 1,
    rate: int = 8000,
    bits: int = 16,
    tag: int = 1,
    data_size: int | None = None,
    align: int | None = None,
    before_data: bytes = b"",
) -> bytes:
    """A hand-built WAV file, so that every header field can lie."""
    align = channels * bits // 8 if align is None else align
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)
    size = len(payload) if data_size is None else data_size
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + before_data
    body += b"data" + struct.pack("<I", size) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _speech_pcm16() -> bytes:
    samples, _ = read_clip(TELEPHONY_EN)
    return np.rint(samples[:, 0] * 32767).astype("<i2").tobytes()


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _raises(source: str | Path | bytes, *words: str, **kwargs: object) -> str:
    with pytest.raises(AudioDecodeError) as caught:
        load_call_audio(source, **kwargs)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "\n" not in message
    for word in words:
        assert word in message.lower(), message
    return message


def test_missing_file(tmp_path: Path) -> None:
    _raises(tmp_path / "nope.wav", "no such file", "nope.wav")
    _raises(tmp_path, "not a file")


def test_empty_inputs(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    _raises(empty, "empty")
    _raises(b"", "empty")
    _raises(_wav(b""), "empty")
    _raises(b"", "empty", format_hint="mulaw")


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [("notes.wav", b"Call notes: customer asked for a refund.\n" * 200, ("not audio", "text")),
     ("picture.wav", _png(), ("not audio", "png")),
     ("random.wav", random.Random(7).randbytes(50_000), ("not audio",)),
     ("random.mp3", random.Random(8).randbytes(50_000), ("not audio",)),
     ("notes.ul", "Résumé des appels, à traiter.\n".encode() * 300, ("not audio", "text")),
     ("notes.raw", b"hello\tworld\r\n" * 1000, ("not audio", "text")),
     ("picture.al", _png(), ("not audio", "png")),
     ("random.ul", random.Random(9).randbytes(50_000), ("corrupt", "random")),
     ("random.sln", random.Random(10).randbytes(50_000), ("corrupt", "random"))],
)  # fmt: skip
def test_non_audio(tmp_path: Path, name: str, content: bytes, words: tuple[str, ...]) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    _raises(path, *words)


def _garbage(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def test_corrupt_wav() -> None:
    _raises(_wav(_garbage(64_000)), "corrupt", "random")  # valid header, random data
    valid = JFK.read_bytes()
    _raises(valid[:12] + _garbage(20_000), "corrupt")  # RIFF/WAVE, then no chunk structure
    _raises(valid[:44] + _garbage(len(valid) - 44), "corrupt")


def test_corrupt_compressed() -> None:
    samples, rate = read_clip(STEREO)
    flac = write_sf(samples, rate, "FLAC", "PCM_16")
    ogg = write_sf(samples, rate, "OGG", "VORBIS")
    mp3 = encode_pyav(samples, rate, "libmp3lame", "mp3", rate)
    m4a = encode_pyav(samples, rate, "aac", "mp4", rate)
    for name, data, keep in (
        ("flac", flac, 42),
        ("ogg", ogg, 4000),
        ("mp3", mp3, 45),
        ("m4a", m4a, 40),
    ):
        message = _raises(data[:keep] + _garbage(len(data) - keep), "corrupt")
        assert name in message


def test_truncated_wav_says_how_much_is_missing() -> None:
    data = JFK.read_bytes()
    message = _raises(data[: len(data) // 2], "truncated", "missing")
    assert str(len(data) - len(data) // 2) in message


@pytest.mark.parametrize("fmt", ["flac", "ogg", "opus", "mp3", "m4a", "m4a-faststart"])
def test_truncated_compressed(fmt: str) -> None:
    samples, rate = read_clip(STEREO)
    if fmt in ("flac", "ogg"):
        data = write_sf(samples, rate, fmt.upper(), "PCM_16" if fmt == "flac" else "VORBIS")
    elif fmt == "opus":
        data = encode_pyav(samples, rate, "libopus", "ogg", 48000)
    elif fmt == "mp3":
        data = encode_pyav(samples, rate, "libmp3lame", "mp3", rate)
    else:
        data = encode_pyav(samples, rate, "aac", "mp4", rate)
        if fmt == "m4a-faststart":  # index first: the cut only loses media data
            moov = data.index(b"moov") - 4
            mdat = data.index(b"mdat") - 4
            data = data[:mdat] + data[moov:] + data[mdat:moov]
            _raises(data[: len(data) * 2 // 3], "truncated")
            return
    _raises(data[: len(data) * 2 // 3], "truncated")


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "mp3", "m4a", "mulaw"])
def test_over_long_is_refused(fmt: str) -> None:
    samples, rate = read_clip(JFK)  # 11 s
    limits = DecodeLimits(max_duration_s=5.0)
    hint = None
    if fmt == "wav":
        data = JFK.read_bytes()
    elif fmt in ("flac", "ogg"):
        data = write_sf(samples, rate, fmt.upper(), "PCM_16" if fmt == "flac" else "VORBIS")
    elif fmt == "mp3":
        data = encode_pyav(samples, rate, "libmp3lame", "mp3", rate)
    elif fmt == "m4a":
        data = encode_pyav(samples, rate, "aac", "mp4", rate)
    else:
        data, hint = encode_mulaw(samples[:, 0]), "mulaw:16000"
    _raises(data, "too long", limits=limits, format_hint=hint)


def test_over_long_header_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    import soundfile

    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("decoded a file whose header is over the limit")

    monkeypatch.setattr(soundfile.SoundFile, "read", no_decoding)
    _raises(JFK, "too long", limits=DecodeLimits(max_duration_s=5.0))


def test_over_size_is_refused_before_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    limits = DecodeLimits(max_bytes=100_000)
    _raises(JFK.read_bytes(), "too large", limits=limits)

    def no_reading(*args: object, **kwargs: object) -> None:
        raise AssertionError("opened a file over the size limit")

    monkeypatch.setattr(Path, "open", no_reading)
    _raises(JFK, "too large", limits=limits)


def test_digital_silence() -> None:
    _raises(_wav(bytes(16_000)), "silent")
    quiet = np.random.default_rng(0).normal(0, 10**-5, 8000)  # about -100 dBFS
    _raises(write_sf(quiet.astype(np.float32), 8000, "WAV", "FLOAT"), "silent")
    _raises(b"\xff" * 8000, "silent", format_hint="mulaw")
    samples, rate = read_clip(STEREO)
    _raises(write_sf(np.zeros_like(samples), rate, "FLAC", "PCM_16"), "silent")


@pytest.mark.parametrize(
    ("rate", "word"), [(2000, "sample rate"), (0, "sample rate"), (500_000, "sample rate")]
)
def test_unsupported_sample_rate(rate: int, word: str) -> None:
    _raises(_wav(_speech_pcm16(), rate=rate), word)


def test_unsupported_raw_rate() -> None:
    _raises(encode_mulaw(np.zeros(100)), "sample rate", format_hint="mulaw:1000")


@pytest.mark.parametrize(
    ("header", "words"),
    [({"channels": 0}, ("invalid",)),
     ({"channels": 300}, ("channel count",)),
     ({"channels": 65535, "align": 2}, ("65535",)),
     ({"data_size": 0x7FFFFFFF}, ("truncated",)),
     ({"align": 0}, ("invalid",)),
     ({"align": 7}, ("block align",)),
     ({"bits": 12}, ("unsupported",)),
     ({"tag": 3, "bits": 16}, ("unsupported",)),
     ({"before_data": b"LIST" + struct.pack("<I", 0xFFFFFFF0)}, ("truncated or corrupt",)),
     ({"before_data": b"\x00\x01\x02\x03\x04\x05\x06\x07"}, ("corrupt", "garbage"))],
)  # fmt: skip
def test_hostile_wav_headers(header: dict[str, int | bytes], words: tuple[str, ...]) -> None:
    _raises(_wav(_speech_pcm16(), **header), *words)  # type: ignore[arg-type]


def test_more_channels_than_the_limit() -> None:
    samples, rate = read_clip(JFK)
    nine = np.repeat(samples, 9, axis=1)
    _raises(write_sf(nine, rate, "WAV", "PCM_16"), "channel count")
    _raises(write_sf(nine, rate, "OGG", "VORBIS"), "channel count")
    assert (
        len(
            load_call_audio(
                write_sf(nine, rate, "WAV", "PCM_16"), limits=DecodeLimits(max_channels=9)
            ).channels
        )
        == 9
    )


def test_hostile_flac_and_id3_headers() -> None:
    samples, rate = read_clip(STEREO)
    flac = bytearray(write_sf(samples, rate, "FLAC", "PCM_16"))
    zero_rate = bytearray(flac)
    zero_rate[18:21] = bytes([0, 0, zero_rate[20] & 0x0F])  # STREAMINFO sample rate := 0
    _raises(bytes(zero_rate), "sample rate")
    huge_block = bytearray(flac)
    huge_block[5:8] = b"\xff\xff\xff"  # STREAMINFO length 16 MiB
    _raises(bytes(huge_block), "flac")
    _raises(b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f" + bytes(100), "truncated")
    _raises(b"ID3\x04\x00\x00\xff\xff\xff\xff" + bytes(100), "invalid header")


def test_hostile_opus_channel_count() -> None:
    samples, rate = read_clip(STEREO)
    opus = bytearray(encode_pyav(samples, rate, "libopus", "ogg", 48000))
    at = opus.index(b"OpusHead")
    opus[at + 9] = 200  # channel count; the page CRC is now wrong too
    _raises(bytes(opus), "channel count")


def test_bad_format_hints() -> None:
    payload = encode_mulaw(read_clip(TELEPHONY_EN)[0][:, 0])
    _raises(payload, "unknown format hint", format_hint="gsm")
    _raises(payload, "invalid sample rate", format_hint="mulaw:fast")


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "opus", "mp3", "m4a"])
def test_mutated_files_never_leak_other_exceptions(fmt: str) -> None:
    samples, rate = read_clip(STEREO)
    samples = samples[: rate * 2]
    makers = {
        "wav": lambda: write_sf(samples, rate, "WAV", "PCM_16"),
        "flac": lambda: write_sf(samples, rate, "FLAC", "PCM_16"),
        "ogg": lambda: write_sf(samples, rate, "OGG", "VORBIS"),
        "opus": lambda: encode_pyav(samples, rate, "libopus", "ogg", 48000),
        "mp3": lambda: encode_pyav(samples, rate, "libmp3lame", "mp3", rate),
        "m4a": lambda: encode_pyav(samples, rate, "aac", "mp4", rate),
    }
    original = makers[fmt]()
    rng = random.Random(fmt)
    for _ in range(40):
        data = bytearray(original)
        cut = rng.randrange(len(data))
        if rng.random() < 0.5:
            data = data[:cut]
        for _ in range(rng.randrange(1, 8)):  # overwrite a few bytes, mostly in the headers
            at = (
                rng.randrange(min(len(data), 200))
                if rng.random() < 0.7
                else rng.randrange(len(data))
            )
            if at < len(data):
                data[at] = rng.randrange(256)
        try:
            call = load_call_audio(bytes(data))
        except AudioDecodeError as exc:
            assert str(exc) and "\n" not in str(exc)
        else:
            assert call.channels and all(np.isfinite(a.samples).all() for a in call.channels)


@pytest.mark.parametrize("placeholder", [0xFFFFFFFF, 0])
def test_streamed_wav_with_unknown_length_decodes(placeholder: int) -> None:
    """Recorders writing to a pipe leave the sizes unknown; the samples present are used."""
    pcm = _speech_pcm16()
    data = bytearray(_wav(pcm))
    at = bytes(data).index(b"data")
    struct.pack_into("<I", data, 4, placeholder)
    struct.pack_into("<I", data, at + 4, placeholder)
    call = load_call_audio(bytes(data))
    reference = load_call_audio(_wav(pcm))
    assert call.source.sha256 != reference.source.sha256
    np.testing.assert_allclose(call.channels[0].samples, reference.channels[0].samples)
