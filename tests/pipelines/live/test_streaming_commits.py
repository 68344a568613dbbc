"""How a live track turns decodes into finals: one decode per final, phrases committed at a
pause, speech whisper dropped announced, loops cut short.

The decoder is scripted (`scripted_decoder`) and compute is instant (each 20 ms frame waits
for the decodes it caused), so these check the engine's policy, not the machine's speed."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from models.asr_stream import UtteranceDecoder, _before_repeat, _repeat_at
from models.streaming_vad import SileroStream
from pipelines.core.settings import Settings
from pipelines.live.transcriber import (
    Event,
    Final,
    LiveOptions,
    LiveTranscriber,
    Notice,
    StreamScheduler,
)
from pipelines.registry import build_recognizer
from tests.pipelines.live.scripted_decoder import ScriptedDecoder
from voice.decode import load_call_audio

RATE = 16000
Array = npt.NDArray[np.float32]


def speech_clip(data_dir: Path) -> Array:
    audio = load_call_audio(data_dir / "en" / "ljspeech-LJ050-0131.wav").channels[0].samples
    return np.asarray(audio, dtype=np.float32)


def silence(seconds: float) -> Array:
    return np.zeros(int(seconds * RATE), dtype=np.float32)


def first_run(audio: Array, options: LiveOptions) -> tuple[float, float]:
    """The first stretch Silero hears as speech without a pause of ``speculate_after_s``."""
    speech = np.flatnonzero(SileroStream().push(audio) >= options.threshold)
    gaps = np.flatnonzero(np.diff(speech) * 512 / RATE >= options.speculate_after_s)
    end = speech[gaps[0]] if len(gaps) else speech[-1]
    return speech[0] * 512 / RATE, (end + 1) * 512 / RATE


def run_instant(live: LiveTranscriber, scheduler: StreamScheduler, audio: Array) -> list[Event]:
    """Feed 20 ms frames, each after the decodes the previous one caused have finished."""
    events: list[Event] = []
    for fed in range(320, len(audio) + 320, 320):
        live.feed(0, audio[fed - 320 : fed])
        while not scheduler.idle():
            time.sleep(0.002)
        events += live.poll()
    assert live.finish(timeout=60)
    return events + live.poll()


def is_final_decode(options: LiveOptions, decoder: ScriptedDecoder, index: int) -> bool:
    used = decoder.options[index]
    return used.context_margin_s == options.final.context_margin_s and used.beam_size == (
        options.final.beam_size
    )


def test_an_utterance_costs_one_final_decode(data_dir: Path, scheduler: StreamScheduler) -> None:
    """The final decoded in advance at the pause is the final: before, a new one was decoded
    at every VAD window until the post-roll had arrived (three decodes per final)."""
    options = LiveOptions()
    audio = speech_clip(data_dir)
    start, end = first_run(audio, options)
    assert end - start >= 0.5
    one_utterance = np.concatenate([audio[: int(end * RATE)], silence(1.0)])
    decoder = ScriptedDecoder()
    live = LiveTranscriber(decoder, options, scheduler=scheduler)
    events = run_instant(live, scheduler, one_utterance)
    finals = [e for e in events if isinstance(e, Final)]
    decodes = [i for i in range(len(decoder.options)) if is_final_decode(options, decoder, i)]
    assert len(finals) == 1 and len(decodes) == 1, (len(finals), len(decodes))
    assert finals[0].segment.end <= end + options.post_roll_s + 0.05


def test_speech_going_on_after_a_pause_commits_the_decode_taken_at_it(
    data_dir: Path, scheduler: StreamScheduler
) -> None:
    """A 0.25 s pause (shorter than the endpoint) after a long phrase: the final decoded at
    the pause becomes the phrase's final as soon as speech goes on, and the rest is decoded
    on its own."""
    options = LiveOptions()
    audio = speech_clip(data_dir)
    start, end = first_run(audio, options)
    phrase = audio[: int(end * RATE)]
    assert end - start >= options.pause_commit_after_s
    pause = options.endpoint_silence_s - 0.1
    call = np.concatenate([phrase, silence(pause), phrase, silence(1.0)])
    decoder = ScriptedDecoder(text=" a phrase")
    live = LiveTranscriber(decoder, options, scheduler=scheduler)
    events = run_instant(live, scheduler, call)
    finals = [e for e in events if isinstance(e, Final)]
    assert [f.closes_utterance for f in finals] == [False, True]
    first, second = (f.segment for f in finals)
    # segments span their words (here 0.1 s in from the audio's ends)
    assert end - 0.2 <= first.end <= end + pause <= second.start <= end + pause + 0.2


def test_speech_heard_but_not_recognized_is_announced(
    data_dir: Path, scheduler: StreamScheduler
) -> None:
    """Whisper hears nothing in an utterance Silero calls speech, and no partial was shown:
    the stream says which stretch it could not transcribe instead of dropping it silently."""
    options = LiveOptions(partial_interval_s=60.0)
    audio = np.concatenate([speech_clip(data_dir), silence(1.0)])
    live = LiveTranscriber(ScriptedDecoder(text=""), options, scheduler=scheduler)
    events = run_instant(live, scheduler, audio)
    assert not [e for e in events if isinstance(e, Final)]
    notices = [e for e in events if isinstance(e, Notice) and e.kind == "unrecognized"]
    assert notices and all("not transcribed" in n.detail for n in notices)


@pytest.fixture(scope="module")
def tokenizer(settings: Settings) -> object:
    return UtteranceDecoder(build_recognizer(settings))._tokenizer("en", "transcribe")


def test_a_partial_that_loops_is_cut_at_the_repeat(tokenizer: object) -> None:
    """A shortened encoder window makes whisper say a phrase twice over; a partial keeps the
    first copy (a final is decoded again on the full window instead)."""
    assert _repeat_at("Sorry to hear that. Sorry to hear that.") == 4
    assert _repeat_at("Sorry Sorry Sorry Sorry Sorry") == 1
    assert _repeat_at("no, no, I said no") is None
    assert _repeat_at("4111 1111 1111 1111") is None  # a card read out is no loop
    encode = tokenizer.encode  # type: ignore[attr-defined]
    decode = tokenizer.decode  # type: ignore[attr-defined]
    looped = encode(" I've got your order up I've got your order up I")
    assert decode(_before_repeat(tokenizer, looped)) == " I've got your order up"
    whole = encode(" Thanks for calling.")
    assert _before_repeat(tokenizer, whole) == whole
