"""Live transcription on real audio with the real whisper base model (and one fake decoder
that is slow on purpose, to isolate the lag policy)."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf
import soxr

from models.asr import SpeechRecognizer
from models.asr_stream import UtteranceDecoder, UtteranceOptions, _repeats
from models.streaming_vad import SileroStream
from pipelines.live.transcriber import (
    Event,
    Final,
    LiveOptions,
    LiveTranscriber,
    Notice,
    Partial,
    PcmInput,
    StreamScheduler,
)
from pipelines.transcribe.evaluation import error_rate
from pipelines.transcribe.stage import WhisperTranscriber
from tests.pipelines.live.scripted_decoder import ScriptedDecoder
from voice.decode import load_call_audio
from voice.g711 import encode_mulaw

JFK = (
    "And so my fellow Americans, ask not what your country can do for you,"
    " ask what you can do for your country."
)
ANNOUNCE = (
    "All of our representatives are currently busy. Please stay on the line"
    " and your call will be answered by the next available representative."
)
LEFT = (
    "He began a confused complaint against the wizard,"
    " who had vanished behind the curtain on the left."
)
LJ050_0131 = (  # tests/data/MANIFEST.tsv
    "unless a system is established for the frequent formal review of activities thereunder."
    " in this regard"
)
Array = npt.NDArray[np.float32]


def load16k(path: Path) -> Array:
    samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    if rate != 16000:
        samples = soxr.resample(samples, rate, 16000)
    return np.asarray(samples, dtype=np.float32)


def until_idle(scheduler: StreamScheduler) -> None:
    """Wait for the compute thread to run out of work (compute made instant for a test)."""
    while not scheduler.idle():
        time.sleep(0.002)


def run_live(
    live: LiveTranscriber,
    samples: Array,
    *,
    speed: float = 4.0,
    tracks: Sequence[int | str] = (0, 1),
    keep_up: bool = False,
) -> list[Event]:
    """Feed (frames, channels) audio in 20 ms frames at ``speed`` x real time.

    ``keep_up`` holds each frame back until the compute thread is idle: the call as a machine
    fast enough for it hears it, whatever this machine's speed (the lag policy, which drops
    partials on a slow machine, has tests of its own with a decoder slow on purpose).
    """
    step = 320
    for index in range(0, len(samples), step):
        for channel in range(samples.shape[1]):
            live.feed(tracks[channel], samples[index : index + step, channel])
        if speed:
            time.sleep(0.02 / speed)
        if keep_up:
            until_idle(live.scheduler)
    assert live.finish(timeout=120)
    return live.poll()


def finals(events: list[Event], channel: int | None = None) -> list[Final]:
    return [e for e in events if isinstance(e, Final) and channel in (None, e.segment.channel)]


def text(events: list[Event], channel: int | None = None) -> str:
    return " ".join(
        f.segment.text for f in sorted(finals(events, channel), key=lambda f: f.segment.start)
    )


def test_finals_match_the_batch_transcript(
    decoder: UtteranceDecoder,
    recognizer: SpeechRecognizer,
    scheduler: StreamScheduler,
    data_dir: Path,
) -> None:
    path = data_dir / "calls" / "compliant-return.wav"
    events = run_live(LiveTranscriber(decoder, scheduler=scheduler), load16k(path))
    batch = WhisperTranscriber(recognizer).transcribe(load_call_audio(path))
    for channel in (0, 1):
        batch_text = " ".join(s.text for s in batch.segments if s.channel == channel)
        assert error_rate(batch_text, text(events, channel)) <= 0.12, (
            batch_text,
            text(events, channel),
        )
    assert all(
        f.audio is not None and len(f.audio) >= (f.segment.end - f.segment.start) * 16000 - 1
        for f in finals(events)
    )
    segments = [f.segment for f in finals(events)]
    assert all(s.language == "en" and s.words and s.start < s.end for s in segments)
    assert all(
        s.words[0].start >= s.start - 1e-3 and s.words[-1].end <= s.end + 1e-3 for s in segments
    )


def test_finals_never_change_and_partials_come_first(
    decoder: UtteranceDecoder, scheduler: StreamScheduler, data_dir: Path
) -> None:
    events = run_live(
        LiveTranscriber(decoder, scheduler=scheduler),
        load16k(data_dir / "calls" / "angry-customer.wav"),
        speed=2.0,
        keep_up=True,
    )
    final_ids = [f.segment.id for f in finals(events)]
    assert len(final_ids) == len(set(final_ids)) >= 6
    seen_final: set[int] = set()
    partial_ids = set()
    for event in events:
        if isinstance(event, Partial):
            assert event.segment.id not in seen_final, "a partial came after its final"
            partial_ids.add(event.segment.id)
        elif isinstance(event, Final):
            seen_final.add(event.segment.id)
    assert len(partial_ids & seen_final) >= len(final_ids) // 2
    # the customer speaks German, the agent English: language per segment
    assert {f.segment.language for f in finals(events, 0)} == {"en"}
    assert {f.segment.language for f in finals(events, 1)} == {"de"}


def test_two_tracks_stay_apart(
    decoder: UtteranceDecoder, scheduler: StreamScheduler, data_dir: Path
) -> None:
    live = LiveTranscriber(decoder, scheduler=scheduler)
    events = run_live(
        live,
        load16k(data_dir / "stereo" / "two-speakers-stereo.wav"),
        tracks=("inbound", "outbound"),
    )
    left, right = text(events, 0), text(events, 1)
    assert error_rate(LEFT, left) < 0.2
    assert error_rate("The horizon seems extremely distant.", right) < 0.2
    assert all(f.segment.end <= 5.0 for f in finals(events))


def test_silence_and_noise_give_nothing(
    decoder: UtteranceDecoder, scheduler: StreamScheduler
) -> None:
    rng = np.random.default_rng(0)
    quiet = np.concatenate([np.zeros(16000 * 3), rng.normal(0, 0.002, 16000 * 3)]).astype(
        np.float32
    )
    events = run_live(LiveTranscriber(decoder, scheduler=scheduler), quiet[:, None], speed=0)
    assert [e for e in events if not isinstance(e, Notice)] == []


def test_mulaw_8khz_telephony(
    decoder: UtteranceDecoder, scheduler: StreamScheduler, data_dir: Path
) -> None:
    samples, rate = sf.read(
        str(data_dir / "telephony" / "en_queue-periodic-announce.wav"), dtype="float32"
    )
    assert rate == 8000
    live = LiveTranscriber(decoder, scheduler=scheduler)
    source = PcmInput(live, encoding="mulaw", sample_rate=8000, tracks=["inbound"])
    payload = encode_mulaw(samples)
    for index in range(0, len(payload), 160):  # 20 ms Twilio-size chunks
        source.push(payload[index : index + 160])
    source.close()
    assert live.finish(timeout=60)
    assert error_rate(ANNOUNCE, text(live.poll(), 0)) <= 0.15
    assert live.track_seconds("inbound") == pytest.approx(len(samples) / 8000, abs=0.05)


def test_spanish_caller_language_and_translation_of_a_final(
    decoder: UtteranceDecoder, scheduler: StreamScheduler, data_dir: Path
) -> None:
    """What a per-final hook can do for a multilingual caller: whisper's translate task."""
    path = data_dir / "telephony" / "es_queue-periodic-announce.wav"
    samples, _ = sf.read(str(path), dtype="float32")
    live = LiveTranscriber(decoder, scheduler=scheduler)
    source = PcmInput(live, encoding="mulaw", sample_rate=8000, tracks=["inbound"])
    source.push(encode_mulaw(samples))
    source.close()
    assert live.finish(timeout=60)
    (final,) = finals(live.poll())
    assert final.segment.language == "es" and "representantes" in final.segment.text
    assert final.audio is not None
    english = decoder.decode(final.audio, UtteranceOptions(task="translate"), language="es")
    assert "representatives" in english.text.lower()


