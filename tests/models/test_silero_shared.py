"""Silero's speech probabilities computed once per channel: every VAD user of a channel gets
exactly what a fresh run of the model gives, and the model runs once for it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.vad import (
    RememberedSpeechProbabilities,
    SileroVad,
    share_speech_probabilities,
    silero_model_path,
)
from pipelines.core.types import Audio
from voice.decode import load_call_audio

CALLS = Path(__file__).resolve().parents[1] / "data" / "calls"


def first_channel() -> Audio:
    call = load_call_audio(next(iter(sorted(CALLS.glob("*.wav")))))
    return call.channels[0]


def test_kept_probabilities_equal_a_fresh_run_and_survive_the_model_writing_its_input() -> None:
    import faster_whisper.vad as whisper_vad

    channel = first_channel()
    padded = np.pad(channel.samples, (0, 512 - len(channel.samples) % 512))
    fresh = whisper_vad.SileroVADModel(str(silero_model_path()))
    expected = fresh(padded.copy())
    remembered = RememberedSpeechProbabilities(fresh)
    first = remembered(padded.copy())
    again = remembered(padded.copy())
    assert remembered.runs == 1
    np.testing.assert_array_equal(first, expected)
    np.testing.assert_array_equal(again, expected)
    changed = padded.copy()
    changed[1000] += 0.01
    remembered(changed)
    assert remembered.runs == 2


def test_capacity_drops_the_least_recently_used() -> None:
    calls: list[int] = []

    def model(audio: np.ndarray, num_samples: int = 512, context: int = 64) -> np.ndarray:
        calls.append(int(audio[0]))
        return np.full((len(audio) // num_samples, 1), audio[0], dtype=np.float32)

    remembered = RememberedSpeechProbabilities(model, capacity=2)
    arrays = [np.full(1024, n, dtype=np.float32) for n in range(3)]
    for array in (*arrays, arrays[2], arrays[0]):
        remembered(array.copy())
    assert calls == [0, 1, 2, 0]


def test_every_vad_user_of_a_channel_shares_one_model_run() -> None:
    shared = share_speech_probabilities()
    channel = first_channel()
    tweaked = Audio(channel.samples + np.float32(1e-4), channel.sample_rate, channel.channel)
    before = shared.runs
    loose = SileroVad().regions(tweaked)
    strict = SileroVad(threshold=0.7, min_silence_s=0.6).regions(tweaked)
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    whisper_own = get_speech_timestamps(tweaked.samples, VadOptions(min_silence_duration_ms=500))
    assert shared.runs == before + 1
    assert loose and strict and whisper_own
    assert len(strict) <= len(loose)
