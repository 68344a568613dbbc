"""A live track's language: short finals keep it, a confident switch over enough speech moves it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from models.asr_stream import UtteranceDecoder, UtteranceOptions, hold_language
from pipelines.live.transcriber import LiveTranscriber
from tests.pipelines.live.scripted_decoder import ScriptedDecoder
from voice.decode import load_call_audio

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "samples" / "call.wav"
RATE = 16000
FINAL = UtteranceOptions(word_timestamps=False)


def test_a_short_final_keeps_the_tracks_language() -> None:
    thai_guess = [("th", 0.62), ("en", 0.21), ("es", 0.05)]
    assert hold_language(thai_guess, "en", 0.9, FINAL) == ("en", 0.21)
    unsure = [("es", 0.7), ("en", 0.25)]
    assert hold_language(unsure, "en", 6.0, FINAL) == ("en", 0.25)  # long but not sure


def test_a_confident_switch_over_enough_speech_moves_it() -> None:
    assert hold_language([("es", 0.93), ("en", 0.04)], "en", 3.5, FINAL) == ("es", 0.93)


def test_the_first_utterance_takes_what_whisper_hears() -> None:
    assert hold_language([("fr", 0.55), ("en", 0.3)], None, 0.8, FINAL) == ("fr", 0.55)
    assert hold_language([("en", 0.4), ("fr", 0.3)], "en", 0.8, FINAL) == ("en", 0.4)


def test_short_endings_of_every_line_stay_english(decoder: UtteranceDecoder) -> None:
    """The last 0.6 s and 1 s of every line of the 8 kHz sample call ("great day.", "speak to
    a manager."), decoded alone as a live final is, after the call was heard in English. With
    no language to hold, whisper base hears several of the caller's as Thai, Russian or Urdu."""
    call = load_call_audio(SAMPLE)
    assert call.sample_rate == RATE
    turns = json.loads((SAMPLE.with_suffix(".json")).read_text())["turns"]
    assert len(turns) >= 10
    for turn in turns:
        channel = call.channels[0 if turn["role"] == "agent" else 1].samples  # agent left
        for length in (0.6, 1.0):
            piece = channel[int((turn["end"] - length) * RATE) : int((turn["end"] + 0.1) * RATE)]
            result = decoder.decode(piece, FINAL, prior_language="en")
            assert result.language == "en", (turn["end"], result.language, result.text)
            assert all(ord(ch) < 0x250 for ch in result.text), result.text  # Latin script only


def test_a_spanish_announcement_switches_an_english_track(
    decoder: UtteranceDecoder, data_dir: Path
) -> None:
    clip = load_call_audio(data_dir / "telephony" / "es_queue-periodic-announce.wav")
    result = decoder.decode(clip.channels[0].samples, FINAL, prior_language="en")
    assert result.language == "es", (result.language_probability, result.text)


def test_a_new_track_borrows_the_calls_language_as_a_weak_prior() -> None:
    """A garbled first "Hi James" that whisper ranks Japanese (0.4) stays English, as the
    agent's track already is; a Spanish caller's first words at 0.6 move the track at once,
    however short. Before, the first final of a track set its language whatever it was."""
    weak = replace(FINAL, switch_probability=0.5, switch_min_s=0.0)
    assert hold_language([("ja", 0.4), ("en", 0.3)], "en", 0.8, weak) == ("en", 0.3)
    assert hold_language([("es", 0.6), ("en", 0.2)], "en", 0.8, weak) == ("es", 0.6)

    speech = load_call_audio(SAMPLE).channels[0].samples[: 8 * RATE]
    decoder = ScriptedDecoder()
    calls = decoder.calls
    live = LiveTranscriber(decoder, track_channels={"agent": 0, "caller": 1})
    assert live.call_language() is None
    live.feed("agent", speech)
    live.feed("agent", np.zeros(RATE, dtype=np.float32))  # the agent's line ends
    assert live.wait_idle(60)
    assert calls and calls[0][0] is None  # the call's first words: nothing to hold to
    assert live.call_language() == "en"
    calls.clear()
    live.feed("caller", speech)
    assert live.finish(timeout=60)
    # the caller's first decode holds the call's language weakly; once whisper was sure of
    # the caller's own, that one holds as usual
    assert calls and calls[0] == ("en", 0.0) and all(prior == "en" for prior, _ in calls), calls
