"""WebRTC VAD on real speech padded with silence, on silence and noise, and speech_ratio."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import soxr

from pipelines.core.types import Audio, SpeechRegion
from tests.voice.voice_testing import DATA, JFK, STEREO, TELEPHONY_EN, read_clip
from voice import SpeechDetector, WebRtcVad, load_call_audio, speech_ratio, webrtc_speech_regions

PAD_S = 2.0


def _padded(path: Path, rate: int | None = None) -> tuple[Audio, float]:
    samples, source_rate = read_clip(path)
    speech = samples[:, 0]
    if rate is not None and rate != source_rate:
        speech = soxr.resample(speech, source_rate, rate)
    rate = rate or source_rate
    silence = np.zeros(int(PAD_S * rate), dtype=np.float32)
    return Audio(np.concatenate([silence, speech, silence]), rate, channel=1), len(speech) / rate


@pytest.mark.parametrize(
    ("clip", "rate"),
    [(JFK, None), (TELEPHONY_EN, None), (DATA / "zh" / "aishell-BAC009S0724W0121.wav", None),
     (DATA / "en" / "ljspeech-LJ050-0131.wav", None), (JFK, 32000), (JFK, 48000), (JFK, 44100)],
)  # fmt: skip
def test_regions_cover_the_speech_and_not_the_padding(clip: Path, rate: int | None) -> None:
    audio, speech_s = _padded(clip, rate)
    regions = webrtc_speech_regions(audio)
    assert regions, "no speech found in a speech clip"
    # no region lies in the padding; edges may spill by pad_s plus WebRTC's own hangover
    spill = 0.1 + 0.2
    assert PAD_S - spill <= regions[0].start < PAD_S + speech_s
    assert PAD_S < regions[-1].end <= PAD_S + speech_s + spill
    assert all(r.channel == 1 and r.end > r.start for r in regions)
    assert all(a.end < b.start for a, b in itertools.pairwise(regions))
    covered = speech_ratio(regions, audio.duration) * audio.duration
    assert covered > 0.6 * speech_s


@pytest.mark.parametrize("aggressiveness", [0, 1, 2, 3])
@pytest.mark.parametrize("frame_ms", [10, 20, 30])
def test_options(aggressiveness: int, frame_ms: int) -> None:
    audio, speech_s = _padded(JFK)
    regions = webrtc_speech_regions(audio, aggressiveness=aggressiveness, frame_ms=frame_ms)
    assert regions and regions[0].start >= PAD_S - 0.3
    assert regions[-1].end <= PAD_S + speech_s + 0.3


def test_silence_and_noise_have_no_speech() -> None:
    rng = np.random.default_rng(0)
    rate = 16000
    silence = np.zeros(2 * rate, dtype=np.float32)
    noise = rng.normal(0.0, 0.01, 8 * rate).astype(np.float32)  # -40 dBFS white noise
    assert webrtc_speech_regions(Audio(np.concatenate([silence, noise]), rate)) == ()
    assert webrtc_speech_regions(Audio(silence, rate)) == ()
    assert webrtc_speech_regions(Audio(np.zeros(100, dtype=np.float32), rate)) == ()


def test_short_bursts_are_dropped_and_short_pauses_bridged() -> None:
    audio, _ = _padded(JFK)
    loose = webrtc_speech_regions(audio, min_silence_s=0.0, min_speech_s=0.0, pad_s=0.0)
    smooth = webrtc_speech_regions(audio, min_silence_s=1.0, pad_s=0.0)
    assert len(smooth) < len(loose)
    assert all(b.start - a.end > 1.0 for a, b in itertools.pairwise(smooth))
    assert all(r.end - r.start >= 0.25 for r in webrtc_speech_regions(audio, pad_s=0.0))


def test_stereo_call_channels() -> None:
    call = load_call_audio(STEREO)
    right = webrtc_speech_regions(call.channels[1])
    assert right and all(r.channel == 1 for r in right)
    assert right[0].start >= 0.36 - 0.3 and right[-1].end <= 2.46 + 0.4  # manifest: 0.36-2.46 s


def test_detector_protocol_and_options() -> None:
    detector: SpeechDetector = WebRtcVad(aggressiveness=3)
    audio, _ = _padded(TELEPHONY_EN)
    assert detector.regions(audio) == webrtc_speech_regions(audio, aggressiveness=3)
    options = {"aggressiveness": 2, "frame_ms": 30, "min_speech_s": 0.25, "min_silence_s": 0.3}
    assert WebRtcVad().options() == {**options, "pad_s": 0.1}
    assert WebRtcVad.name == "webrtcvad"


def test_invalid_options() -> None:
    audio = Audio(np.zeros(1600, dtype=np.float32), 16000)
    with pytest.raises(ValueError, match="aggressiveness"):
        webrtc_speech_regions(audio, aggressiveness=4)
    with pytest.raises(ValueError, match="frame_ms"):
        webrtc_speech_regions(audio, frame_ms=25)


def test_speech_ratio() -> None:
    regions = (SpeechRegion(1.0, 3.0), SpeechRegion(2.0, 4.0), SpeechRegion(9.0, 12.0, channel=1))
    assert speech_ratio(regions, 10.0) == pytest.approx(0.4)
    assert speech_ratio((), 10.0) == 0.0
    assert speech_ratio(regions, 0.0) == 0.0
    assert speech_ratio((SpeechRegion(-1.0, 20.0),), 10.0) == 1.0
