"""Speech the first decode left out is decoded again, stretch by stretch."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np

from models.asr import DecodingOptions, Recognition, RecognizedSegment, SpeechRecognizer
from pipelines.core.types import Audio, Samples, SpeechRegion
from pipelines.transcribe.recovery import RecoveryOptions, missed_stretches, recover_missed_speech


def segment(start: float, end: float, language: str, text: str) -> RecognizedSegment:
    return RecognizedSegment(start, end, text, (), language, -0.3, 0.01, 1.2)


class StretchRecognizer:
    """Isolates the pass: language probabilities per call, a decode in the language asked."""

    multilingual = True

    def __init__(self, sounds: list[dict[str, float]], runaway_from_s: float = 1e9) -> None:
        self.sounds = sounds
        self.asked: list[tuple[str | None, str | None, bool]] = []
        self.budgets: list[int | None] = []
        self.runaway_from_s = runaway_from_s  # stretches this long loop to the budget

    def language_probabilities(self, samples: Samples) -> dict[str, float]:
        return self.sounds.pop(0)

    def recognize(
        self,
        samples: Samples,
        options: DecodingOptions,
        progress: Callable[[float], None] | None = None,
    ) -> Recognition:
        self.asked.append((options.language, options.hotwords, options.vad_filter))
        self.budgets.append(options.max_new_tokens)
        length = len(samples) / 16000
        part = segment(0.3, length - 0.3, options.language or "", " bonjour")
        runaway = length >= self.runaway_from_s
        return Recognition((part,), options.language or "", 1.0, length, runaway=runaway)


def test_missed_stretches_are_speech_no_segment_covers() -> None:
    speech = (SpeechRegion(0, 5), SpeechRegion(10, 14), SpeechRegion(20, 20.5))
    segments = (segment(0, 5, "en", "hello"), segment(10, 11, "en", "so"))
    stretches = missed_stretches(speech, segments, RecoveryOptions())
    assert stretches == [(11, 14)]  # 20-20.5 s is too short to be a turn


def test_a_lost_callers_turns_are_decoded_in_the_language_they_sound_like() -> None:
    channel = Audio(np.zeros(16000 * 40, np.float32), 16000, 1)
    speech = (SpeechRegion(5, 9), SpeechRegion(15, 22), SpeechRegion(30, 33))
    sounds = [{"fr": 0.4, "en": 0.1}, {"th": 0.6, "fr": 0.3}, {"fr": 0.5, "es": 0.2}]
    recognizer = StretchRecognizer(sounds)
    found = recover_missed_speech(
        (),
        channel,
        speech,
        cast(SpeechRecognizer, recognizer),
        DecodingOptions(hotwords="Alder Bank"),
        RecoveryOptions(),
    )
    assert [round(s.start, 1) for s in found] == [5.0, 15.0, 30.0]
    # French holds most of the channel: the middle stretch is not decoded as Thai
    assert [s.language for s in found] == ["fr", "fr", "fr"]
    assert recognizer.asked == [("fr", None, False)] * 3  # alone: no VAD, no hotwords


def test_nothing_missed_decodes_nothing() -> None:
    channel = Audio(np.zeros(16000 * 10, np.float32), 16000, 1)
    recognizer = StretchRecognizer([])
    found = recover_missed_speech(
        (segment(1, 6, "en", "hello there"),),
        channel,
        (SpeechRegion(1, 6),),
        cast(SpeechRecognizer, recognizer),
        DecodingOptions(),
        RecoveryOptions(),
    )
    assert found == () and recognizer.asked == []


def test_a_stretch_whose_decode_runs_away_stays_a_gap() -> None:
    """Each stretch is decoded within a token budget that grows with its length; a decode that
    reaches it (a loop) is not taken for speech."""
    channel = Audio(np.zeros(16000 * 40, np.float32), 16000, 1)
    speech = (SpeechRegion(5, 7), SpeechRegion(15, 25))
    recognizer = StretchRecognizer([{"en": 0.9}, {"en": 0.9}], runaway_from_s=8.0)
    found = recover_missed_speech(
        (),
        channel,
        speech,
        cast(SpeechRecognizer, recognizer),
        DecodingOptions(),
        RecoveryOptions(),
    )
    assert [round(s.start, 1) for s in found] == [5.0]  # the 10 s stretch ran away
    short, long = sorted(b for b in recognizer.budgets if b is not None)
    assert len(recognizer.budgets) == 2 and short < long < 448
