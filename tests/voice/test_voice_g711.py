"""G.711 codecs: bit-exact against the reference tables, round trip on real telephony speech."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from types import ModuleType

import numpy as np
import numpy.typing as npt
import pytest

from tests.voice.voice_testing import TELEPHONY_EN, read_clip, snr_db
from voice.g711 import decode_alaw, decode_mulaw, encode_alaw, encode_mulaw

ALL_PCM16 = np.arange(-32768, 32768, dtype=np.int16)
ALL_CODES = bytes(range(256))


def _audioop() -> ModuleType:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        module: ModuleType = pytest.importorskip("audioop")  # stdlib until 3.13: a reference
    return module


def test_matches_audioop_for_every_value() -> None:
    audioop = _audioop()
    pcm = ALL_PCM16.tobytes()
    assert encode_mulaw(ALL_PCM16 / 32768.0) == audioop.lin2ulaw(pcm, 2)
    assert encode_alaw(ALL_PCM16 / 32768.0) == audioop.lin2alaw(pcm, 2)
    ulaw = np.frombuffer(audioop.ulaw2lin(ALL_CODES, 2), dtype=np.int16) / 32768.0
    alaw = np.frombuffer(audioop.alaw2lin(ALL_CODES, 2), dtype=np.int16) / 32768.0
    np.testing.assert_array_equal(decode_mulaw(ALL_CODES), ulaw.astype(np.float32))
    np.testing.assert_array_equal(decode_alaw(ALL_CODES), alaw.astype(np.float32))


def test_codes_survive_decode_then_encode() -> None:
    assert encode_alaw(decode_alaw(ALL_CODES)) == ALL_CODES
    again = encode_mulaw(decode_mulaw(ALL_CODES))
    # mu-law has two zeros (0x7F = -0, 0xFF = +0); everything else maps back to itself
    assert [i for i in range(256) if again[i] != i] == [0x7F]


@pytest.mark.parametrize(
    ("encode", "decode"), [(encode_mulaw, decode_mulaw), (encode_alaw, decode_alaw)]
)
def test_round_trip_on_real_speech(
    encode: Callable[[npt.ArrayLike], bytes], decode: Callable[[bytes], npt.NDArray[np.float32]]
) -> None:
    samples, rate = read_clip(TELEPHONY_EN)
    speech = samples[:, 0]
    coded = encode(speech)
    assert isinstance(coded, bytes) and len(coded) == len(speech)
    decoded = decode(coded)
    assert decoded.dtype == np.float32 and rate == 8000
    assert snr_db(speech, decoded) > 30.0  # G.711 gives ~38 dB on speech


def test_encoders_clip_and_ignore_nan() -> None:
    loud = np.array([2.0, -2.0, 1.0, -1.0, np.nan], dtype=np.float32)
    for encode in (encode_mulaw, encode_alaw):
        coded = encode(loud)
        assert coded[0] == coded[2] and coded[1] == coded[3]
        assert coded[4:] == encode(np.zeros(1, dtype=np.float32))
