"""Fusion of voice and words per turn into call-centre states, customer-only scoring,
escalation over a call, and a real caller's flat question."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from models.emotion.model import AFFECT
from models.emotion.states import STATES, StateThresholds
from models.sentiment import TextSentiment
from pipelines.analytics.emotion import EmotionOptions, escalation, fuse, score_emotions
from pipelines.core.types import (
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


def voice(**probabilities: float) -> Prediction:
    """A voice prediction with these class probabilities (affect and label derived as the
    model derives them)."""
    label = max(probabilities, key=lambda c: probabilities[c])
    valence = sum(p * AFFECT[c][0] for c, p in probabilities.items())
    arousal = sum(p * AFFECT[c][1] for c, p in probabilities.items())
    return Prediction(label, valence, arousal, probabilities[label], probabilities)


OPTIONS = EmotionOptions(states=StateThresholds(angry=0.6, upset=0.55, satisfied=0.7))


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


def test_angry_voice_and_angry_words_are_angry() -> None:
    angry = Prediction("anger", -0.6, 0.8, probabilities={"anger": 0.7})
    polarity = TextSentiment().polarity("This is ridiculous, I am furious!")
    emotion = fuse(angry, polarity, EmotionOptions())
    assert (emotion.label, emotion.raw_label) == ("angry", "anger")
    assert emotion.valence < -0.5 and emotion.source == "acoustic+text"


def test_friendly_words_in_an_aroused_voice_are_not_angry() -> None:
    angry = Prediction("anger", -0.6, 0.8, probabilities={"anger": 0.8})
    emotion = fuse(angry, TextSentiment().polarity("No, that's all. Thank you."), EmotionOptions())
    assert emotion.label == "neutral" and emotion.raw_label == "anger"


def test_cheerful_words_in_a_flat_voice_are_satisfied() -> None:
    flat = Prediction("boredom", -0.3, -0.6, probabilities={"boredom": 0.8, "neutral": 0.2})
    emotion = fuse(
        flat, TextSentiment().polarity("Thank you so much, that is wonderful!"), EmotionOptions()
    )
    assert (emotion.label, emotion.raw_label) == ("satisfied", "boredom") and emotion.valence > 0


@pytest.mark.parametrize(
    ("probabilities", "polarity", "state"),
    [
        ({"anger": 0.9, "neutral": 0.1}, 0.0, "angry"),  # plain words, angry voice
        ({"anger": 0.45, "disgust": 0.2, "neutral": 0.35}, -0.2, "angry"),  # classes pooled
        ({"anger": 0.4, "happiness": 0.3, "neutral": 0.3}, 0.0, "neutral"),  # weak evidence
        ({"anger": 0.9, "neutral": 0.1}, 0.4, "neutral"),  # friendly words
        ({"boredom": 1.0}, 0.0, "neutral"),  # flat voice: never "boredom"
        ({"sadness": 0.7, "neutral": 0.3}, 0.0, "upset"),
        ({"sadness": 0.7, "neutral": 0.3}, 0.6, "neutral"),  # plainly positive words
        ({"fear": 0.3, "sadness": 0.2, "neutral": 0.5}, -0.3, "neutral"),  # upset too weak
        ({"happiness": 0.9, "neutral": 0.1}, 0.3, "satisfied"),
        ({"happiness": 0.9, "neutral": 0.1}, -0.4, "neutral"),  # bright voice, negative words
        ({"happiness": 0.5, "anger": 0.5}, -0.1, "neutral"),  # neither reaches its threshold
        ({"neutral": 0.9, "anger": 0.1}, -0.9, "upset"),  # harsh words, calm voice
        ({"neutral": 0.5, "anger": 0.5}, -0.9, "angry"),  # harsh words, aroused voice
        ({"neutral": 1.0}, 0.8, "satisfied"),  # warm words
        ({"neutral": 1.0}, 0.4, "neutral"),  # "Thank you." is not yet satisfied
    ],
)
def test_states_from_fixed_probabilities_and_polarity(
    probabilities: dict[str, float], polarity: float, state: str
) -> None:
    prediction = voice(**probabilities)
    emotion = fuse(prediction, polarity, OPTIONS)
    assert (emotion.label, emotion.raw_label) == (state, prediction.label)
    assert emotion.label in STATES and 0.0 <= emotion.confidence <= 1.0


def test_voice_alone_and_words_alone() -> None:
    angry = fuse(voice(anger=0.8, neutral=0.2), None, OPTIONS)
    assert (angry.label, angry.raw_label, angry.source) == ("angry", "anger", "acoustic")
    assert angry.confidence == pytest.approx(0.8)
    weak = fuse(voice(anger=0.5, neutral=0.3, happiness=0.2), None, OPTIONS)
    assert (weak.label, weak.raw_label) == ("neutral", "anger")
    silent = Prediction("neutral", 0.0, 0.0, 0.0, {c: 1 / 7 for c in AFFECT})
    assert fuse(silent, None, OPTIONS) == Emotion("neutral", 0.0, 0.0, 0.0, "acoustic", "neutral")
    assert fuse(silent, 0.0, OPTIONS).confidence == 0.0
    words = [fuse(None, p, OPTIONS) for p in (-0.8, -0.1, 0.5)]
    assert [(e.label, e.raw_label, e.source) for e in words] == [
        ("upset", None, "text"),
        ("neutral", None, "text"),
        ("satisfied", None, "text"),
    ]


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
    return replace(segment, emotion=Emotion(label, valence, 0.0, 0.9, "text"))


def test_anger_onset_is_an_escalation() -> None:
    labels = ["neutral", "neutral", "angry", "angry", "angry"]
    segments = tuple(
        replace_emotion(seg(i, "...", "customer", 4.0 * i), -0.2, label)
        for i, label in enumerate(labels)
    )
    found = escalation(segments, EmotionOptions())
    assert found["detected"] and found["at_s"] == 8.0 and found["reason"] == "anger"
    always_angry = tuple(replace_emotion(s, -0.6, "angry") for s in segments)
    assert not escalation(always_angry, EmotionOptions())["detected"]


def test_a_neutral_short_question_is_neutral(data_dir: Path) -> None:
    """ "Hello? Hello, is anyone there?" (a synthetic caller, tests/data/calls): neutral, whether
    the voice model hears it with the caller's other turns (a recorded call) or alone (live)."""
    from models.emotion.model import SpeechEmotionModel

    label = json.loads((data_dir / "calls" / "missing-lines-cancel.json").read_text())
    samples, rate = sf.read(data_dir / "calls" / "missing-lines-cancel.wav", dtype="float32")
    customer = samples[:, 1]  # stereo-agent-left: the caller is on the right
    turns = [t for t in label["turns"] if t["role"] == "customer"]
    assert turns[0]["text"] == "Hello? Hello, is anyone there?"
    segments = tuple(
        replace(seg(i, t["text"], "customer", t["start"]), end=t["end"])
        for i, t in enumerate(turns)
    )
    call = CallAudio(
        AudioSource("x", "wav", rate, 1, len(customer) / rate), (Audio(customer, rate),)
    )
    model, words = SpeechEmotionModel(), TextSentiment()
    batch = score_emotions(segments, call, model, words, EmotionOptions())[0].emotion
    live = score_emotions(segments[:1], call, model, words, EmotionOptions())[0].emotion
    for emotion in (batch, live):
        assert emotion is not None and emotion.label == "neutral", emotion
        assert emotion.raw_label in AFFECT and emotion.source == "acoustic+text"
