"""Speech the first decode left out is decoded again, stretch by stretch."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np

from models.asr import DecodingOptions, Recognition, RecognizedSegment, SpeechRecognizer
from pipelines.core.types import Audio, Samples, SpeechRegion
from pipelines.transcribe.recovery import (
    RecoveryOptions,
    leading_language,
    missed_stretches,
    recover_missed_speech,
)


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
        self.events: list[str] = []  # "probe N" / "decode N": N the clip's whole seconds

    def language_probabilities(self, samples: Samples) -> dict[str, float]:
        self.events.append(f"probe {len(samples) // 16000}")
        return self.sounds.pop(0)

    def recognize(
        self,
        samples: Samples,
        options: DecodingOptions,
        progress: Callable[[float], None] | None = None,
    ) -> Recognition:
        self.events.append(f"decode {len(samples) // 16000}")
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


def test_the_leading_language_is_the_dominant_one_whatever_the_stretches_sound_like() -> None:
    """Where ``leading_language`` names a language, adding any probabilities the stretches could
    have (at most their length over all languages) leaves it the heaviest."""
    rng = np.random.default_rng(7)
    languages = ["en", "fr", "es", "th"]
    named = 0
    for _ in range(2000):
        seconds = {g: float(rng.uniform(0, 60)) for g in rng.permutation(languages)[:3]}
        lengths = rng.uniform(0.8, 6.0, int(rng.integers(1, 6)))
        leader = leading_language(seconds, float(lengths.sum()))
        if leader is None:
            continue
        named += 1
        weight = dict(seconds)
        for length in lengths:
            probabilities = rng.dirichlet(np.ones(len(languages)))
            for language, probability in zip(languages, probabilities, strict=True):
                weight[language] = weight.get(language, 0.0) + float(probability) * length
        assert max(weight, key=lambda g: weight[g]) == leader
    assert named > 100
    assert leading_language({}, 1.0) is None
    assert leading_language({"en": 10.0}, 9.0) == "en"
    assert leading_language({"en": 10.0, "fr": 2.0}, 8.0) is None  # a tie is possible


def test_a_clear_leader_lets_each_stretch_be_probed_just_before_its_decode() -> None:
    """With the channel's language settled by its segments, each stretch is probed right before
    it is decoded (its encoder pass still cached), last first, in the language it would have
    got had every stretch been probed first."""
    channel = Audio(np.zeros(16000 * 200, np.float32), 16000, 1)
    segments = (segment(0, 100, "en", "hello"),)
    speech = (SpeechRegion(0, 100), SpeechRegion(110, 113), SpeechRegion(120, 124))
    # probed last stretch first: it sounds Thai (unsure), the other French (sure)
    recognizer = StretchRecognizer([{"th": 0.6, "en": 0.3}, {"fr": 0.8, "en": 0.1}])
    found = recover_missed_speech(
        segments,
        channel,
        speech,
        cast(SpeechRecognizer, recognizer),
        DecodingOptions(),
        RecoveryOptions(),
    )
    assert recognizer.events == ["probe 4", "decode 4", "probe 3", "decode 3"]
    assert [(round(s.start), s.language) for s in found] == [(110, "fr"), (120, "en")]
