"""Issue 15, never lose a party silently: a quiet caller leg is not leak, and speech coverage.

The call (``stereo_call_builder``): an English agent on the left at peak 0.8, a Spanish caller
(espeak-ng ``-v es``) on the right at peak 0.1, band-limited to 300-3400 Hz, a -47 dBFS noise
floor on both legs, no echo, five caller turns of which the last is talked over by the agent.

Before the fix, cross-talk suppression took every caller frame 15 dB below an active agent for
leak: it zeroed the caller's background through all of the agent's turns (20.9 s) and the
caller's words in the overtalk; whisper heard none of the five caller turns on the gated
channel and the record said nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import lfilter

from pipelines.batch import CallPipeline
from pipelines.core.types import (
    Audio,
    AudioSource,
    CallAudio,
    ModelInfo,
    ProgressHook,
    Segment,
    SpeechRegion,
    Transcript,
    no_progress,
)
from pipelines.record.schema import InteractionRecord
from pipelines.speakers.stereo import CrosstalkOptions, frame_energy_db, suppress_crosstalk
from pipelines.transcribe.coverage import CoverageOptions, speech_coverage, warn_coverage_gaps
from tests.pipelines.speakers.stereo_call_builder import (
    StereoCall,
    build_stereo_call,
    require_tools,
)
from voice.decode import load_call_audio

RATE = 16000
FRAME = 320  # 20 ms, the suppression's frame
SECRET = "mi tarjeta termina en cuatro cuatro"  # transcript text that must never reach a log


@pytest.fixture(scope="module")
def stereo_call(tmp_path_factory: pytest.TempPathFactory) -> StereoCall:
    require_tools()
    return build_stereo_call(tmp_path_factory.mktemp("stereo-call"))


def frames_in(turns: Sequence[tuple[float, float]], samples: int) -> np.ndarray:
    inside = np.zeros(samples, bool)
    for start, end in turns:
        inside[int(start * RATE) : int(end * RATE)] = True
    return inside


def test_the_built_call_is_deterministic(stereo_call: StereoCall, tmp_path: Path) -> None:
    again = build_stereo_call(tmp_path)
    assert again.path.read_bytes() == stereo_call.path.read_bytes()
    assert len(stereo_call.caller_turns) == 5 and stereo_call.caller_speech_s > 20
    last_caller, goodbye = stereo_call.caller_turns[-1], stereo_call.agent_turns[-1]
    assert goodbye[0] < last_caller[1]  # the overtalk


def test_a_quiet_band_limited_caller_is_not_taken_for_leak(stereo_call: StereoCall) -> None:
    call = load_call_audio(stereo_call.path)
    heard, muted = suppress_crosstalk(call, CrosstalkOptions())
    caller, kept = call.channels[1].samples, heard.channels[1].samples
    turns = frames_in(stereo_call.caller_turns, len(caller))
    # before the fix: 20.9 s muted on the caller's channel, 0.8 s of it inside the caller's turns
    assert muted == {"channel_0_muted_s": 0.0, "channel_1_muted_s": 0.0}
    assert np.array_equal(kept[turns], caller[turns])


def echo(samples: np.ndarray, delay_s: float, gain_db: float) -> np.ndarray:
    """What a hybrid or a far end sends back: delayed, low-passed, much quieter."""
    delay = round(delay_s * RATE)
    late = np.concatenate([np.zeros(delay, np.float32), samples[: len(samples) - delay]])
    return np.asarray(lfilter([0.25, 0.5, 0.25], [1.0], late) * 10 ** (gain_db / 20), np.float32)


@pytest.mark.parametrize("delay_s", [0.0015, 0.03, 0.2])  # hybrid, line echo, VoIP echo
def test_a_real_leak_is_still_muted_beside_a_quiet_caller(
    stereo_call: StereoCall, delay_s: float
) -> None:
    """The agent leaks into the caller's leg at -20 dB: the leak is replaced by the leg's own
    noise floor while it is all the leg carries; the caller's own turns are untouched."""
    call = load_call_audio(stereo_call.path)
    agent, caller = call.channels[0].samples, call.channels[1].samples
    leak = echo(agent, delay_s, -20.0)
    leaky = replace(call.channels[1], samples=(caller + leak).astype(np.float32))
    heard, muted = suppress_crosstalk(
        replace(call, channels=(call.channels[0], leaky)), CrosstalkOptions()
    )
    # where the leak is loud (agent 12 dB above its floor, delayed) and the caller silent
    loud = np.repeat(frame_energy_db(echo(agent, delay_s, 0.0), FRAME) > -47.0 + 12.0, FRAME)
    leak_only = loud & ~frames_in(stereo_call.caller_turns, len(loud))
    replaced = heard.channels[1].samples[: len(loud)] != leaky.samples[: len(loud)]
    assert replaced[leak_only].mean() >= 0.9
    assert muted["channel_0_muted_s"] == 0.0
    # every frame of the caller's turns in which the caller is heard above the line noise
    heard_above_noise = np.repeat(frame_energy_db(caller, FRAME) > -47.0 + 3.0, FRAME)
    voiced = frames_in(stereo_call.caller_turns, len(loud)) & heard_above_noise
    assert voiced.sum() / RATE > 10
    kept, sent = heard.channels[1].samples[: len(loud)], leaky.samples[: len(loud)]
    assert np.array_equal(kept[voiced], sent[voiced])
    # what replaces the leak is the leg's own noise floor, not digital silence
    filled = heard.channels[1].samples[: len(loud)][leak_only]
    assert 10 * np.log10(np.mean(filled.astype(np.float64) ** 2)) == pytest.approx(-47.0, abs=3)


