"""Speech emotion from acoustic features and whisper encoder embeddings, trained on EmoDB.

The weights are package data (``models/emotion/weights/emotion-emodb-v6.json``, plain JSON,
numpy-only heads; ``python -m models.emotion.train`` rebuilds them). Each turn is brought to the
telephone band (``models.emotion.band``: 300-3400 Hz) and described twice: by the acoustic
features of ``models.emotion.features`` and by the pooled whisper-base encoder embedding of
``models.emotion.encoder`` (the turns of one speaker packed into 30 s windows). The heads were
fitted on EmoDB's training speakers as recorded and through telephone channels
(``models.emotion.telephone``), so a call over a phone line is read as a studio recording is. Two
heads read them:

* ``utterance``: each representation standardised -> a linear softmax (the posterior of a
  shrinkage LDA) per representation. Works on any single turn.
* ``speaker``: each representation first z-scored over *the same speaker's* turns (per call, per
  speaker), then as above. It is more accurate but needs enough turns of that speaker to estimate
  their baseline (``min_turns``, chosen by cross-validation on the training speakers); with fewer
  turns ``predict_turns`` falls back to the utterance head. Its baseline assumes the turns are not
  all in one emotion: a call that is angry throughout looks "normal" for that speaker.

Within a head the two posteriors are fused log-linearly: ``p ~ p_acoustic^w * p_embedding^(1-w)``
with the weight ``w`` chosen by leave-one-speaker-out cross-validation.

Arousal and valence are the probability-weighted mean of a fixed per-class mapping (``AFFECT``,
Russell-style circumplex positions of the seven EmoDB classes). What a QA team reads is the
call-centre state of the class probabilities (``models.emotion.states``), not the class itself.

A turn with no voiced speech (silence, noise, a click: fewer than three pitch frames) carries no
evidence: it gets a uniform distribution, label ``neutral``, arousal = valence = confidence = 0
and ``normalization="none"``; it is neither encoded nor part of its speaker's baseline.
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

from models.emotion.band import front_end
from models.emotion.encoder import (
    DIMENSIONS,
    EMBEDDING_VERSION,
    ENCODER_SHA256,
    Blocks,
    TurnEmbedder,
)
from models.emotion.features import FEATURE_NAMES, FEATURE_VERSION, has_voice, line_features
from pipelines.core.audio import SAMPLE_RATE
from pipelines.core.errors import ModelUnavailableError
from pipelines.core.types import Emotion, ModelInfo

logger = logging.getLogger(__name__)

MODEL_NAME = "callqa-emotion-emodb"
MODEL_VERSION = "6"
WEIGHTS_FILE = "emotion-emodb-v6.json"
WEIGHTS_FORMAT = "callqa-emotion-fused/3"
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


def fuse_posteriors(acoustic: Matrix, embedding: Matrix, acoustic_weight: float) -> Matrix:
    """Log-linear fusion ``p ~ acoustic^w * embedding^(1 - w)``, renormalised per row."""
    w = float(acoustic_weight)
    log_p = w * np.log(np.maximum(np.atleast_2d(acoustic), 1e-12)) + (1.0 - w) * np.log(
        np.maximum(np.atleast_2d(embedding), 1e-12)
    )
    log_p -= log_p.max(axis=1, keepdims=True)
    p = np.exp(log_p)
    out: Matrix = p / p.sum(axis=1, keepdims=True)
    return out


@dataclass(frozen=True, slots=True, eq=False)
class FusedHead:
    """An acoustic head and an embedding head whose posteriors are fused log-linearly."""

    acoustic: LinearHead
    embedding: LinearHead
    acoustic_weight: float

    def probabilities(self, acoustic: Matrix, embedding: Matrix) -> Matrix:
        return fuse_posteriors(
            self.acoustic.probabilities(acoustic),
            self.embedding.probabilities(embedding),
            self.acoustic_weight,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "acoustic": self.acoustic.to_json(),
            "embedding": self.embedding.to_json(),
            "acoustic_weight": self.acoustic_weight,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], n_classes: int) -> FusedHead:
        weight = float(data["acoustic_weight"])
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"acoustic weight {weight} outside [0, 1]")
        return cls(
            acoustic=LinearHead.from_json(data["acoustic"], len(FEATURE_NAMES), n_classes),
            embedding=LinearHead.from_json(data["embedding"], DIMENSIONS, n_classes),
            acoustic_weight=weight,
        )


def speaker_normalize(features: Matrix, floor: Matrix) -> Matrix:
    """Z-score each feature over one speaker's turns (rows); std floored per feature."""
    x = np.atleast_2d(features)
    out: Matrix = (x - x.mean(axis=0)) / np.maximum(x.std(axis=0), floor)
    return out


@dataclass(frozen=True, slots=True, eq=False)
class EmotionWeights:
    """The parsed weights file."""

    classes: tuple[str, ...]
    utterance: FusedHead
    speaker: FusedHead
    acoustic_floor: Matrix
    embedding_floor: Matrix
    min_turns: int
    sha256: str
    meta: Mapping[str, Any] = field(default_factory=dict)


