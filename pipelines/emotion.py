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

    def predict_turns(self, turns: Sequence[Samples]) -> Sequence[AcousticPrediction]:
        """Emotions of several turns of one speaker (normalised to that speaker if it can)."""
        ...


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
    anger_onset_confidence: float = 0.8  # a takeover alert needs strong evidence


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
    if anger >= options.anger_probability and valence < 0 and polarity <= 0.05:
        label = "anger"  # an angry-sounding voice saying friendly words is not anger
    elif label in NEGATIVE and (polarity >= 0.5 or (label == "anger" and polarity > 0.05)):
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
    """Segments with ``emotion`` set on the customer's turns (and agents' if allowed).

    The voice model sees all turns of one speaker together, so it can judge each turn against
    that speaker's own manner of speaking.
    """
    scored = [
        s for s in segments if s.role == "customer" or (options.score_agents and s.role == "agent")
    ]
    voice: dict[int, AcousticPrediction] = {}
    if acoustic is not None:
        for speaker in sorted({s.speaker or "" for s in scored}):
            turns = [
                s
                for s in scored
                if (s.speaker or "") == speaker and s.end - s.start >= options.min_turn_s
            ]
            predictions = acoustic.predict_turns([_turn_samples(call, s) for s in turns])
            voice.update(zip((s.id for s in turns), predictions, strict=True))
    wanted = {s.id for s in scored}
    out = []
    for segment in segments:
        if segment.id not in wanted:
            out.append(segment)
            continue
        english = (
            segment.translation.text
            if segment.translation
            else (segment.text if segment.language == "en" else None)
        )
        polarity = text.polarity(english) if text is not None and english else None
        prediction = voice.get(segment.id)
        if prediction is None and polarity is None:
            out.append(segment)  # nothing to go on: no emotion rather than a made-up neutral
            continue
        out.append(replace(segment, emotion=fuse(prediction, polarity, options)))
    return tuple(out)


def escalation(segments: Sequence[Segment], options: EmotionOptions) -> dict[str, Any]:
    """Does the customer's negativity rise over the call, and when did it cross the line?

    Two signs, whichever comes first: the smoothed valence falls by ``escalation_drop`` to
    below ``escalation_level``; or a customer who did not start angry is angry in two
    consecutive turns, each with confidence at least ``anger_onset_confidence``.
    """
    scored = [s for s in segments if s.role == "customer" and s.emotion is not None]
    result: dict[str, Any] = {"detected": False, "at_s": None, "turns": len(scored)}
    if len(scored) < 2:
        return result
    emotions = [s.emotion for s in scored if s.emotion is not None]
    valence = np.array([e.valence for e in emotions])
    window = max(1, min(options.window_turns, len(valence)))
    smooth = np.convolve(valence, np.ones(window) / window, mode="valid")
    result.update(from_valence=round(float(smooth[0]), 3), to_valence=round(float(smooth[-1]), 3))
    found: list[tuple[int, str]] = []
    for index in range(1, len(smooth)):
        value = float(smooth[index])
        if value <= options.escalation_level and smooth[0] - value >= options.escalation_drop:
            found.append((index + window - 1, "valence"))
            break
    angry = [
        e.label == "anger" and e.confidence >= options.anger_onset_confidence for e in emotions
    ]
    for index in range(1, len(angry) - 1):
        if angry[index] and angry[index + 1] and not any(angry[:index]):
            found.append((index, "anger"))
            break
    if found:
        index, reason = min(found)
        result.update(
            detected=True, at_s=scored[index].start, segment_id=scored[index].id, reason=reason
        )
    return result