def overlaps(segment: Segment, turn: tuple[float, float]) -> bool:
    return min(segment.end, turn[1]) - max(segment.start, turn[0]) > 0


@pytest.mark.slow
def test_the_spanish_caller_keeps_every_turn(
    base_pipeline: CallPipeline, stereo_call: StereoCall
) -> None:
    record = base_pipeline.analyze(
        load_call_audio(stereo_call.path), layout="stereo-agent-left", call_id="issue-15"
    )
    customer = [s for s in record.segments if s.role == "customer"]
    assert all(s.channel == 1 for s in customer)
    missing = [t for t in stereo_call.caller_turns if not any(overlaps(s, t) for s in customer)]
    assert missing == [], f"caller turns without a customer segment: {missing}"
    agent = [s for s in record.segments if s.role == "agent"]
    assert all(any(overlaps(s, t) for s in agent) for t in stereo_call.agent_turns)
    coverage = record.metrics["speech_coverage"]
    for channel in ("channel_0", "channel_1"):
        assert coverage[channel]["speech_s"] > 20
        assert coverage[channel]["coverage"] >= 0.8, coverage
        assert coverage[channel]["missed"] == 0, coverage
    assert coverage["gaps"] == [] and coverage["min_coverage"] == 0.8
    options = record.provenance.options
    assert options["speakers"]["crosstalk_muted_s"] == {
        "channel_0_muted_s": 0.0,
        "channel_1_muted_s": 0.0,
    }
    assert options["coverage"] == {"min_coverage": 0.8, "tolerance_s": 0.25, "missed_min_s": 1.0}


def test_coverage_counts_speech_inside_the_channels_segments() -> None:
    regions = {
        0: (SpeechRegion(0.0, 4.0, 0), SpeechRegion(3.0, 6.0, 0)),  # 6 s, overlapping regions
        1: (SpeechRegion(7.0, 17.0, 1), SpeechRegion(20.0, 22.0, 1)),  # the second one missed
        2: (),
    }
    segments = (
        segment(0, 0.1, 5.9, channel=0),
        segment(1, 7.0, 9.0, channel=1),
        segment(2, 9.0, 10.0, channel=0),  # another channel's segment covers nothing here
    )
    coverage = speech_coverage(regions, segments, CoverageOptions(tolerance_s=0.1))
    assert coverage["channel_0"] == {
        "speech_s": 6.0,
        "transcribed_s": 6.0,
        "coverage": 1.0,
        "missed": 0,
    }
    assert coverage["channel_1"] == {
        "speech_s": 12.0,
        "transcribed_s": 2.1,
        "coverage": 0.175,
        "missed": 1,
    }
    assert coverage["channel_2"] == {
        "speech_s": 0.0,
        "transcribed_s": 0.0,
        "coverage": None,
        "missed": 0,
    }
    assert coverage["gaps"] == ["channel_1"] and coverage["min_coverage"] == 0.8


def segment(index: int, start: float, end: float, *, channel: int, text: str = "") -> Segment:
    return Segment(index, start, end, text or SECRET, (), "es", 0.9, channel=channel)


class AgentOnlyTranscriber:
    """A recognizer that hears the agent and misses the caller entirely."""

    model = ModelInfo("transcribe", "fake", "0", "0" * 64)

    def __init__(self, spans: Sequence[tuple[float, float]]) -> None:
        self.spans = spans

    def transcribe(
        self, call: CallAudio, *, hook: ProgressHook = no_progress, **_: object
    ) -> Transcript:
        segments = tuple(segment(i, a, b, channel=0) for i, (a, b) in enumerate(self.spans))
        return Transcript(segments, ("es",), self.model)