def default_weights_path() -> Path:
    return Path(str(importlib.resources.files("models.emotion").joinpath("weights", WEIGHTS_FILE)))


def _floor(data: Any, n: int) -> Matrix:
    floor = np.asarray(data, dtype=np.float64)
    if floor.shape != (n,) or not np.all(np.isfinite(floor)) or np.any(floor <= 0):
        raise ValueError("bad speaker std floor")
    return floor


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
        embedding = data["embedding"]
        if (embedding["version"], embedding["encoder_sha256"], embedding["dimensions"]) != (
            EMBEDDING_VERSION,
            ENCODER_SHA256,
            DIMENSIONS,
        ):
            raise ValueError(f"embedding {embedding} is not {EMBEDDING_VERSION!r}")
        classes = tuple(str(c) for c in data["classes"])
        if set(classes) - set(AFFECT) or "neutral" not in classes:
            raise ValueError(f"classes {classes} are not a subset of {sorted(AFFECT)} with neutral")
        heads = data["heads"]
        norm = data["speaker_normalization"]
        weights = EmotionWeights(
            classes=classes,
            utterance=FusedHead.from_json(heads["utterance"], len(classes)),
            speaker=FusedHead.from_json(heads["speaker"], len(classes)),
            acoustic_floor=_floor(norm["acoustic_std_floor"], len(FEATURE_NAMES)),
            embedding_floor=_floor(norm["embedding_std_floor"], DIMENSIONS),
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


class SpeechEmotionModel:
    """Seven-class speech emotion (EmoDB classes) for 16 kHz mono turns of any length.

    ``encoder``: already loaded whisper-base encoder blocks (``models.emotion.encoder``) to
    share; by default they are loaded from the installed whisper base on first use.
    """

    def __init__(
        self,
        weights_path: Path | None = None,
        *,
        encoder: Blocks | None = None,
        device: str = "cpu",
    ) -> None:
        self._path = weights_path if weights_path is not None else default_weights_path()
        self._weights = load_weights(self._path)
        load = None
        if device != "cpu":
            from models.emotion.encoder_torch import TorchWhisperBlocks

            load = functools.partial(TorchWhisperBlocks, device=device)
        self.embedder = TurnEmbedder(encoder, load=load)

    def load(self) -> None:
        """Load now what the first turn would: the encoder blocks."""
        self.embedder.model()

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
        """Emotion of one turn on its own (utterance head; the turn is encoded alone)."""
        return self._predict([samples], sample_rate, "utterance")[0]

    def predict_turns(
        self, turns: Sequence[npt.ArrayLike], sample_rate: int = SAMPLE_RATE
    ) -> list[EmotionPrediction]:
        """Emotions of several turns of *one* speaker (e.g. a caller's turns in one call), in
        the order they were spoken (they are encoded together, see ``models.emotion.encoder``)."""
        return self._predict(turns, sample_rate, None)

    def _predict(
        self,
        turns: Sequence[npt.ArrayLike],
        sample_rate: int,
        normalization: Normalization | None,
    ) -> list[EmotionPrediction]:
        if not turns:
            return []
        if sample_rate != SAMPLE_RATE:
            raise ValueError(f"emotion expects {SAMPLE_RATE} Hz audio, got {sample_rate}")
        lines = [front_end(t) for t in turns]  # once per turn, for features and embeddings
        features = np.stack([line_features(y) for y in lines])
        voiced = [int(i) for i in np.flatnonzero(has_voice(features))]
        embeddings = np.zeros((len(turns), DIMENSIONS))
        if voiced:
            embeddings[voiced] = self.embedder.embed_lines([lines[i] for i in voiced])
        if normalization is None:
            normalization = "speaker" if len(voiced) >= self.min_turns else "utterance"
        return self.predict_features(features, embeddings, normalization)

    def predict_features(
        self,
        features: Matrix,
        embeddings: Matrix,
        normalization: Normalization = "utterance",
    ) -> list[EmotionPrediction]:
        """Predictions for rows of ``extract_features`` vectors and their turn embeddings;
        ``speaker``: all rows are one speaker's turns."""
        w = self._weights
        x = np.atleast_2d(features)
        e = np.atleast_2d(embeddings)
        if len(x) != len(e):
            raise ValueError(f"{len(x)} feature rows but {len(e)} embeddings")
        voiced = has_voice(x)
        out = [self._no_speech()] * len(x)
        if not voiced.any():
            return out
        if normalization == "speaker":
            head = w.speaker
            xs = speaker_normalize(x[voiced], w.acoustic_floor)
            es = speaker_normalize(e[voiced], w.embedding_floor)
        else:
            normalization = "utterance"
            head, xs, es = w.utterance, x[voiced], e[voiced]
        probs = head.probabilities(xs, es)
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
