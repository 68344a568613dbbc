"""G.711 mu-law and A-law codecs with numpy lookup tables (no ``audioop``: gone in Python 3.13).

Decoders map each code byte to float32 in [-1, 1) (linear value / 32768); encoders quantise
float32 samples to 16-bit linear and map them through a 65536-entry table built once, following
the ITU-T G.711 reference segment tables (as in Sun's public-domain ``g711.c``).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt

from pipelines.core.types import Samples

BytesLike = bytes | bytearray | memoryview

_MULAW_BIAS = 0x84
_MULAW_CLIP = 8159  # in 14-bit units (16-bit value >> 2)
_MULAW_SEG_END = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], dtype=np.int32)
_ALAW_SEG_END = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF], dtype=np.int32)


@cache
def _mulaw_decode_table() -> Samples:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + _MULAW_BIAS) << exponent) - _MULAW_BIAS
    linear = np.where(codes & 0x80, -magnitude, magnitude)
    return (linear / 32768.0).astype(np.float32)


@cache
def _alaw_decode_table() -> Samples:
    codes = np.arange(256, dtype=np.int32) ^ 0x55
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = np.where(
        exponent == 0,
        (mantissa << 4) + 8,
        ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0),
    )
    linear = np.where(codes & 0x80, magnitude, -magnitude)
    return (linear / 32768.0).astype(np.float32)


@cache
def _mulaw_encode_table() -> npt.NDArray[np.uint8]:
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 2
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(pcm), _MULAW_CLIP) + (_MULAW_BIAS >> 2)
    seg = np.searchsorted(_MULAW_SEG_END, magnitude, side="left").astype(np.int32)
    code = (seg << 4) | ((magnitude >> (np.minimum(seg, 7) + 1)) & 0x0F)
    code = np.where(seg >= 8, 0x7F, code)
    return (code ^ mask).astype(np.uint8)


@cache
def _alaw_encode_table() -> npt.NDArray[np.uint8]:
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 3
    mask = np.where(pcm >= 0, 0xD5, 0x55)
    magnitude = np.where(pcm >= 0, pcm, -pcm - 1)
    seg = np.searchsorted(_ALAW_SEG_END, magnitude, side="left").astype(np.int32)
    shift = np.where(seg < 2, 1, np.minimum(seg, 7))
    code = (seg << 4) | ((magnitude >> shift) & 0x0F)
    code = np.where(seg >= 8, 0x7F, code)
    return (code ^ mask).astype(np.uint8)


def _codes(data: BytesLike) -> npt.NDArray[np.uint8]:
    return np.frombuffer(data, dtype=np.uint8)


def _to_int16_index(samples: npt.ArrayLike) -> npt.NDArray[np.int64]:
    x = np.asarray(samples, dtype=np.float64)
    linear = np.clip(np.rint(np.nan_to_num(x) * 32768.0), -32768, 32767).astype(np.int64)
    return linear + 32768


def decode_mulaw(data: BytesLike) -> Samples:
    """Decode G.711 mu-law bytes to float32 samples."""
    return _mulaw_decode_table()[_codes(data)]


def decode_alaw(data: BytesLike) -> Samples:
    """Decode G.711 A-law bytes to float32 samples."""
    return _alaw_decode_table()[_codes(data)]


def encode_mulaw(samples: npt.ArrayLike) -> bytes:
    """Encode float samples in [-1, 1] (clipped) to G.711 mu-law bytes."""
    return _mulaw_encode_table()[_to_int16_index(samples)].tobytes()


def encode_alaw(samples: npt.ArrayLike) -> bytes:
    """Encode float samples in [-1, 1] (clipped) to G.711 A-law bytes."""
    return _alaw_encode_table()[_to_int16_index(samples)].tobytes()