class EnergyDetector:
    """Speech wherever a channel is louder than -40 dBFS, in 0.5 s steps."""

    def regions(self, audio: Audio) -> tuple[SpeechRegion, ...]:
        step = audio.sample_rate // 2
        blocks = audio.samples[: len(audio.samples) // step * step].reshape(-1, step)
        loud = 10 * np.log10(np.mean(blocks.astype(np.float64) ** 2, axis=1) + 1e-12) > -40
        return tuple(
            SpeechRegion(i * 0.5, (i + 1) * 0.5, audio.channel) for i in np.flatnonzero(loud)
        )


def two_party_tones() -> CallAudio:
    """Agent tones at 0-4 s and 10-14 s on the left, the caller's at 5-9 s on the right."""
    rng = np.random.default_rng(0)
    time = np.arange(16 * RATE) / RATE
    left = rng.normal(0, 10 ** (-50 / 20), len(time)).astype(np.float32)
    right = rng.normal(0, 10 ** (-50 / 20), len(time)).astype(np.float32)
    tone = (0.5 * np.sin(2 * np.pi * 220 * time)).astype(np.float32)
    agent = (time < 4) | ((time >= 10) & (time < 14))
    caller = (time >= 5) & (time < 9)
    left[agent] += tone[agent]
    right[caller] += 0.1 * tone[caller]
    source = AudioSource("0" * 64, "wav", RATE, 2, len(time) / RATE)
    return CallAudio(source, (Audio(left, RATE, 0), Audio(right, RATE, 1)))


def test_a_party_missing_from_the_transcript_is_flagged_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pipeline = CallPipeline(
        AgentOnlyTranscriber([(0.0, 4.0), (10.0, 14.0)]), speech_detector=EnergyDetector()
    )
    with caplog.at_level(logging.WARNING, logger="pipelines.transcribe.coverage"):
        record: InteractionRecord = pipeline.analyze(
            two_party_tones(), layout="stereo-agent-left", call_id="call-42"
        )
    coverage = record.metrics["speech_coverage"]
    assert coverage["channel_0"]["coverage"] == 1.0
    assert coverage["channel_1"] == {
        "speech_s": 4.0,
        "transcribed_s": 0.0,
        "coverage": 0.0,
        "missed": 1,
    }
    assert coverage["gaps"] == ["channel_1"]
    warnings = [r for r in caplog.records if r.name == "pipelines.transcribe.coverage"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    message = warnings[0].getMessage()
    assert "channel_1 (customer)" in message and "call-42" in message
    assert getattr(warnings[0], "call_id", None) == "call-42"
    assert SECRET not in caplog.text and "tarjeta" not in caplog.text


def test_coverage_warnings_name_no_transcript_text(caplog: pytest.LogCaptureFixture) -> None:
    coverage = speech_coverage(
        {0: (SpeechRegion(0.0, 10.0, 0),)}, (segment(0, 0.0, 5.0, channel=0),)
    )
    assert coverage["channel_0"]["coverage"] == pytest.approx(0.525)
    with caplog.at_level(logging.WARNING, logger="pipelines.transcribe.coverage"):
        warn_coverage_gaps(coverage, {}, "mono-call")
    assert "52% of the speech on channel_0 (unknown)" in caplog.text
    assert SECRET not in caplog.text


def test_the_report_shows_each_party_s_coverage_and_the_gap(data_dir: Path) -> None:
    from api.cli.report import WIDTH, facts

    record = json.loads((data_dir / "records" / "angry-customer.json").read_text())
    assert "speech_coverage" not in record["metrics"]  # older records: no line at all
    assert not any("transcribed" in line for line in facts(record, "x.wav"))
    record["metrics"]["speech_coverage"] = {
        "channel_0": {"speech_s": 29.9, "transcribed_s": 27.2, "coverage": 0.91, "missed": 0},
        "channel_1": {"speech_s": 19.2, "transcribed_s": 0.0, "coverage": 0.0, "missed": 5},
        "min_coverage": 0.8,
        "gaps": ["channel_1"],
    }
    lines = facts(record, "x.wav")
    text = " ".join(" ".join(line.split()) for line in lines)
    assert all(len(line) <= WIDTH for line in lines)
    assert "transcribed agent 91% of 29.9 s, customer 0% of 19.2 s (GAP: speech missing" in text
