"""Call-centre states from the seven EmoDB classes: what a QA team reads, with the thresholds.

The model's classes are grouped into four states (``CLASS_STATES``):

=============  ============================  =======================================
state          classes                       what it tells a QA team
=============  ============================  =======================================
``angry``      anger, disgust                angry / frustrated: a complaint, a risk
``upset``      fear, sadness                 upset: worried, distressed, let down
``neutral``    neutral, boredom              nothing to act on
``satisfied``  happiness                     pleased, thankful
=============  ============================  =======================================

Boredom is neutral: a caller asking "Hello? Is anyone there?" flatly is not a QA finding, and
the model's boredom is low-arousal speech more than disengagement.

A turn's acoustic state (``acoustic_state``) is the non-neutral state with the most probability
mass, if that mass reaches its threshold (``StateThresholds``); otherwise ``neutral``. So a turn
with weak evidence (probability spread over the classes, a short or unclear turn, no voice at
all) is neutral. Whether a turn is shown as one state depends only on that state's threshold,
so each threshold is chosen on its own: the one of ``THRESHOLD_GRID`` with the best F0.5 of
"this state vs the rest" (precision counts twice as much as recall: a false flag costs a QA
team's trust) over the leave-one-speaker-out posteriors of the training speakers
(``models.emotion.train``: every context, the studio clips and their telephone copies); ties go
to the higher threshold. Speakers 15 and 16 (the test split) play no part.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

STATES = ("angry", "upset", "neutral", "satisfied")
NEGATIVE_STATES = frozenset({"angry", "upset"})
CLASS_STATES: Mapping[str, str] = {
    "anger": "angry",
    "disgust": "angry",
    "fear": "upset",
    "sadness": "upset",
    "neutral": "neutral",
    "boredom": "neutral",
    "happiness": "satisfied",
}
FLAGGED = ("angry", "upset", "satisfied")  # the states a threshold guards
THRESHOLD_GRID = tuple(round(0.30 + 0.05 * i, 2) for i in range(13))  # 0.30 .. 0.90
BETA = 0.5


@dataclass(frozen=True, slots=True)
class StateThresholds:
    """Least probability mass of a state's classes for a turn to be shown in that state.

    The defaults are the values ``python -m models.emotion.train`` chose for the v6 weights and
    stored with them (``cv.states``, with precision, recall and F0.5 at every threshold). On the
    3264 cross-validated rows (408 training clips, eight contexts) each state's precision rises
    up to the top of the grid while its recall falls slowly (the LDA posteriors are confident):
    angry 0.9 (precision 0.934, recall 0.816), upset 0.9 (0.932, 0.752), satisfied 0.9 (0.862,
    0.576)."""

    angry: float = 0.9
    upset: float = 0.9
    satisfied: float = 0.9

    def of(self, state: str) -> float:
        return float(getattr(self, state))


def state_of(label: str) -> str:
    """The state of a model class (an unknown class is neutral)."""
    return CLASS_STATES.get(label, "neutral")


def state_masses(probabilities: Mapping[str, float]) -> dict[str, float]:
    """Probability mass per state (sums of its classes' probabilities)."""
    mass = dict.fromkeys(STATES, 0.0)
    for label, p in probabilities.items():
        mass[state_of(label)] += float(p)
    return mass


def acoustic_state(
    probabilities: Mapping[str, float], thresholds: StateThresholds
) -> tuple[str, float]:
    """The state of a class distribution and its mass (see the module docstring)."""
    return strongest_state(state_masses(probabilities), thresholds)


def strongest_state(mass: Mapping[str, float], thresholds: StateThresholds) -> tuple[str, float]:
    """``acoustic_state`` from the state masses (``state_masses``)."""
    best = max(FLAGGED, key=lambda s: (mass[s], -FLAGGED.index(s)))
    if mass[best] >= thresholds.of(best) and mass[best] > 0.0:
        return best, mass[best]
    return "neutral", mass["neutral"]


Matrix = npt.NDArray[np.float64]


def _masses(probs: Matrix, classes: Sequence[str]) -> Matrix:
    """Rows of state masses (columns in ``STATES`` order) from rows of class probabilities."""
    group = np.zeros((len(classes), len(STATES)))
    for i, c in enumerate(classes):
        group[i, STATES.index(state_of(c))] = 1.0
    out: Matrix = np.atleast_2d(probs) @ group
    return out


def _f_beta(tp: float, fp: float, fn: float) -> float:
    if tp == 0.0:
        return 0.0
    b2 = BETA**2
    return (1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp)


def tune_thresholds(
    probs: Matrix, truth: Sequence[str], classes: Sequence[str]
) -> tuple[StateThresholds, dict[str, Any]]:
    """Thresholds from cross-validated class posteriors (rows) and the true classes, with the
    precision, recall and F0.5 of each flagged state at every threshold of the grid."""
    mass = _masses(probs, classes)
    flagged = [STATES.index(s) for s in FLAGGED]
    best_col = np.asarray(flagged)[mass[:, flagged].argmax(axis=1)]
    true_state = np.array([state_of(c) for c in truth])
    chosen: dict[str, float] = {}
    report: dict[str, Any] = {"beta": BETA, "rows": len(true_state), "states": {}}
    for state in FLAGGED:
        col = STATES.index(state)
        actual = true_state == state
        grid = {}
        for t in THRESHOLD_GRID:
            shown = (best_col == col) & (mass[:, col] >= t)
            tp = float(np.sum(shown & actual))
            fp = float(np.sum(shown & ~actual))
            fn = float(np.sum(~shown & actual))
            grid[t] = {
                "precision": round(tp / max(tp + fp, 1.0), 4),
                "recall": round(tp / max(tp + fn, 1.0), 4),
                "f_beta": round(_f_beta(tp, fp, fn), 4),
            }
        pick = max(THRESHOLD_GRID, key=lambda t: (grid[t]["f_beta"], t))
        chosen[state] = pick
        report["states"][state] = {"threshold": pick, **grid[pick], "grid": grid}
    return StateThresholds(**chosen), report


def state_accuracy(
    probs: Matrix, truth: Sequence[str], classes: Sequence[str], thresholds: StateThresholds
) -> float:
    """Share of rows whose state (``acoustic_state``) is their true class's state."""
    hits = 0
    for row, label in zip(np.atleast_2d(probs), truth, strict=True):
        distribution = {c: float(p) for c, p in zip(classes, row, strict=True)}
        hits += acoustic_state(distribution, thresholds)[0] == state_of(label)
    return hits / max(len(truth), 1)