def test_long_utterances_commit_agreed_words(
    decoder: UtteranceDecoder, scheduler: StreamScheduler, data_dir: Path
) -> None:
    """No endpoint inside the 11 s clip: local agreement and the forced cut make the finals."""
    options = LiveOptions(
        endpoint_silence_s=3.0, agreement_after_s=3.0, max_utterance_s=8.0, cut_window_s=3.0
    )
    events = run_live(
        LiveTranscriber(decoder, options, scheduler=scheduler),
        load16k(data_dir / "en" / "jfk.wav"),
        speed=1.5,
    )
    pieces = finals(events)
    assert len(pieces) >= 2
    assert all(b.segment.start >= a.segment.end - 0.05 for a, b in itertools.pairwise(pieces))
    assert error_rate(JFK, text(events)) <= 0.2


def test_a_long_utterance_yields_its_first_final_before_it_ends(
    decoder: UtteranceDecoder, data_dir: Path
) -> None:
    """LJSpeech LJ050-0131 reads one 5.8 s utterance without a pause long enough to end it;
    its first phrase becomes final while the rest is still being spoken. Compute is made
    instant (each 20 ms frame waits for the decodes it caused), so the test checks the engine,
    not the machine's speed."""
    audio = load16k(data_dir / "en" / "ljspeech-LJ050-0131.wav")[:, 0]
    # endpoints only at a half-second pause, so that the clip is one utterance for the engine
    options = LiveOptions(endpoint_silence_s=0.5, speculate_after_s=0.2)
    probabilities = SileroStream().push(audio)
    speech = np.flatnonzero(probabilities >= options.threshold)
    gaps = np.flatnonzero(np.diff(speech) * 512 / 16000 >= options.endpoint_silence_s)
    utterance_end = (speech[gaps[0]] + 1) * 512 / 16000 if len(gaps) else len(audio) / 16000
    assert utterance_end >= 5.0  # one long utterance, as the premise says
    scheduler = StreamScheduler()
    arrivals: list[tuple[float, Final]] = []
    fed = 0
    live = LiveTranscriber(
        decoder,
        options,
        scheduler=scheduler,
        on_event=lambda e: arrivals.append((fed / 16000, e)) if isinstance(e, Final) else None,
    )
    for fed in range(320, len(audio) + 320, 320):
        live.feed(0, audio[fed - 320 : fed])
        until_idle(scheduler)
    assert live.finish(timeout=120)
    scheduler.close()
    inside = [(at, f) for at, f in arrivals if f.segment.end <= utterance_end + 0.3]
    assert len(inside) >= 2, [f.segment.text for _, f in arrivals]
    first_at, first = inside[0]
    assert first_at < utterance_end - 0.5 and first.segment.end < utterance_end - 1.0
    assert error_rate(LJ050_0131, text([f for _, f in arrivals])) <= 0.2


