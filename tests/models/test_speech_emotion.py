"""The shipped speech emotion model on EmoDB's held-out speakers (15, 16), odd inputs, bad weights.

Named apart from ``tests/pipelines/test_emotion.py``: test directories are not packages, so two
test modules may not share a base name.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

from bench.emotion import EmotionScores, evaluate, load_test_split, predict_split
from models.emotion.features import FEATURE_NAMES, extract_features
from models.emotion.model import (
    AFFECT,
    EmotionPrediction,
    SpeechEmotionModel,
    default_weights_path,
    load_weights,
    with_anger,
)
from models.emotion.train import TEST_SPEAKERS, parse_name, split_train_test
from pipelines.errors import ModelUnavailableError

# Measured once on this split with the shipped v2 weights (python -m bench.emotion), after every
# choice was made by cross-validation on the training speakers:
# speaker head 0.811 / anger F1 0.825, utterance head 0.685 / anger F1 0.693.
TARGET_ACCURACY = 0.70
MARGIN = 0.03


@pytest.fixture(scope="module")
def emodb(data_dir: Path) -> Path:
    return data_dir / "emodb"


@pytest.fixture(scope="module")
def model() -> SpeechEmotionModel:
    return SpeechEmotionModel()


@pytest.fixture(scope="module")
def scores(emodb: Path, model: SpeechEmotionModel) -> dict[str, EmotionScores]:
    split = load_test_split(emodb)
    features = np.stack([extract_features(s) for s in split.samples])
    labels = predict_split(model, split, features)
    return {head: evaluate(split.emotions, pred, model.classes) for head, pred in labels.items()}


def _valid(pred: EmotionPrediction, classes: tuple[str, ...]) -> None:
    probs = np.array([pred.probabilities[c] for c in classes])
    assert set(pred.probabilities) == set(classes) and pred.label in classes
    assert np.all(np.isfinite(probs)) and np.all(probs >= 0) and probs.sum() == pytest.approx(1.0)
    assert -1.0 <= pred.valence <= 1.0 and -1.0 <= pred.arousal <= 1.0
    assert 0.0 <= pred.confidence <= 1.0


def _clip(emodb: Path, name: str) -> npt.NDArray[np.float32]:
    samples, rate = sf.read(emodb / name, dtype="float32")
    assert rate == 16000
    return np.asarray(samples, dtype=np.float32)


def test_copied_data_is_the_test_split_only(emodb: Path) -> None:
    with (emodb / "labels.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    wavs = sorted(p.name for p in emodb.glob("*.wav"))
    assert len(wavs) == 127 and sorted(r["file"] for r in rows) == wavs
    for row in rows:
        utt = parse_name(row["file"])
        assert row["speaker"] == utt.speaker in TEST_SPEAKERS and row["emotion"] == utt.emotion


@pytest.mark.slow
def test_speaker_normalized_head_reaches_accuracy_target(scores: dict[str, EmotionScores]) -> None:
    speaker = scores["speaker"]
    assert speaker.accuracy >= max(TARGET_ACCURACY, 0.811 - MARGIN)
    # anger-vs-rest F1 target is 0.85: not reached (0.825; happiness taken for anger)
    assert speaker.anger_f1 >= 0.825 - MARGIN
    assert speaker.recall["anger"] >= 0.9


@pytest.mark.slow
def test_single_utterance_head_holds_its_measured_scores(scores: dict[str, EmotionScores]) -> None:
    # below both targets (0.685 < 0.70, anger F1 0.693 < 0.85; 14 of 17 happy turns taken for
    # anger): a regression guard only
    utterance = scores["utterance"]
    assert utterance.accuracy >= 0.685 - MARGIN
    assert utterance.anger_f1 >= 0.693 - MARGIN
    assert utterance.recall["anger"] >= 0.9


def test_odd_inputs_give_valid_distributions(emodb: Path, model: SpeechEmotionModel) -> None:
    speech = _clip(emodb, "15a01Wa.wav")
    rng = np.random.default_rng(0)
    longest = np.concatenate([_clip(emodb, p.name) for p in sorted(emodb.glob("16*.wav"))[:15]])
    assert len(longest) == 30 * 16000
    for samples in (
        speech[: int(0.3 * 16000)],
        (1e-4 * rng.standard_normal(16000)).astype(np.float32),
        np.zeros(8000, dtype=np.float32),
        np.zeros(0, dtype=np.float32),
        longest,
    ):
        _valid(model.predict(samples), model.classes)
    silent = model.predict(np.zeros(16000, dtype=np.float32))
    assert silent.normalization == "none" and silent.confidence == 0.0
    assert model.predict(longest).normalization == "utterance"


def test_features_are_finite_and_gain_invariant(emodb: Path) -> None:
    speech = _clip(emodb, "16a01Wb.wav")
    loud, quiet = extract_features(speech), extract_features(0.1 * speech)
    assert loud.shape == (len(FEATURE_NAMES),) and np.all(np.isfinite(loud))
    np.testing.assert_allclose(loud, quiet, rtol=0.02, atol=0.02)


def test_turns_of_one_speaker_use_their_baseline_only_when_enough(
    emodb: Path, model: SpeechEmotionModel
) -> None:
    turns = [_clip(emodb, p.name) for p in sorted(emodb.glob("15*.wav"))[: model.min_turns]]
    few = model.predict_turns(turns[:3])
    assert [p.normalization for p in few] == ["utterance"] * 3
    enough = model.predict_turns([*turns, np.zeros(16000, dtype=np.float32)])
    assert [p.normalization for p in enough] == ["speaker"] * len(turns) + ["none"]
    for pred in enough:
        _valid(pred, model.classes)
    assert model.predict_turns([]) == []


def test_affect_follows_the_documented_mapping(model: SpeechEmotionModel) -> None:
    one_hot = np.zeros((1, len(FEATURE_NAMES)))
    pred = model.predict_features(one_hot)[0]  # no voice: uniform, zero affect
    assert pred.label == "neutral" and (pred.valence, pred.arousal) == (0.0, 0.0)
    angry = EmotionPrediction("anger", {"anger": 1.0}, 0.8, -0.6, 1.0)
    assert (angry.valence, angry.arousal) == AFFECT["anger"]
    assert angry.to_emotion().source == "acoustic"


def test_weights_hash_matches_info(model: SpeechEmotionModel) -> None:
    path = default_weights_path()
    assert path.stat().st_size < 1_000_000
    info = model.info
    assert (info.stage, info.name, info.version) == ("emotion", "callqa-emotion-emodb", "2")
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    meta = json.loads(path.read_text(encoding="utf-8"))
    assert meta["features"] == list(FEATURE_NAMES) and meta["classes"] == list(model.classes)
    assert not set(meta["train"]["speakers"]) & TEST_SPEAKERS
    assert len(meta["train"]["sha256"]) == 64 and meta["cv"]["speaker"]["accuracy"] > 0.7
    assert model.cross_validation == meta["cv"]


@pytest.mark.parametrize("content", [None, b"", b"{not json", b'{"format": "other"}'])
def test_missing_or_corrupt_weights_name_the_file_and_the_fix(
    tmp_path: Path, content: bytes | None
) -> None:
    path = tmp_path / "emotion-emodb-v2.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelUnavailableError) as error:
        SpeechEmotionModel(path)
    assert str(path) in str(error.value) and "python -m models.emotion.train" in str(error.value)


@pytest.mark.parametrize("head", ["speaker", "speaker_anger", "utterance_anger"])
def test_damaged_arrays_are_rejected(tmp_path: Path, head: str) -> None:
    data = json.loads(default_weights_path().read_text(encoding="utf-8"))
    assert data["heads"][head] is not None
    data["heads"][head]["coef"] = data["heads"][head]["coef"][:-1]
    path = tmp_path / "damaged.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelUnavailableError, match="corrupt"):
        load_weights(path)


def test_anger_head_replaces_the_anger_probability_only() -> None:
    probs = np.array([[0.5, 0.3, 0.2], [0.0, 0.0, 1.0]])
    out = with_anger(probs, np.array([0.9, 0.4]), 0)
    np.testing.assert_allclose(out, [[0.9, 0.06, 0.04], [0.4, 0.0, 0.6]])


def test_weights_without_anger_heads_use_the_seven_class_posterior(
    tmp_path: Path, model: SpeechEmotionModel
) -> None:
    data = json.loads(default_weights_path().read_text(encoding="utf-8"))
    data["heads"]["utterance_anger"] = data["heads"]["speaker_anger"] = None
    path = tmp_path / "no-anger.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    plain = SpeechEmotionModel(path)
    features = np.zeros((1, len(FEATURE_NAMES)))
    features[0, FEATURE_NAMES.index("f0_mean")] = 20.0
    weights = load_weights(path)
    expected = weights.utterance.probabilities(features)[0]
    got = plain.predict_features(features)[0].probabilities
    np.testing.assert_allclose([got[c] for c in plain.classes], expected)
    assert model.predict_features(features)[0].probabilities != got


def test_split_never_trains_on_test_speakers(emodb: Path) -> None:
    names = [
        f"{s:02d}a0{i}{code}a.wav" for s in range(3, 17) for i in range(1, 6) for code in "WLN"
    ]
    names += [p.name for p in emodb.glob("*.wav")]
    train, test = split_train_test(names)
    assert train and test and len(train) + len(test) == len(names)
    assert not {parse_name(f).speaker for f in train} & TEST_SPEAKERS
    assert {parse_name(f).speaker for f in test} == TEST_SPEAKERS
    assert split_train_test(reversed(names)) == (train, test)
    with pytest.raises(ValueError):
        parse_name("notemodb.wav")
