"""The shipped speech emotion model on EmoDB's held-out speakers (15, 16), odd inputs, bad weights.

The emotion stage over calls is tested in ``tests/pipelines/analytics/test_emotion.py``.
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

from bench.emotion import (
    CONDITIONS,
    TELEPHONE,
    EmotionScores,
    evaluate,
    evaluate_states,
    load_test_split,
    predict_split,
    predictions_split,
    split_inputs,
    through,
)
from models.ct2_weights import read_variables
from models.emotion.encoder import DIMENSIONS, WINDOW_SAMPLES, WhisperBlocks, pack
from models.emotion.features import FEATURE_NAMES, extract_features
from models.emotion.model import (
    AFFECT,
    EmotionPrediction,
    SpeechEmotionModel,
    default_weights_path,
    fuse_posteriors,
    load_weights,
)
from models.emotion.states import StateThresholds
from models.emotion.train_data import TEST_SPEAKERS, parse_name, split_train_test
from models.whisper import BASE_SHA256, resolve_whisper
from pipelines.core.errors import ModelUnavailableError

# Measured once on this split with the shipped v6 weights (python -m bench.emotion --telephone),
# after every choice was made by cross-validation on the training speakers: utterance head
# (packed, what calls use) 0.890 / anger F1 0.915 as recorded, 0.890 / 0.947 through mu-law at
# 15 dB SNR; utterance head (each clip encoded alone, as live finals) 0.811 / 0.844 and 0.811 /
# 0.885; speaker head (packed) 0.921 / 0.947 and 0.898 / 0.964. (v5, which read the whole studio
# band: 0.937 / 0.900 as recorded but 0.614 / 0.667 over the phone line.)
TARGET_ANGER_F1 = 0.85
TARGET_ACCURACY = 0.70
TELEPHONE_GAP = 0.05  # a phone line costs at most 5 points, in classes and in states
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
    labels = predict_split(model, split, split_inputs(model, split, alone=False))
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


@pytest.fixture(scope="module")
def telephone(
    emodb: Path, model: SpeechEmotionModel
) -> dict[str, tuple[EmotionScores, EmotionScores]]:
    """Classes and states, as recorded and through mu-law at 15 dB SNR (utterance head, packed)."""
    out = {}
    for name in ("studio", TELEPHONE):
        split = through(load_test_split(emodb), CONDITIONS[name])
        preds = predictions_split(model, split, split_inputs(model, split, alone=False))
        packed = preds["utterance (packed)"]
        out[name] = (
            evaluate(split.emotions, [p.label for p in packed], model.classes),
            evaluate_states(split.emotions, packed, StateThresholds()),
        )
    return out


@pytest.mark.slow
def test_the_pipelines_head_reaches_both_targets(scores: dict[str, EmotionScores]) -> None:
    # predict_turns keeps the utterance head for any number of turns (min_turns), so this is
    # what calls get: 0.890 / anger F1 0.915 measured (anger precision 0.844, recall 1.0)
    utterance = scores["utterance (packed)"]
    assert utterance.accuracy >= max(TARGET_ACCURACY, 0.890 - MARGIN)
    assert utterance.anger_f1 >= TARGET_ANGER_F1
    assert utterance.recall["anger"] >= 0.95


@pytest.mark.slow
def test_speaker_normalized_head_holds_its_measured_scores(
    scores: dict[str, EmotionScores],
) -> None:
    speaker = scores["speaker (packed)"]
    assert speaker.accuracy >= max(TARGET_ACCURACY, 0.921 - MARGIN)
    assert speaker.anger_f1 >= max(TARGET_ANGER_F1, 0.947 - MARGIN)


@pytest.mark.slow
def test_a_phone_line_costs_at_most_five_points(
    telephone: dict[str, tuple[EmotionScores, EmotionScores]],
) -> None:
    # measured: 7 classes 0.890 -> 0.890, states 0.874 -> 0.843, angry-state F1 0.941 -> 0.900
    (studio_classes, studio_states), (line_classes, line_states) = telephone.values()
    assert line_classes.accuracy >= studio_classes.accuracy - TELEPHONE_GAP
    assert line_states.accuracy >= studio_states.accuracy - TELEPHONE_GAP
    assert line_classes.accuracy >= max(TARGET_ACCURACY, 0.890 - MARGIN)
    assert line_states.anger_f1 >= TARGET_ANGER_F1


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
    emodb: Path, tmp_path: Path, model: SpeechEmotionModel
) -> None:
    # cross-validation found the speaker baseline no better than the utterance head at any
    # number of turns, so the shipped model never switches; a copy with min_turns 5 does
    data = json.loads(default_weights_path().read_text(encoding="utf-8"))
    assert model.min_turns == data["speaker_normalization"]["min_turns"] >= 10**6
    data["speaker_normalization"]["min_turns"] = 5
    path = tmp_path / "five-turns.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    five = SpeechEmotionModel(path, encoder=model.embedder.model())
    turns = [_clip(emodb, p.name) for p in sorted(emodb.glob("15*.wav"))[:5]]
    few = five.predict_turns(turns[:3])
    assert [p.normalization for p in few] == ["utterance"] * 3
    enough = five.predict_turns([*turns, np.zeros(16000, dtype=np.float32)])
    assert [p.normalization for p in enough] == ["speaker"] * len(turns) + ["none"]
    for pred in enough:
        _valid(pred, five.classes)
    assert [p.normalization for p in model.predict_turns(turns)] == ["utterance"] * 5
    assert model.predict_turns([]) == []


def test_affect_follows_the_documented_mapping(model: SpeechEmotionModel) -> None:
    one_hot = np.zeros((1, len(FEATURE_NAMES)))
    pred = model.predict_features(one_hot, np.zeros((1, DIMENSIONS)))[0]  # no voice: uniform
    assert pred.label == "neutral" and (pred.valence, pred.arousal) == (0.0, 0.0)
    angry = EmotionPrediction("anger", {"anger": 1.0}, 0.8, -0.6, 1.0)
    assert (angry.valence, angry.arousal) == AFFECT["anger"]
    assert angry.to_emotion().source == "acoustic"


def test_weights_hash_matches_info(model: SpeechEmotionModel) -> None:
    path = default_weights_path()
    assert path.stat().st_size < 1_000_000
    info = model.info
    assert path.name == "emotion-emodb-v6.json"
    assert (info.stage, info.name, info.version) == ("emotion", "callqa-emotion-emodb", "6")
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    meta = json.loads(path.read_text(encoding="utf-8"))
    assert meta["features"] == list(FEATURE_NAMES) and meta["classes"] == list(model.classes)
    assert meta["embedding"]["encoder_sha256"] == BASE_SHA256
    assert not set(meta["train"]["speakers"]) & TEST_SPEAKERS
    assert len(meta["train"]["sha256"]) == 64 and meta["cv"]["speaker"]["accuracy"] > 0.7
    assert model.cross_validation == meta["cv"]


@pytest.mark.parametrize("content", [None, b"", b"{not json", b'{"format": "other"}'])
def test_missing_or_corrupt_weights_name_the_file_and_the_fix(
    tmp_path: Path, content: bytes | None
) -> None:
    path = tmp_path / "emotion-emodb-v6.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelUnavailableError) as error:
        SpeechEmotionModel(path)
    assert str(path) in str(error.value) and "python -m models.emotion.train" in str(error.value)


@pytest.mark.parametrize(
    ("head", "part"),
    [("speaker", "acoustic"), ("speaker", "embedding"), ("utterance", "embedding")],
)
def test_damaged_arrays_are_rejected(tmp_path: Path, head: str, part: str) -> None:
    data = json.loads(default_weights_path().read_text(encoding="utf-8"))
    data["heads"][head][part]["coef"] = data["heads"][head][part]["coef"][:-1]
    path = tmp_path / "damaged.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelUnavailableError, match="corrupt"):
        load_weights(path)


@pytest.mark.parametrize(
    ("key", "value"), [("encoder_sha256", "0" * 64), ("version", "other"), ("dimensions", 384)]
)
def test_weights_for_another_encoder_are_rejected(tmp_path: Path, key: str, value: object) -> None:
    data = json.loads(default_weights_path().read_text(encoding="utf-8"))
    data["embedding"][key] = value
    path = tmp_path / "other-encoder.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelUnavailableError, match="corrupt"):
        load_weights(path)


def test_fusion_weights_the_two_posteriors() -> None:
    acoustic = np.array([[0.5, 0.3, 0.2]])
    embedding = np.array([[0.2, 0.2, 0.6]])
    np.testing.assert_allclose(fuse_posteriors(acoustic, embedding, 1.0), acoustic)
    np.testing.assert_allclose(fuse_posteriors(acoustic, embedding, 0.0), embedding)
    half = np.sqrt(acoustic * embedding)
    np.testing.assert_allclose(fuse_posteriors(acoustic, embedding, 0.5), half / half.sum())


def test_turns_are_packed_in_order_into_30_s_windows() -> None:
    second = 16000
    assert pack([2 * second] * 16) == [
        [(i, 0, 2 * second) for i in range(15)],
        [(15, 0, 2 * second)],
    ]
    assert pack([second, 40 * second, 3 * second]) == [
        [(0, 0, second)],
        [(1, 0, WINDOW_SAMPLES)],
        [(1, WINDOW_SAMPLES, 40 * second)],
        [(2, 0, 3 * second)],
    ]
    assert pack([]) == []


def test_embeddings_pool_each_turn(emodb: Path, model: SpeechEmotionModel) -> None:
    clips = [_clip(emodb, p.name) for p in sorted(emodb.glob("16*.wav"))[:3]]
    long_turn = np.concatenate([clips[0]] * 18)  # 36 s: two windows
    rows = model.embedder.embed([clips[1], np.zeros(0, dtype=np.float32), long_turn, clips[2]])
    assert rows.shape == (4, DIMENSIONS) and np.all(np.isfinite(rows))
    assert not rows[1].any() and rows[0].any() and rows[2].any() and rows[3].any()
    assert model.embedder.embed([]).shape == (0, DIMENSIONS)


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


def test_encoder_blocks_reproduce_the_whisper_encoder(emodb: Path) -> None:
    # all six blocks plus the final norm, against CTranslate2's own encoder (float32)
    from faster_whisper import WhisperModel
    from faster_whisper.feature_extractor import FeatureExtractor

    location = Path(resolve_whisper("base").location)
    clip = _clip(emodb, sorted(emodb.glob("16*.wav"))[0].name)
    mel = np.zeros((80, 3000), dtype=np.float32)
    log_mel = FeatureExtractor()(clip)[:, :-1]
    mel[:, : log_mel.shape[1]] = log_mel
    frames = WhisperBlocks(location / "model.bin", blocks=6)(mel)
    norm = read_variables(location / "model.bin", "encoder/layer_norm/")
    z = (frames - frames.mean(axis=1, keepdims=True)) / np.sqrt(
        frames.var(axis=1, keepdims=True) + 1e-5
    )
    ours = z * norm["gamma"].astype(np.float64) + norm["beta"].astype(np.float64)
    theirs = np.asarray(
        WhisperModel(str(location), compute_type="float32", local_files_only=True).encode(mel)
    ).reshape(ours.shape)
    cosine = (
        (ours * theirs).sum(axis=1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)
    )
    assert cosine.min() > 0.999
    with pytest.raises(ModelUnavailableError):
        WhisperBlocks(location / "config.json")


def test_predictions_do_not_depend_on_the_recording_level(
    emodb: Path, model: SpeechEmotionModel
) -> None:
    # EmoDB's clips are peak-normalised; a call's turns are not: a line 6 or 20 dB quieter must
    # keep its label. The middle encoder block (v5, v6) is more level-dependent than the
    # encoder's output was (v4: within 0.05): measured here (v5) arousal within 0.04, valence
    # within 0.17
    turns = [_clip(emodb, p.name) for p in sorted(emodb.glob("15*.wav"))[:8]]
    loud = model.predict_turns(turns)
    for gain_db in (-6.0, -20.0):
        quiet = model.predict_turns([t * np.float32(10 ** (gain_db / 20)) for t in turns])
        assert [p.label for p in quiet] == [p.label for p in loud]
        for a, b in zip(quiet, loud, strict=True):
            assert a.arousal == pytest.approx(b.arousal, abs=0.05)
            assert a.valence == pytest.approx(b.valence, abs=0.2)
