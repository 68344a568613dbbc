"""Speech emotion from acoustic features: two linear heads trained by the project on EmoDB.

The weights are package data (``models/emotion/weights/emotion-emodb-v2.json``, plain JSON,
numpy-only inference; ``python -m models.emotion.train`` rebuilds them). Two heads share the
feature set of ``models.emotion.features``:

* ``utterance``: standardised features of one turn -> linear softmax head (the posterior of a
  shrinkage LDA). Works on any single turn.
* ``speaker``: each feature first z-scored over *the same speaker's* turns (per call, per
  speaker), then standardised -> linear softmax head. It is more accurate but needs enough turns
  of that speaker to estimate their baseline (``min_turns``, chosen by cross-validation on the
  training speakers); with fewer turns ``predict_turns`` falls back to the utterance head. Its
  baseline assumes the turns are not all in one emotion: a call that is angry throughout looks
  "normal" for that speaker.

Each head may carry a binary anger-vs-rest head on the same (normalised) features, a shrinkage
LDA too, whose anger probability replaces the seven-class one (the other classes are rescaled to
fill the rest). Training adopts it only where leave-one-speaker-out cross-validation on the
training speakers shows a higher anger-vs-rest F1 at no loss of accuracy.

Arousal and valence are the probability-weighted mean of a fixed per-class mapping (``AFFECT``,
Russell-style circumplex positions of the seven EmoDB classes).

A turn with no voiced speech (silence, noise, a click: fewer than three pitch frames) carries no
evidence: it gets a uniform distribution, label ``neutral``, arousal = valence = confidence = 0
and ``normalization="none"``, and it is left out of its speaker's baseline.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from models.emotion.features import (
    FEATURE_NAMES,
    FEATURE_VERSION,
    SAMPLE_RATE,
    extract_features,
    has_voice,
)
from pipelines.errors import ModelUnavailableError
from pipelines.types import Emotion, ModelInfo

logger = logging.getLogger(__name__)

MODEL_NAME = "callqa-emotion-emodb"
MODEL_VERSION = "2"
WEIGHTS_FILE = "emotion-emodb-v2.json"
WEIGHTS_FORMAT = "callqa-emotion-linear/2"
ANGER = "anger"
REBUILD = "python -m models.emotion.train"

Normalization = Literal["utterance", "speaker", "none"]
Matrix = npt.NDArray[np.float64]

AFFECT: Mapping[str, tuple[float, float]] = {
    # class: (valence, arousal), both in [-1, 1]
    "anger": (-0.6, 0.8),
    "boredom": (-0.3, -0.6),
    "disgust": (-0.6, 0.3),
    "fear": (-0.6, 0.6),
    "happiness": (0.7, 0.5),
    "neutral": (0.0, 0.0),
    "sadness": (-0.6, -0.5),
}


@dataclass(frozen=True, slots=True)
class EmotionPrediction:
    """Class distribution of one turn, with arousal/valence derived from it."""

    label: str
    probabilities: dict[str, float]
    arousal: float
    valence: float
    confidence: float
    normalization: Normalization = "utterance"

    def to_emotion(self, source: str = "acoustic") -> Emotion:
        return Emotion(self.label, self.valence, self.arousal, self.confidence, source)


@dataclass(frozen=True, slots=True, eq=False)
class LinearHead:
    """Standardisation followed by a linear softmax (here: a shrinkage LDA's class posterior)."""

    mean: Matrix
    scale: Matrix
    coef: Matrix
    intercept: Matrix

    def probabilities(self, features: Matrix) -> Matrix:
        z = (np.atleast_2d(features) - self.mean) / self.scale
        logits = z @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        out: Matrix = exp / exp.sum(axis=1, keepdims=True)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept.tolist(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], n_features: int, n_classes: int) -> LinearHead:
        head = cls(
            mean=np.asarray(data["mean"], dtype=np.float64),
            scale=np.asarray(data["scale"], dtype=np.float64),
            coef=np.asarray(data["coef"], dtype=np.float64),
            intercept=np.asarray(data["intercept"], dtype=np.float64),
        )
        shapes = (head.mean.shape, head.scale.shape, head.coef.shape, head.intercept.shape)
        expected = ((n_features,), (n_features,), (n_classes, n_features), (n_classes,))
        if shapes != expected or not all(
            np.all(np.isfinite(a)) for a in (head.mean, head.scale, head.coef, head.intercept)
        ):
            raise ValueError(f"head shapes {shapes} != {expected} or non-finite values")
        if np.any(head.scale <= 0):
            raise ValueError("non-positive feature scale")
        return head


