"""Call-centre states from the emotion model's class probabilities, and their thresholds."""

from __future__ import annotations

import json

import numpy as np
import pytest

from models.emotion.model import AFFECT, default_weights_path
from models.emotion.states import (
    CLASS_STATES,
    STATES,
    THRESHOLD_GRID,
    StateThresholds,
    acoustic_state,
    state_masses,
    state_of,
    tune_thresholds,
)

CLASSES = tuple(sorted(AFFECT))
FIXED = StateThresholds(angry=0.6, upset=0.55, satisfied=0.7)


def test_every_class_has_a_state_and_boredom_is_neutral() -> None:
    assert set(CLASS_STATES) == set(AFFECT) and set(CLASS_STATES.values()) == set(STATES)
    assert state_of("boredom") == state_of("neutral") == "neutral"
    assert state_of("anger") == state_of("disgust") == "angry"
    assert state_of("fear") == state_of("sadness") == "upset"
    assert state_of("happiness") == "satisfied"
    assert state_of("something else") == "neutral"


@pytest.mark.parametrize(
    ("probabilities", "expected"),
    [
        ({"anger": 0.5, "disgust": 0.2, "neutral": 0.3}, ("angry", 0.7)),
        ({"anger": 0.3, "disgust": 0.3, "happiness": 0.4}, ("angry", 0.6)),  # at the threshold
        ({"anger": 0.35, "disgust": 0.2, "happiness": 0.45}, ("neutral", 0.0)),  # weak evidence
        ({"boredom": 1.0}, ("neutral", 1.0)),  # a flat "Hello? Is anyone there?"
        ({"boredom": 0.5, "sadness": 0.5}, ("neutral", 0.5)),  # upset below its threshold
        ({"fear": 0.3, "sadness": 0.3, "neutral": 0.4}, ("upset", 0.6)),
        ({"happiness": 0.69, "neutral": 0.31}, ("neutral", 0.31)),
        ({"happiness": 0.8, "anger": 0.2}, ("satisfied", 0.8)),
        (dict.fromkeys(CLASSES, 1 / 7), ("neutral", 2 / 7)),  # no voice: uniform
    ],
)
def test_state_of_fixed_probabilities(
    probabilities: dict[str, float], expected: tuple[str, float]
) -> None:
    state, mass = acoustic_state(probabilities, FIXED)
    assert state == expected[0]
    if expected[1]:
        assert mass == pytest.approx(expected[1])


def test_masses_sum_the_classes_of_each_state() -> None:
    mass = state_masses({"anger": 0.1, "disgust": 0.2, "boredom": 0.3, "happiness": 0.4})
    assert mass == pytest.approx({"angry": 0.3, "upset": 0.0, "neutral": 0.3, "satisfied": 0.4})


def test_tuning_takes_the_threshold_with_the_best_f_half() -> None:
    # twelve angry clips, most confidently angry; eight neutral clips, two of them looking
    # angry at 0.55-0.6: the best F0.5 keeps the confident ones and drops those two
    angry_mass = [0.95, 0.9, 0.9, 0.85, 0.85, 0.8, 0.8, 0.75, 0.75, 0.7, 0.5, 0.4]
    neutral_anger = [0.6, 0.55, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]
    rows = []
    for p in angry_mass + neutral_anger:
        row = dict.fromkeys(CLASSES, 0.0)
        row["anger"], row["neutral"] = p, 1.0 - p
        rows.append([row[c] for c in CLASSES])
    truth = ["anger"] * len(angry_mass) + ["neutral"] * len(neutral_anger)
    thresholds, report = tune_thresholds(np.array(rows), truth, CLASSES)
    assert thresholds.angry == 0.7 and thresholds.angry in THRESHOLD_GRID
    chosen = report["states"]["angry"]
    assert chosen["precision"] == 1.0 and chosen["recall"] == pytest.approx(10 / 12, abs=1e-3)
    assert report["rows"] == len(truth) and set(report["states"]) == {"angry", "upset", "satisfied"}


def test_shipped_thresholds_are_the_cross_validated_ones() -> None:
    meta = json.loads(default_weights_path().read_text(encoding="utf-8"))
    tuned = {s: v["threshold"] for s, v in meta["cv"]["states"]["states"].items()}
    shipped = StateThresholds()
    assert tuned == {s: shipped.of(s) for s in ("angry", "upset", "satisfied")}
    assert "tel-alone" in meta["cv"]["states"]["contexts"]  # telephone copies were scored
