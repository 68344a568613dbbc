"""Audio in: decode, resample, channel split, telephony codecs, VAD and streaming frames."""

from __future__ import annotations

from voice.decode import DecodeLimits, load_call_audio
from voice.frames import PcmFrameBuffer, StreamEncoding, StreamFrame, iter_frames
from voice.g711 import decode_alaw, decode_mulaw, encode_alaw, encode_mulaw
from voice.vad import SpeechDetector, WebRtcVad, speech_ratio, webrtc_speech_regions

__all__ = [
    "DecodeLimits",
    "PcmFrameBuffer",
    "SpeechDetector",
    "StreamEncoding",
    "StreamFrame",
    "WebRtcVad",
    "decode_alaw",
    "decode_mulaw",
    "encode_alaw",
    "encode_mulaw",
    "iter_frames",
    "load_call_audio",
    "speech_ratio",
    "webrtc_speech_regions",
]