def with_anger(probs: Matrix, anger: Matrix, anger_index: int) -> Matrix:
    """Class posteriors whose anger column is ``anger``; the others rescaled to sum to the rest."""
    p = np.atleast_2d(probs)
    rest = np.maximum(1.0 - p[:, anger_index], 1e-12)
    out: Matrix = p * ((1.0 - anger) / rest)[:, None]
    out[:, anger_index] = anger
    return out


def speaker_normalize(features: Matrix, floor: Matrix) -> Matrix:
    """Z-score each feature over one speaker's turns (rows); std floored per feature."""
    x = np.atleast_2d(features)
    out: Matrix = (x - x.mean(axis=0)) / np.maximum(x.std(axis=0), floor)
    return out


@dataclass(frozen=True, slots=True, eq=False)
class EmotionWeights:
    """The parsed weights file."""

    classes: tuple[str, ...]
    utterance: LinearHead
    speaker: LinearHead
    utterance_anger: LinearHead | None
    speaker_anger: LinearHead | None
    std_floor: Matrix
    min_turns: int
    sha256: str
    meta: Mapping[str, Any] = field(default_factory=dict)


def default_weights_path() -> Path:
    return Path(str(importlib.resources.files("models.emotion").joinpath("weights", WEIGHTS_FILE)))