def test_an_utterance_said_twice_over_is_decoded_again_on_the_full_window(
    decoder: UtteranceDecoder, data_dir: Path
) -> None:
    """Whisper base, given angry-customer's turn at 18.6 s with a 1 s encoder margin, says it
    twice ("The button is on the ice cream. The button is on the ice cream."); the decoder
    hears the repeat and decodes again on the full 30 s window."""
    assert _repeats("The button is on the ice cream. The button is on the ice cream.")
    assert _repeats("one two three one two three four")
    assert not _repeats("no, no, I said no") and not _repeats("4111 1111 1111 1111")
    call = load_call_audio(data_dir / "calls" / "angry-customer.wav")
    turns = json.loads((data_dir / "calls" / "angry-customer.json").read_text())["turns"]
    turn = next(t for t in turns if abs(t["start"] - 18.577) < 0.01)
    channel = call.channels[0 if turn["role"] == "agent" else 1].samples
    clip = channel[int((turn["start"] - 0.3) * 16000) : int((turn["end"] + 0.2) * 16000)]
    result = decoder.decode(clip, UtteranceOptions(context_margin_s=1.0), language="en")
    assert result.text.strip() and not _repeats(result.text), result.text


def test_finish_flushes_speech_cut_mid_word(
    decoder: UtteranceDecoder, scheduler: StreamScheduler, data_dir: Path
) -> None:
    audio = load16k(data_dir / "en" / "librispeech-1272-128104-0000.wav")[: int(3.0 * 16000)]
    events = run_live(LiveTranscriber(decoder, scheduler=scheduler), audio, speed=0)
    assert finals(events) and finals(events)[-1].segment.end <= 3.0
    assert "quilter" in text(events).lower()


