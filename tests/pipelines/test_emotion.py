"""Fusion of voice and words per turn, customer-only scoring, escalation over a call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from models.sentiment import TextSentiment
from pipelines.emotion import EmotionOptions, escalation, fuse, score_emotions
from pipelines.types import (
    Audio,
    AudioSource,
    CallAudio,
    Emotion,
    ModelInfo,
    Role,
    Samples,
    Segment,
)


@dataclass(frozen=True)
class Prediction:
    label: str
    valence: float
    arousal: float
    confidence: float = 0.8
    probabilities: Mapping[str, float] = field(default_factory=dict)


class FixedVoice:
    """A stand-in acoustic model that isolates the fusion logic (the real one is tested apart)."""

    info = ModelInfo("emotion", "fixed", "0", "")

    def __init__(self, prediction: Prediction) -> None:
        self.prediction = prediction
        self.calls = 0

    def predict_turns(self, turns: Sequence[Samples]) -> list[Prediction]:
        self.calls += len(turns)
        return [self.prediction for _ in turns]


def seg(i: int, text: str, role: Role, start: float) -> Segment:
    return Segment(i, start, start + 2.0, text, (), "en", 0.9, role=role)


def call_of(seconds: float) -> CallAudio:
    samples = np.zeros(int(seconds * 16000), np.float32)
    return CallAudio(AudioSource("x", "wav", 16000, 1, seconds), (Audio(samples, 16000),))


def test_angry_voice_and_angry_words_are_anger() -> None:
    voice = Prediction("anger", -0.6, 0.8, probabilities={"anger": 0.7})
    polarity = TextSentiment().polarity("This is ridiculous, I am furious!")
    emotion = fuse(voice, polarity, EmotionOptions())
    assert emotion.label == "anger" and emotion.valence < -0.5 and emotion.source == "acoustic+text"


def test_friendly_words_in_an_aroused_voice_are_not_anger() -> None:
    voice = Prediction("anger", -0.6, 0.8, probabilities={"anger": 0.8})
    emotion = fuse(voice, TextSentiment().polarity("No, that's all. Thank you."), EmotionOptions())
    assert emotion.label != "anger"


def test_cheerful_words_overrule_a_negative_voice_guess() -> None:
    voice = Prediction("boredom", -0.3, -0.6)
    emotion = fuse(
        voice, TextSentiment().polarity("Thank you so much, that is wonderful!"), EmotionOptions()
    )
    assert emotion.label == "neutral" and emotion.valence > 0


def test_only_customers_are_scored_by_default() -> None:
    voice = FixedVoice(Prediction("neutral", 0.0, 0.0))
    segments = (
        seg(0, "How can I help?", "agent", 0.0),
        seg(1, "My order is late.", "customer", 3.0),
        seg(2, "Hello?", "unknown", 6.0),
    )
    scored = score_emotions(segments, call_of(9.0), voice, TextSentiment(), EmotionOptions())
    assert [s.emotion is not None for s in scored] == [False, True, False]
    assert voice.calls == 1
    allowed = score_emotions(
        segments, call_of(9.0), voice, TextSentiment(), EmotionOptions(score_agents=True)
    )
    assert [s.emotion is not None for s in allowed] == [True, True, False]


def test_escalation_found_when_negativity_rises() -> None:
    lines = [
        "Hi, I have a question about my order.",
        "It was supposed to arrive on Monday.",
        "This is really annoying, nobody answers my emails.",
        "This is ridiculous, I am furious, I want to speak to your manager now!",
        "Terrible service, I hate this, absolutely useless!",
    ]
    segments = tuple(seg(i, text, "customer", 5.0 * i) for i, text in enumerate(lines))
    scored = score_emotions(segments, call_of(30.0), None, TextSentiment(), EmotionOptions())
    found = escalation(scored, EmotionOptions())
    assert found["detected"] and 10.0 <= found["at_s"] <= 20.0


def test_calm_call_has_no_escalation() -> None:
    segments = tuple(
        replace_emotion(seg(i, "fine", "customer", 3.0 * i), valence)
        for i, valence in enumerate([0.2, 0.1, 0.3, 0.2])
    )
    assert not escalation(segments, EmotionOptions())["detected"]


def replace_emotion(segment: Segment, valence: float, label: str = "neutral") -> Segment:
    from dataclasses import replace

    return replace(segment, emotion=Emotion(label, valence, 0.0, 0.9, "text"))


def test_anger_onset_is_an_escalation() -> None:
    labels = ["neutral", "boredom", "anger", "anger", "anger"]
    segments = tuple(
        replace_emotion(seg(i, "...", "customer", 4.0 * i), -0.2, label)
        for i, label in enumerate(labels)
    )
    found = escalation(segments, EmotionOptions())
    assert found["detected"] and found["at_s"] == 8.0 and found["reason"] == "anger"
    always_angry = tuple(replace_emotion(s, -0.6, "anger") for s in segments)
    assert not escalation(always_angry, EmotionOptions())["detected"]
