"""Emotion stage: customer emotion per turn (voice + words) and escalation over the call.

The acoustic model scores how a turn sounds (seven EmoDB classes, arousal, a first guess at
valence); VADER scores what was said (valence, on the English text or its translation). They are
fused per segment into ``Emotion(label, valence, arousal, confidence, source, raw_label)``, where
``label`` is a call-centre state a QA team reads (``angry`` for angry / frustrated, ``upset``,
``neutral``, ``satisfied``) and ``raw_label`` the voice model's own class beside it.

From the voice (``models.emotion.states``): the classes are grouped into the states (anger and
disgust angry; fear and sadness upset; neutral and boredom neutral; happiness satisfied) and a
turn takes the non-neutral state with the most probability mass only if that mass reaches the
state's threshold (``StateThresholds``, chosen by leave-one-speaker-out cross-validation on the
training speakers); weak evidence is neutral. Then the words (``fuse``, cut-offs in
``EmotionOptions``; EmoDB's acted sentences carry no sentiment, so these are set by hand, not
tuned): an angry-sounding voice saying friendly words is not angry; plainly positive words undo
an upset voice; strongly negative fused valence is angry when the voice is aroused, else upset;
clearly positive fused valence is satisfied. Words alone give upset, neutral or satisfied.

Only the customer is scored unless ``score_agents`` is set for the tenant: inferring employees'
emotions at work is prohibited in the EU (AI Act Art. 5(1)(f)). Segments of unknown role are
not scored, since they may be the agent's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from models.emotion.states import NEGATIVE_STATES, StateThresholds, state_masses, strongest_state
from pipelines.core.types import Audio, CallAudio, Emotion, ModelInfo, Samples, Segment

# labels that count as negative emotion: the states, and the model classes that records written
# before the states carried as labels (so stored calls keep their meaning)
NEGATIVE = NEGATIVE_STATES | frozenset({"anger", "disgust", "fear", "sadness", "boredom"})
ANGRY = "angry"


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
    states: StateThresholds = field(default_factory=StateThresholds)  # voice: CV-tuned
    # words (VADER compound polarity, fused valence): hand-set cut-offs, see the module docstring
    word_polarity: float = 0.3  # words alone: at or beyond +-0.3 satisfied / upset
    friendly_words: float = 0.05  # an angry voice with words above this is not angry
    positive_words: float = 0.5  # words this positive undo an upset voice
    negative_valence: float = -0.4  # fused valence at or below: angry (aroused) or upset
    aroused: float = 0.3  # voice arousal above which negative valence is angry
    positive_valence: float = 0.3  # fused valence at or above: satisfied
    escalation_drop: float = 0.35
    escalation_level: float = -0.25
    window_turns: int = 2
    anger_onset_confidence: float = 0.8  # a takeover alert needs strong evidence


def _words_state(polarity: float, options: EmotionOptions) -> str:
    if polarity <= -options.word_polarity:
        return "upset"  # words carry no arousal: angry needs the voice
    return "satisfied" if polarity >= options.word_polarity else "neutral"


def fused_state(
    masses: Mapping[str, float],
    valence: float,
    arousal: float,
    polarity: float,
    options: EmotionOptions,
) -> tuple[str, bool]:
    """The state of a turn from the voice's state masses (``state_masses``), the fused valence,
    the voice's arousal and the words' polarity; and whether the voice backs it (False: the words
    decided)."""
    state, _ = strongest_state(masses, options.states)
    angry_voice = masses["angry"] >= options.states.angry
    if angry_voice and valence < 0 and polarity <= options.friendly_words:
        return ANGRY, True  # an angry-sounding voice, words not friendly
    if state == ANGRY:
        state = "neutral"  # an angry-sounding voice saying friendly words is not angry
    elif state == "upset" and polarity >= options.positive_words:
        state = "neutral"  # plainly positive words: the voice alone misleads
    elif state == "satisfied" and polarity < -options.friendly_words:
        state = "neutral"  # a bright voice with negative words is not satisfied
    if state != "neutral":
        return state, True
    if valence <= options.negative_valence:
        return (ANGRY if arousal > options.aroused else "upset"), False
    if valence >= options.positive_valence:
        return "satisfied", False
    return "neutral", True


def fuse(
    acoustic: AcousticPrediction | None, polarity: float | None, options: EmotionOptions
) -> Emotion:
    """One emotion (a call-centre state, the voice's class beside it) from voice and words."""
    if acoustic is None and polarity is None:
        return Emotion("neutral", 0.0, 0.0, 0.0, "none")
    if acoustic is None:
        assert polarity is not None
        label = _words_state(polarity, options)
        return Emotion(label, round(polarity, 3), 0.0, round(abs(polarity), 3), "text")
    masses = state_masses(acoustic.probabilities)
    if polarity is None:
        state, mass = strongest_state(masses, options.states)
        return Emotion(
            state,
            round(acoustic.valence, 3),
            round(acoustic.arousal, 3),
            round(mass if acoustic.confidence > 0.0 else 0.0, 3),  # no voice: no confidence
            "acoustic",
            acoustic.label,
        )
    valence = options.text_weight * polarity + (1 - options.text_weight) * acoustic.valence
    state, voiced = fused_state(masses, valence, acoustic.arousal, polarity, options)
    evidence = masses[state] if voiced else abs(polarity)
    if acoustic.confidence <= 0.0 and voiced:
        evidence = 0.0  # no voice heard: the voice backs nothing
    agreement = 1.0 - abs(polarity - acoustic.valence) / 2
    confidence = evidence * (0.5 + 0.5 * agreement)
    return Emotion(
        state,
        round(valence, 3),
        round(acoustic.arousal, 3),
        round(confidence, 3),
        "acoustic+text",
        acoustic.label,
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
    below ``escalation_level``; or a customer who did not start angry is ``angry`` in two
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
    angry = [e.label == ANGRY and e.confidence >= options.anger_onset_confidence for e in emotions]
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
