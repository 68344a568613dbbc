"""Emotion stage: customer emotion per turn (voice + words) and escalation over the call.

The acoustic model scores how a turn sounds (arousal, and a first guess at valence); VADER
scores what was said (valence, on the English text or its translation). They are fused per
segment into ``Emotion(label, valence, arousal, confidence, source)``.

Only the customer is scored unless ``score_agents`` is set for the tenant: inferring employees'
emotions at work is prohibited in the EU (AI Act Art. 5(1)(f)). Segments of unknown role are
not scored, since they may be the agent's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np

from pipelines.types import Audio, CallAudio, Emotion, ModelInfo, Samples, Segment

NEGATIVE = frozenset({"anger", "disgust", "fear", "sadness", "boredom"})


class AcousticPrediction(Protocol):
    @property
    def label(self) -> str: ...
    @property
    def probabilities(self) -> Mapping[str, float]: ...
    @property
    def arousal(self) -> float: ...
    @property
    def valence(self) -> float: ...
    @property
    def confidence(self) -> float: ...


class AcousticEmotionModel(Protocol):
    @property
    def info(self) -> ModelInfo: ...

    def predict(self, samples: Samples) -> AcousticPrediction: ...


class TextPolarity(Protocol):
    @property
    def info(self) -> ModelInfo: ...

    def polarity(self, text: str) -> float: ...


@dataclass(frozen=True, slots=True)
class EmotionOptions:
    score_agents: bool = False
    text_weight: float = 0.6  # valence: words say more than the voice
    min_turn_s: float = 0.6
    anger_probability: float = 0.45
    escalation_drop: float = 0.35
    escalation_level: float = -0.25
    window_turns: int = 2


def fuse(
    acoustic: AcousticPrediction | None, polarity: float | None, options: EmotionOptions
) -> Emotion:
    """One emotion from the voice and the words of a turn."""
    if acoustic is None and polarity is None:
        return Emotion("neutral", 0.0, 0.0, 0.0, "none")
    if acoustic is None:
        assert polarity is not None
        label = "negative" if polarity <= -0.3 else "positive" if polarity >= 0.3 else "neutral"
        return Emotion(label, round(polarity, 3), 0.0, round(abs(polarity), 3), "text")
    if polarity is None:
        return Emotion(
            acoustic.label,
            round(acoustic.valence, 3),
            round(acoustic.arousal, 3),
            round(acoustic.confidence, 3),
            "acoustic",
        )
    valence = options.text_weight * polarity + (1 - options.text_weight) * acoustic.valence
    label = acoustic.label
    anger = float(acoustic.probabilities.get("anger", 0.0))
    if anger >= options.anger_probability and valence < 0:
        label = "anger"
    elif label in NEGATIVE and polarity >= 0.5:
        label = "neutral"  # the words are plainly positive: the voice alone misleads
    elif label not in NEGATIVE and valence <= -0.4:
        label = "anger" if acoustic.arousal > 0.3 else "sadness"
    agreement = 1.0 - abs(polarity - acoustic.valence) / 2
    confidence = acoustic.confidence * (0.5 + 0.5 * agreement)
    return Emotion(
        label, round(valence, 3), round(acoustic.arousal, 3), round(confidence, 3), "acoustic+text"
    )


def _turn_samples(call: CallAudio, segment: Segment) -> Samples:
    channel: Audio = call.channels[min(segment.channel, len(call.channels) - 1)]
    start = int(segment.start * channel.sample_rate)
    return channel.samples[start : int(segment.end * channel.sample_rate)]


def score_emotions(
    segments: Sequence[Segment],
    call: CallAudio,
    acoustic: AcousticEmotionModel | None,
    text: TextPolarity | None,
    options: EmotionOptions,
) -> tuple[Segment, ...]:
    """Segments with ``emotion`` set on the customer's turns (and agents' if allowed)."""
    out = []
    for segment in segments:
        scored = segment.role == "customer" or (options.score_agents and segment.role == "agent")
        if not scored:
            out.append(segment)
            continue
        prediction = None
        if acoustic is not None and segment.end - segment.start >= options.min_turn_s:
            prediction = acoustic.predict(_turn_samples(call, segment))
        english = (
            segment.translation.text
            if segment.translation
            else (segment.text if segment.language == "en" else None)
        )
        polarity = text.polarity(english) if text is not None and english else None
        if prediction is None and polarity is None:
            out.append(segment)  # nothing to go on: no emotion rather than a made-up neutral
            continue
        out.append(replace(segment, emotion=fuse(prediction, polarity, options)))
    return tuple(out)


def escalation(segments: Sequence[Segment], options: EmotionOptions) -> dict[str, Any]:
    """Does the customer's negativity rise over the call, and when did it cross the line?"""
    scored = [s for s in segments if s.role == "customer" and s.emotion is not None]
    if len(scored) < 2:
        return {"detected": False, "at_s": None, "turns": len(scored)}
    valence = np.array([s.emotion.valence for s in scored if s.emotion is not None])
    window = max(1, options.window_turns)
    smooth = np.convolve(valence, np.ones(window) / window, mode="valid")
    start = float(smooth[0])
    for index in range(1, len(smooth)):
        value = float(smooth[index])
        if value <= options.escalation_level and start - value >= options.escalation_drop:
            at = scored[index + window - 1]
            return {
                "detected": True,
                "at_s": at.start,
                "segment_id": at.id,
                "from_valence": round(start, 3),
                "to_valence": round(value, 3),
                "turns": len(scored),
            }
    return {
        "detected": False,
        "at_s": None,
        "turns": len(scored),
        "from_valence": round(start, 3),
        "to_valence": round(float(smooth[-1]), 3),
    }
