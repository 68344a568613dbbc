"""Train the speech emotion model on EmoDB's train split: ``python -m models.emotion.train``.

Speakers 15 and 16 are the held-out test split and are never read here. Every choice (the
covariance shrinkage of each head, the minimum number of turns for speaker normalisation) is made
by leave-one-speaker-out cross-validation over the eight training speakers. Each head is a linear
discriminant analysis with a shrunk shared covariance (Ledoit-Wolf or a fixed amount) on
standardised features; for seven classes its posterior is the softmax of a linear function, so it
is stored in the same form as a softmax regression. Cross-validation preferred it to logistic
regression, an RBF SVM, a small MLP, their ensembles and a second-stage anger-vs-happiness
classifier, and found no gain in further feature groups (LPC formants, H1-H2, voiced/unvoiced
spectral slopes, MFCC skewness/kurtosis/delta-deltas, log-mel bands) or in 1-s chunk posteriors.

Each head may also get a binary anger-vs-rest LDA on the same features whose anger probability
replaces the seven-class one (``models.emotion.model.with_anger``): its shrinkage is the one with
the best cross-validated anger F1, and it is adopted only if that F1 beats the seven-class head's
without lowering the cross-validated accuracy.

The result is written as JSON into the package (``models/emotion/weights/emotion-emodb-v2.json``):
scaler and softmax weights as plain arrays, the feature list and version, the classes, a SHA-256
over the training files (sorted names + bytes) and the cross-validation scores.
"""

from __future__ import annotations

import argparse
import csv
import functools
import hashlib
import importlib.metadata
import json
import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import librosa
import numpy as np
import numpy.typing as npt
import soundfile as sf
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.metrics import accuracy_score, f1_score
from sklearn.preprocessing import StandardScaler

from models.emotion.features import FEATURE_NAMES, FEATURE_VERSION, SAMPLE_RATE, extract_features
from models.emotion.model import (
    ANGER,
    MODEL_NAME,
    MODEL_VERSION,
    WEIGHTS_FILE,
    WEIGHTS_FORMAT,
    LinearHead,
    speaker_normalize,
    with_anger,
)

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "emodb"
DEFAULT_OUT = Path(__file__).resolve().parent / "weights" / WEIGHTS_FILE
TEST_SPEAKERS = frozenset({"15", "16"})
EMOTION_CODES = {
    "W": "anger",
    "L": "boredom",
    "E": "disgust",
    "A": "fear",
    "F": "happiness",
    "T": "sadness",
    "N": "neutral",
}
SHRINKAGE_GRID: tuple[str | float, ...] = ("auto", 0.1, 0.3, 0.5)  # "auto": Ledoit-Wolf
TURN_GRID = (3, 5, 8, 10, 15, 20)
SUBSET_REPEATS = 5
FLOOR_FRACTION = 0.25
SUMMARY = ("shrinkage", "anger_shrinkage", "accuracy", "anger_f1")
NEVER = 10**6  # min_turns when speaker normalisation never beats the utterance head

Matrix = npt.NDArray[np.float64]
Labels = npt.NDArray[np.str_]
Fit = Callable[[Matrix, Labels], LinearHead]


@dataclass(frozen=True, slots=True)
class Utterance:
    file: str
    speaker: str
    emotion: str


def parse_name(file: str) -> Utterance:
    """Speaker and emotion from an EmoDB file name such as ``03a01Wa.wav``."""
    stem = Path(file).name
    if len(stem) < 7 or not stem[:2].isdigit() or stem[5] not in EMOTION_CODES:
        raise ValueError(f"not an EmoDB file name: {file!r}")
    return Utterance(stem, stem[:2], EMOTION_CODES[stem[5]])