def test_silero_stream_does_not_depend_on_chunking(data_dir: Path) -> None:
    audio = load16k(data_dir / "en" / "jfk.wav")[:, 0]
    whole = SileroStream().push(audio)
    stream = SileroStream()
    pieces = [stream.push(audio[i : i + 333]) for i in range(0, len(audio), 333)]
    np.testing.assert_allclose(np.concatenate(pieces), whole, atol=1e-4)
    assert len(whole) == len(audio) // 512


def test_slow_compute_merges_partials_and_keeps_every_final(data_dir: Path) -> None:
    audio = load16k(data_dir / "calls" / "angry-customer.wav")[: 16000 * 21]
    expected = run_live(LiveTranscriber(ScriptedDecoder(0.0)), audio, speed=0)
    events: list[Event] = []
    live = LiveTranscriber(ScriptedDecoder(0.9), on_event=events.append)
    backlog = []
    for index in range(0, len(audio), 320):
        for channel in (0, 1):
            live.feed(channel, audio[index : index + 320, channel])
        backlog.append(live.pending_seconds())
        time.sleep(0.02 / 8)  # 8x faster than real time: compute cannot keep up
    assert max(backlog) > 2.0 and live.lag_seconds() > 1.0
    assert live.finish(timeout=120)
    lag = [e for e in events if isinstance(e, Notice) and e.kind == "lag"]
    assert lag and all(e.track in (0, 1) for e in lag)
    assert len(finals(events)) == len(finals(expected)) >= 6  # finals are never dropped
    assert sum(isinstance(e, Partial) for e in events) < sum(
        isinstance(e, Partial) for e in expected
    )
    assert replace(lag[0], detail="").kind == "lag"


def test_a_closed_call_stops_while_another_goes_on(data_dir: Path) -> None:
    audio = load16k(data_dir / "calls" / "angry-customer.wav")[: 16000 * 12]
    shared = StreamScheduler()
    dropped: list[Event] = []
    kept: list[Event] = []
    first = LiveTranscriber(ScriptedDecoder(0.3), scheduler=shared, on_event=dropped.append)
    second = LiveTranscriber(ScriptedDecoder(0.3), scheduler=shared, on_event=kept.append)
    for index in range(0, len(audio), 320):
        for channel in (0, 1):
            first.feed(channel, audio[index : index + 320, channel])
            second.feed(channel, audio[index : index + 320, channel])
    first.close()
    seen = len(dropped)
    assert second.finish(timeout=60)
    assert len(dropped) == seen and first.pending_seconds() == 0.0
    assert len(finals(kept)) >= 3
    with pytest.raises(RuntimeError):
        first.feed(0, audio[:320, 0])
    shared.close()


def test_hotwords_bias_the_decoder_of_the_tracks_that_have_them(
    data_dir: Path, decoder: UtteranceDecoder
) -> None:
    """The tenant's words go before whisper's prompt, on the agent's track only (as in batch):
    the real decoder still hears the speech, and the other track decodes without them."""
    clip = load16k(data_dir / "en" / "jfk.wav")[:, 0]
    biased = replace(UtteranceOptions(), hotwords="Americans, Northwind Shop")
    heard = decoder.decode(clip, biased, language="en")
    assert error_rate(JFK, heard.text) <= 0.2
    audio = load16k(data_dir / "calls" / "angry-customer.wav")[: 16000 * 12]
    scripted = ScriptedDecoder(0.0)
    options = LiveOptions()
    agent_only = replace(options, final=replace(options.final, hotwords="Northwind"),
                         partial=replace(options.partial, hotwords="Northwind"))  # fmt: skip
    run_live(LiveTranscriber(scripted, track_options={0: agent_only}), audio, speed=0)
    assert {o.hotwords for o in scripted.options} == {"Northwind", None}