@functools.lru_cache(maxsize=4)
def load_weights(path: Path) -> EmotionWeights:
    """Parse and check a weights file; any problem is a ``ModelUnavailableError``."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ModelUnavailableError(
            MODEL_NAME, f"{path} is missing: {REBUILD} rebuilds it"
        ) from exc
    try:
        data = json.loads(raw)
        if data.get("format") != WEIGHTS_FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {WEIGHTS_FORMAT!r}")
        if data["feature_version"] != FEATURE_VERSION or tuple(data["features"]) != FEATURE_NAMES:
            raise ValueError(f"features {data['feature_version']!r} != {FEATURE_VERSION!r}")
        classes = tuple(str(c) for c in data["classes"])
        if set(classes) - set(AFFECT) or "neutral" not in classes:
            raise ValueError(f"classes {classes} are not a subset of {sorted(AFFECT)} with neutral")
        n_feat, n_cls = len(FEATURE_NAMES), len(classes)
        heads = data["heads"]
        norm = data["speaker_normalization"]
        floor = np.asarray(norm["std_floor"], dtype=np.float64)
        if floor.shape != (n_feat,) or np.any(floor <= 0):
            raise ValueError("bad speaker std floor")
        weights = EmotionWeights(
            classes=classes,
            utterance=LinearHead.from_json(heads["utterance"], n_feat, n_cls),
            speaker=LinearHead.from_json(heads["speaker"], n_feat, n_cls),
            utterance_anger=_anger_head(heads, "utterance", n_feat, classes),
            speaker_anger=_anger_head(heads, "speaker", n_feat, classes),
            std_floor=floor,
            min_turns=int(norm["min_turns"]),
            sha256=hashlib.sha256(raw).hexdigest(),
            meta={k: data[k] for k in ("train", "cv") if k in data},
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelUnavailableError(
            MODEL_NAME, f"{path} is corrupt ({exc}): {REBUILD} rebuilds it"
        ) from exc
    logger.info("loaded emotion weights %s (sha256 %s)", path, weights.sha256[:12])
    return weights


def _anger_head(
    heads: Mapping[str, Any], name: str, n_features: int, classes: tuple[str, ...]
) -> LinearHead | None:
    """The optional binary head ``<name>_anger`` (columns: rest, anger); null when not adopted."""
    data = heads[f"{name}_anger"]
    if data is None:
        return None
    if ANGER not in classes:
        raise ValueError("an anger head needs the anger class")
    return LinearHead.from_json(data, n_features, 2)


class SpeechEmotionModel:
    """Seven-class acoustic emotion (EmoDB classes) for 16 kHz mono turns of any length."""

    def __init__(self, weights_path: Path | None = None) -> None:
        self._path = weights_path if weights_path is not None else default_weights_path()
        self._weights = load_weights(self._path)

    @property
    def info(self) -> ModelInfo:
        return ModelInfo("emotion", MODEL_NAME, MODEL_VERSION, self._weights.sha256)

    @property
    def classes(self) -> tuple[str, ...]:
        return self._weights.classes

    @property
    def cross_validation(self) -> Mapping[str, Any]:
        """Leave-one-speaker-out figures on the training speakers, as stored with the weights."""
        cv: Mapping[str, Any] = self._weights.meta.get("cv", {})
        return cv

    @property
    def min_turns(self) -> int:
        """Fewest turns of one speaker for which ``predict_turns`` uses speaker normalisation."""
        return self._weights.min_turns

    def predict(self, samples: npt.ArrayLike, sample_rate: int = SAMPLE_RATE) -> EmotionPrediction:
        """Emotion of one turn on its own (utterance head)."""
        features = extract_features(samples, sample_rate)
        return self.predict_features(features[None, :], "utterance")[0]

    def predict_turns(
        self, turns: Sequence[npt.ArrayLike], sample_rate: int = SAMPLE_RATE
    ) -> list[EmotionPrediction]:
        """Emotions of several turns of *one* speaker (e.g. a caller's turns in one call)."""
        if not turns:
            return []
        features = np.stack([extract_features(t, sample_rate) for t in turns])
        voiced = int(has_voice(features).sum())
        mode: Normalization = "speaker" if voiced >= self.min_turns else "utterance"
        return self.predict_features(features, mode)

    def predict_features(
        self, features: Matrix, normalization: Normalization = "utterance"
    ) -> list[EmotionPrediction]:
        """Predictions for rows of ``extract_features`` vectors; ``speaker``: all one speaker."""
        w = self._weights
        x = np.atleast_2d(features)
        voiced = has_voice(x)
        out = [self._no_speech()] * len(x)
        if not voiced.any():
            return out
        if normalization == "speaker":
            z, head, anger = speaker_normalize(x[voiced], w.std_floor), w.speaker, w.speaker_anger
        else:
            normalization = "utterance"
            z, head, anger = x[voiced], w.utterance, w.utterance_anger
        probs = head.probabilities(z)
        if anger is not None:
            probs = with_anger(probs, anger.probabilities(z)[:, 1], w.classes.index(ANGER))
        for row, p in zip(np.flatnonzero(voiced), probs, strict=True):
            out[row] = self._prediction(p, normalization)
        return out

    def _no_speech(self) -> EmotionPrediction:
        classes = self._weights.classes
        return EmotionPrediction(
            label="neutral",
            probabilities={c: 1.0 / len(classes) for c in classes},
            arousal=0.0,
            valence=0.0,
            confidence=0.0,
            normalization="none",
        )

    def _prediction(self, probs: Matrix, normalization: Normalization) -> EmotionPrediction:
        classes = self._weights.classes
        best = int(np.argmax(probs))
        valence = sum(float(p) * AFFECT[c][0] for c, p in zip(classes, probs, strict=True))
        arousal = sum(float(p) * AFFECT[c][1] for c, p in zip(classes, probs, strict=True))
        return EmotionPrediction(
            label=classes[best],
            probabilities={c: float(p) for c, p in zip(classes, probs, strict=True)},
            arousal=arousal,
            valence=valence,
            confidence=float(probs[best]),
            normalization=normalization,
        )