def read_labels(data_dir: Path) -> list[Utterance]:
    """``labels.tsv`` rows, checked against what the file names encode."""
    out = []
    with (data_dir / "labels.tsv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            utt = parse_name(row["file"])
            if (row["speaker"], row["emotion"]) != (utt.speaker, utt.emotion):
                raise ValueError(f"labels.tsv disagrees with the file name: {row}")
            out.append(utt)
    return out


def split_train_test(files: Iterable[str]) -> tuple[list[str], list[str]]:
    """(train, test) file names; the test split is every file of speakers 15 and 16."""
    train: list[str] = []
    test: list[str] = []
    for file in sorted(files):
        (test if parse_name(file).speaker in TEST_SPEAKERS else train).append(file)
    return train, test


def data_sha256(data_dir: Path, files: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for file in sorted(files):
        digest.update(file.encode())
        digest.update((data_dir / file).read_bytes())
    return digest.hexdigest()


def load_features(data_dir: Path, files: Sequence[str]) -> Matrix:
    rows = []
    for index, file in enumerate(files, 1):
        samples, rate = sf.read(data_dir / file, dtype="float32", always_2d=True)
        mono = samples.mean(axis=1)
        if rate != SAMPLE_RATE:
            mono = librosa.resample(mono, orig_sr=rate, target_sr=SAMPLE_RATE)
        rows.append(extract_features(mono))
        if index % 50 == 0 or index == len(files):
            logger.info("features: %d/%d files", index, len(files))
    return np.stack(rows)


def std_floor(x: Matrix, speakers: Labels) -> Matrix:
    """Per-feature floor for speaker z-scoring: a fraction of the median within-speaker std."""
    stds = np.stack([x[speakers == s].std(axis=0) for s in np.unique(speakers)])
    floor: Matrix = np.maximum(FLOOR_FRACTION * np.median(stds, axis=0), 1e-6)
    return floor


def normalize_by_speaker(x: Matrix, speakers: Labels, floor: Matrix) -> Matrix:
    out = np.empty_like(x)
    for s in np.unique(speakers):
        rows = speakers == s
        out[rows] = speaker_normalize(x[rows], floor)
    return out


def fit_head(x: Matrix, y: Labels, classes: Sequence[str], shrinkage: str | float) -> LinearHead:
    if len(classes) < 3:
        raise ValueError("a softmax head needs at least three classes")
    scaler = StandardScaler().fit(x)
    clf = LinearDiscriminantAnalysis(solver="lsqr", shrinkage=shrinkage)
    clf.fit(scaler.transform(x), y)
    if tuple(clf.classes_) != tuple(classes):
        raise ValueError(f"training classes {clf.classes_} != {classes}")
    return LinearHead(
        mean=np.asarray(scaler.mean_, dtype=np.float64),
        scale=np.asarray(scaler.scale_, dtype=np.float64),
        coef=np.asarray(clf.coef_, dtype=np.float64),
        intercept=np.asarray(clf.intercept_, dtype=np.float64),
    )


def fit_anger_head(x: Matrix, y: Labels, shrinkage: str | float) -> LinearHead:
    """Binary anger-vs-rest LDA as a two-column softmax head (rest, anger)."""
    scaler = StandardScaler().fit(x)
    clf = LinearDiscriminantAnalysis(solver="lsqr", shrinkage=shrinkage)
    clf.fit(scaler.transform(x), y == ANGER)
    # sklearn's binary posterior is sigmoid(w.x + b) = softmax([0, w.x + b])[1]
    coef = np.asarray(clf.coef_, dtype=np.float64).reshape(1, -1)
    return LinearHead(
        mean=np.asarray(scaler.mean_, dtype=np.float64),
        scale=np.asarray(scaler.scale_, dtype=np.float64),
        coef=np.vstack([np.zeros_like(coef), coef]),
        intercept=np.array([0.0, float(np.asarray(clf.intercept_).reshape(-1)[0])]),
    )


def predict(probs: Matrix, classes: Sequence[str]) -> Labels:
    labels: Labels = np.asarray(classes)[np.atleast_2d(probs).argmax(axis=1)]
    return labels


def scores(y: Labels, pred: Labels) -> dict[str, float]:
    return {
        "accuracy": round(float(accuracy_score(y, pred)), 4),
        "anger_f1": round(float(f1_score(y == ANGER, pred == ANGER)), 4),
    }


def loso_probabilities(
    x: Matrix, y: Labels, speakers: Labels, fit: Fit, by_speaker: bool
) -> Matrix:
    """Each training speaker's posteriors from a head fitted on the other speakers.

    With ``by_speaker`` every speaker (the held-out one too) is z-scored over their own turns,
    using a std floor from the fitting speakers only.
    """
    out: Matrix | None = None
    for held in np.unique(speakers):
        test = speakers == held
        xs = x
        if by_speaker:
            floor = std_floor(x[~test], speakers[~test])
            xs = normalize_by_speaker(x, speakers, floor)
        probs = fit(xs[~test], y[~test]).probabilities(xs[test])
        if out is None:
            out = np.zeros((len(y), probs.shape[1]))
        out[test] = probs
    if out is None:
        raise ValueError("no training speakers")
    return out


def _best(grid: dict[str | float, dict[str, float]], first: str, second: str) -> str | float:
    # ties go to the earlier (Ledoit-Wolf, then less shrinkage) entry of the grid
    return max(
        SHRINKAGE_GRID,
        key=lambda s: (grid[s][first], grid[s][second], -SHRINKAGE_GRID.index(s)),
    )


def select(
    x: Matrix, y: Labels, speakers: Labels, classes: Sequence[str], by_speaker: bool
) -> dict[str, Any]:
    """Cross-validated choice of the seven-class head's shrinkage and of its anger head."""
    name = "speaker" if by_speaker else "utterance"
    probs: dict[str | float, Matrix] = {}
    grid: dict[str | float, dict[str, float]] = {}
    for s in SHRINKAGE_GRID:
        fit: Fit = functools.partial(fit_head, classes=classes, shrinkage=s)
        probs[s] = loso_probabilities(x, y, speakers, fit, by_speaker)
        grid[s] = scores(y, predict(probs[s], classes))
        logger.info("CV %s shrinkage=%s: %s", name, s, grid[s])
    best = _best(grid, "accuracy", "anger_f1")
    anger_index = list(classes).index(ANGER)
    anger_grid: dict[str | float, dict[str, float]] = {}
    for s in SHRINKAGE_GRID:
        fit_anger: Fit = functools.partial(fit_anger_head, shrinkage=s)
        anger = loso_probabilities(x, y, speakers, fit_anger, by_speaker)[:, 1]
        anger_grid[s] = scores(y, predict(with_anger(probs[best], anger, anger_index), classes))
        logger.info("CV %s + anger head shrinkage=%s: %s", name, s, anger_grid[s])
    best_anger = _best(anger_grid, "anger_f1", "accuracy")
    adopt = (
        anger_grid[best_anger]["anger_f1"] > grid[best]["anger_f1"]
        and anger_grid[best_anger]["accuracy"] >= grid[best]["accuracy"]
    )
    final = anger_grid[best_anger] if adopt else grid[best]
    return {
        "shrinkage": best,
        "anger_shrinkage": best_anger if adopt else None,
        **final,
        "seven_class": grid[best],
        "grid": {str(s): r for s, r in grid.items()},
        "anger_grid": {str(s): r for s, r in anger_grid.items()},
    }


def fit_heads(
    x: Matrix, y: Labels, classes: Sequence[str], chosen: dict[str, Any]
) -> tuple[LinearHead, LinearHead | None]:
    """The seven-class head and, if cross-validation adopted one, the anger head."""
    head = fit_head(x, y, classes, chosen["shrinkage"])
    anger = chosen["anger_shrinkage"]
    return head, (None if anger is None else fit_anger_head(x, y, anger))


def head_probabilities(heads: tuple[LinearHead, LinearHead | None], x: Matrix, ai: int) -> Matrix:
    head, anger = heads
    probs = head.probabilities(x)
    return probs if anger is None else with_anger(probs, anger.probabilities(x)[:, 1], ai)


def turns_curve(
    x: Matrix, y: Labels, speakers: Labels, classes: Sequence[str], chosen: dict[str, Any]
) -> dict[int, float]:
    """CV accuracy of the speaker head when a held-out speaker's baseline comes from k turns."""
    rng = np.random.default_rng(0)
    correct = {k: 0.0 for k in TURN_GRID}
    anger_index = list(classes).index(ANGER)
    for held in np.unique(speakers):
        test = speakers == held
        floor = std_floor(x[~test], speakers[~test])
        heads = fit_heads(
            normalize_by_speaker(x[~test], speakers[~test], floor), y[~test], classes, chosen
        )
        xt = x[test]
        for k in TURN_GRID:
            for _ in range(SUBSET_REPEATS):
                pick = xt[rng.choice(len(xt), size=min(k, len(xt)), replace=False)]
                z = (xt - pick.mean(axis=0)) / np.maximum(pick.std(axis=0), floor)
                hits = predict(head_probabilities(heads, z, anger_index), classes) == y[test]
                correct[k] += float(hits.sum()) / SUBSET_REPEATS
    return {k: round(v / len(y), 4) for k, v in correct.items()}


def train(data_dir: Path, out: Path) -> dict[str, Any]:
    """Extract features, choose and fit both heads, write the weights JSON; returns its content."""
    labels = {u.file: u for u in read_labels(data_dir)}
    train_files, held_out = split_train_test(labels)
    logger.info("train: %d files; held out (never read): %d", len(train_files), len(held_out))
    x = load_features(data_dir, train_files)
    y = np.array([labels[f].emotion for f in train_files])
    speakers = np.array([labels[f].speaker for f in train_files])
    classes = sorted(set(y.tolist()))

    utt_cv = select(x, y, speakers, classes, by_speaker=False)
    spk_cv = select(x, y, speakers, classes, by_speaker=True)
    curve = turns_curve(x, y, speakers, classes, spk_cv)
    logger.info("speaker-baseline accuracy by turns: %s", curve)
    # fewest turns from which the speaker head stays at least as good as the utterance head
    enough = [
        k
        for i, k in enumerate(TURN_GRID)
        if all(curve[j] >= utt_cv["accuracy"] for j in TURN_GRID[i:])
    ]
    min_turns = enough[0] if enough else NEVER

    floor = std_floor(x, speakers)
    utt_head, utt_anger = fit_heads(x, y, classes, utt_cv)
    spk_head, spk_anger = fit_heads(normalize_by_speaker(x, speakers, floor), y, classes, spk_cv)
    content: dict[str, Any] = {
        "format": WEIGHTS_FORMAT,
        "name": MODEL_NAME,
        "version": MODEL_VERSION,
        "feature_version": FEATURE_VERSION,
        "features": list(FEATURE_NAMES),
        "classes": classes,
        "sample_rate": SAMPLE_RATE,
        "train": {
            "data": "EmoDB (Burkhardt et al. 2005), audEERING CC0 republication, 16 kHz",
            "files": len(train_files),
            "speakers": sorted(set(speakers.tolist())),
            "sha256": data_sha256(data_dir, train_files),
            "versions": {
                "numpy": np.__version__,
                "librosa": importlib.metadata.version("librosa"),
                "scikit-learn": importlib.metadata.version("scikit-learn"),
            },
        },
        "cv": {
            "scheme": "leave-one-speaker-out over the training speakers",
            "utterance": utt_cv,
            "speaker": spk_cv,
            "speaker_turns_accuracy": {str(k): v for k, v in curve.items()},
        },
        "speaker_normalization": {"min_turns": min_turns, "std_floor": floor.tolist()},
        "heads": {
            "utterance": utt_head.to_json(),
            "utterance_anger": None if utt_anger is None else utt_anger.to_json(),
            "speaker": spk_head.to_json(),
            "speaker_anger": None if spk_anger is None else spk_anger.to_json(),
        },
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(content, indent=1) + "\n", encoding="utf-8")
    logger.info("wrote %s (%d bytes)", out, out.stat().st_size)
    return content


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="EmoDB directory")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="weights JSON to write")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    content = train(args.data, args.out)
    cv = content["cv"]
    logger.info(
        "CV utterance head: %s; speaker head: %s; min turns %d",
        {k: cv["utterance"][k] for k in SUMMARY},
        {k: cv["speaker"][k] for k in SUMMARY},
        content["speaker_normalization"]["min_turns"],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
