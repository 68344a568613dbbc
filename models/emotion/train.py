"""Train the speech emotion model on EmoDB's train split: ``python -m models.emotion.train``.

Speakers 15 and 16 are the held-out test split and are never read here. Every choice is made by
leave-one-speaker-out cross-validation (LOSO) over the eight training speakers: the covariance
shrinkage of each LDA, the fusion weight of each head and the minimum number of turns for speaker
normalisation.

Each clip is described by its acoustic features (``models.emotion.features``) and by its whisper
encoder embedding (``models.emotion.encoder``) in four contexts: packed with the other clips of the
same speaker into 30 s windows in three shuffled orders (``PACKINGS``; a call's turns are packed
the same way, and the clips' file order would put the same sentence in several emotions side by
side, which the encoder exploits and no call offers), and encoded alone (a single turn). The
embedding heads are fitted on the rows of all four contexts; their cross-validated scores are
given per context, and choices are made on the mean over the three packed contexts.

Each head (``utterance``; ``speaker``: every speaker z-scored over their own clips, the held-out
one too, with std floors from the fitting speakers) is an acoustic LDA and an embedding LDA with a
shrunk shared covariance on standardised inputs, whose posteriors are fused log-linearly with the
weight from ``WEIGHT_GRID`` that cross-validates best (accuracy, then anger F1, then closest to
equal weights). An LDA posterior is the softmax of a linear function, so it is stored in that
form.

Candidates weighed on LOSO before this design (accuracy / anger F1; v2, the acoustic heads with
a binary anger head: utterance 0.806/0.889, speaker 0.848/0.904): embeddings of the clip encoded
alone but trimmed (no 30 s padding) 0.760/0.816 (mean pooling; mean+std pooling lower); the clip
alone in a padded window 0.814/0.877; packed in file order 0.909/0.985 (the artefact above,
rejected); packed in shuffled order 0.804/0.872; fused with the acoustic head, shuffled packing
0.870/0.889 (utterance) and 0.873/0.904 (speaker); trained on all four contexts, as here,
about 0.89/0.91-0.92 for both heads. Concatenating the two representations into one LDA,
logistic regression, re-adding binary anger heads and pYIN at 0.2-semitone resolution (a third
of the feature time, but 18 of the 408 training clips lose all voiced frames) were no better.

The result is written as JSON into the package (``models/emotion/weights/emotion-emodb-v3.json``):
scalers and softmax weights as plain arrays, the feature list and versions, the whisper weights'
SHA-256, the classes, a SHA-256 over the training files (sorted names + bytes) and the
cross-validation scores. ``--cache DIR`` keeps the extracted features and embeddings (about half
an hour on two cores, most of it encoding each clip alone) for a re-run.
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
from collections.abc import Callable, Iterable, Mapping, Sequence
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

from models.emotion.encoder import DIMENSIONS, EMBEDDING_VERSION, ENCODER_SHA256, TurnEmbedder
from models.emotion.features import FEATURE_NAMES, FEATURE_VERSION, SAMPLE_RATE, extract_features
from models.emotion.model import (
    MODEL_NAME,
    MODEL_VERSION,
    WEIGHTS_FILE,
    WEIGHTS_FORMAT,
    FusedHead,
    LinearHead,
    fuse_posteriors,
    speaker_normalize,
)

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "emodb"
DEFAULT_OUT = Path(__file__).resolve().parent / "weights" / WEIGHTS_FILE
TEST_SPEAKERS = frozenset({"15", "16"})
ANGER = "anger"
EMOTION_CODES = {
    "W": "anger",
    "L": "boredom",
    "E": "disgust",
    "A": "fear",
    "F": "happiness",
    "T": "sadness",
    "N": "neutral",
}
ACOUSTIC_SHRINKAGE: tuple[str | float, ...] = ("auto", 0.1, 0.3, 0.5)  # "auto": Ledoit-Wolf
EMBEDDING_SHRINKAGE: tuple[str | float, ...] = ("auto", 0.5)
WEIGHT_GRID = (0.3, 0.4, 0.5, 0.6, 0.7)  # acoustic weight in the log-linear fusion
PACKINGS = (0, 1, 2)  # seeds of the shuffled packings
CONTEXTS = ("packed0", "packed1", "packed2", "alone")
PACKED = CONTEXTS[:3]
TURN_GRID = (3, 5, 8, 10, 15, 20)
SUBSET_REPEATS = 5
FLOOR_FRACTION = 0.25
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


def load_audio(data_dir: Path, files: Sequence[str]) -> list[npt.NDArray[np.float32]]:
    out = []
    for file in files:
        samples, rate = sf.read(data_dir / file, dtype="float32", always_2d=True)
        mono = samples.mean(axis=1)
        if rate != SAMPLE_RATE:
            mono = librosa.resample(mono, orig_sr=rate, target_sr=SAMPLE_RATE)
        out.append(np.asarray(mono, dtype=np.float32))
    return out


def load_features(audio: Sequence[npt.NDArray[np.float32]]) -> Matrix:
    rows = []
    for index, samples in enumerate(audio, 1):
        rows.append(extract_features(samples))
        if index % 50 == 0 or index == len(audio):
            logger.info("features: %d/%d files", index, len(audio))
    return np.stack(rows)


def packed_embeddings(
    embedder: TurnEmbedder, audio: Sequence[npt.NDArray[np.float32]], speakers: Labels, seed: int
) -> Matrix:
    """Each speaker's clips in a shuffled order, packed into 30 s windows as a call's turns are."""
    rng = np.random.default_rng(seed)
    out = np.zeros((len(audio), DIMENSIONS))
    for s in sorted(set(speakers.tolist())):
        rows = np.flatnonzero(speakers == s)
        order = rows[rng.permutation(len(rows))]
        out[order] = embedder.embed([audio[i] for i in order])
    logger.info("embeddings: packing %d done", seed)
    return out


def alone_embeddings(embedder: TurnEmbedder, audio: Sequence[npt.NDArray[np.float32]]) -> Matrix:
    rows = []
    for index, samples in enumerate(audio, 1):
        rows.append(embedder.embed([samples])[0])
        if index % 50 == 0 or index == len(audio):
            logger.info("embeddings alone: %d/%d files", index, len(audio))
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


def predict(probs: Matrix, classes: Sequence[str]) -> Labels:
    labels: Labels = np.asarray(classes)[np.atleast_2d(probs).argmax(axis=1)]
    return labels


def scores(y: Labels, pred: Labels) -> dict[str, float]:
    return {
        "accuracy": round(float(accuracy_score(y, pred)), 4),
        "anger_f1": round(float(f1_score(y == ANGER, pred == ANGER)), 4),
    }


def mean_scores(per_context: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Mean accuracy and anger F1 over the packed contexts."""
    return {
        k: round(float(np.mean([per_context[c][k] for c in PACKED])), 4)
        for k in ("accuracy", "anger_f1")
    }


@dataclass(frozen=True, slots=True)
class TrainSet:
    """Training clips: labels, speakers, acoustic features and embeddings per context."""

    y: Labels
    speakers: Labels
    acoustic: Matrix
    embeddings: Mapping[str, Matrix]


def loso_acoustic(data: TrainSet, fit: Fit, by_speaker: bool) -> Matrix:
    """Each training speaker's acoustic posteriors from a head fitted on the other speakers."""
    x, y, speakers = data.acoustic, data.y, data.speakers
    out: Matrix | None = None
    for held in np.unique(speakers):
        test = speakers == held
        xs = x
        if by_speaker:
            xs = normalize_by_speaker(x, speakers, std_floor(x[~test], speakers[~test]))
        probs = fit(xs[~test], y[~test]).probabilities(xs[test])
        if out is None:
            out = np.zeros((len(y), probs.shape[1]))
        out[test] = probs
    if out is None:
        raise ValueError("no training speakers")
    return out


def loso_embedding(data: TrainSet, fit: Fit, by_speaker: bool) -> dict[str, Matrix]:
    """Posteriors per context of embedding heads fitted on all contexts of the other speakers."""
    y, speakers = data.y, data.speakers
    out: dict[str, Matrix] = {}
    for held in np.unique(speakers):
        test = speakers == held
        xs = dict(data.embeddings)
        if by_speaker:
            floor = std_floor(
                np.vstack([xs[c][~test] for c in CONTEXTS]),
                np.concatenate([speakers[~test]] * len(CONTEXTS)),
            )
            xs = {c: normalize_by_speaker(v, speakers, floor) for c, v in xs.items()}
        head = fit(
            np.vstack([xs[c][~test] for c in CONTEXTS]),
            np.concatenate([y[~test]] * len(CONTEXTS)),
        )
        for c in CONTEXTS:
            probs = head.probabilities(xs[c][test])
            out.setdefault(c, np.zeros((len(y), probs.shape[1])))[test] = probs
    return out


def _pick(grid: Sequence[Any], results: Mapping[Any, Mapping[str, float]]) -> Any:
    # accuracy, then anger F1; ties go to the earlier grid entry
    return max(grid, key=lambda g: (results[g]["accuracy"], results[g]["anger_f1"], -grid.index(g)))


def select(data: TrainSet, classes: Sequence[str], by_speaker: bool) -> dict[str, Any]:
    """Cross-validated shrinkages and fusion weight of one head, with the figures behind them."""
    name = "speaker" if by_speaker else "utterance"
    y = data.y
    acoustic: dict[str | float, Matrix] = {}
    acoustic_grid: dict[str | float, dict[str, float]] = {}
    for s in ACOUSTIC_SHRINKAGE:
        fit: Fit = functools.partial(fit_head, classes=classes, shrinkage=s)
        acoustic[s] = loso_acoustic(data, fit, by_speaker)
        acoustic_grid[s] = scores(y, predict(acoustic[s], classes))
        logger.info("CV %s acoustic shrinkage=%s: %s", name, s, acoustic_grid[s])
    best_acoustic = _pick(ACOUSTIC_SHRINKAGE, acoustic_grid)
    embedding: dict[str | float, dict[str, Matrix]] = {}
    embedding_grid: dict[str | float, dict[str, Any]] = {}
    for s in EMBEDDING_SHRINKAGE:
        fit = functools.partial(fit_head, classes=classes, shrinkage=s)
        embedding[s] = loso_embedding(data, fit, by_speaker)
        per = {c: scores(y, predict(p, classes)) for c, p in embedding[s].items()}
        embedding_grid[s] = {**mean_scores(per), "contexts": per}
        logger.info("CV %s embedding shrinkage=%s: %s", name, s, embedding_grid[s])
    best_embedding = _pick(EMBEDDING_SHRINKAGE, embedding_grid)
    fused: dict[float, dict[str, Any]] = {}
    for w in WEIGHT_GRID:
        per = {
            c: scores(y, predict(fuse_posteriors(acoustic[best_acoustic], p, w), classes))
            for c, p in embedding[best_embedding].items()
        }
        fused[w] = {**mean_scores(per), "contexts": per}
        logger.info("CV %s fused acoustic weight=%s: %s", name, w, fused[w])
    order = sorted(WEIGHT_GRID, key=lambda w: abs(w - 0.5))  # ties: closest to equal weights
    weight = _pick(order, fused)
    return {
        "acoustic_shrinkage": best_acoustic,
        "embedding_shrinkage": best_embedding,
        "acoustic_weight": weight,
        **fused[weight],
        "acoustic_only": acoustic_grid[best_acoustic],
        "embedding_only": embedding_grid[best_embedding],
        "acoustic_grid": {str(s): r for s, r in acoustic_grid.items()},
        "embedding_grid": {str(s): r for s, r in embedding_grid.items()},
        "weight_grid": {str(w): r for w, r in fused.items()},
    }


def fit_fused(
    acoustic: Matrix,
    embeddings: Mapping[str, Matrix],
    y: Labels,
    classes: Sequence[str],
    chosen: Mapping[str, Any],
) -> FusedHead:
    """A fused head: acoustic LDA on the clips, embedding LDA on the clips of every context."""
    return FusedHead(
        acoustic=fit_head(acoustic, y, classes, chosen["acoustic_shrinkage"]),
        embedding=fit_head(
            np.vstack([embeddings[c] for c in CONTEXTS]),
            np.concatenate([y] * len(CONTEXTS)),
            classes,
            chosen["embedding_shrinkage"],
        ),
        acoustic_weight=float(chosen["acoustic_weight"]),
    )


def turns_curve(
    data: TrainSet, classes: Sequence[str], chosen: Mapping[str, Any]
) -> dict[int, float]:
    """CV accuracy of the speaker head when a held-out speaker's baseline comes from k turns
    (embeddings of the first packing)."""
    rng = np.random.default_rng(0)
    correct = {k: 0.0 for k in TURN_GRID}
    y, speakers, x = data.y, data.speakers, data.acoustic
    for held in np.unique(speakers):
        test = speakers == held
        floor = std_floor(x[~test], speakers[~test])
        efloor = std_floor(
            np.vstack([data.embeddings[c][~test] for c in CONTEXTS]),
            np.concatenate([speakers[~test]] * len(CONTEXTS)),
        )
        head = fit_fused(
            normalize_by_speaker(x[~test], speakers[~test], floor),
            {
                c: normalize_by_speaker(e[~test], speakers[~test], efloor)
                for c, e in data.embeddings.items()
            },
            y[~test],
            classes,
            chosen,
        )
        xt, et = x[test], data.embeddings[PACKED[0]][test]
        for k in TURN_GRID:
            for _ in range(SUBSET_REPEATS):
                pick = rng.choice(len(xt), size=min(k, len(xt)), replace=False)
                z = (xt - xt[pick].mean(axis=0)) / np.maximum(xt[pick].std(axis=0), floor)
                ze = (et - et[pick].mean(axis=0)) / np.maximum(et[pick].std(axis=0), efloor)
                hits = predict(head.probabilities(z, ze), classes) == y[test]
                correct[k] += float(hits.sum()) / SUBSET_REPEATS
    return {k: round(v / len(y), 4) for k, v in correct.items()}


def extract(data_dir: Path, files: Sequence[str], speakers: Labels, cache: Path | None) -> TrainSet:
    """Features and embeddings of the training clips, from ``cache`` if it holds these files'."""
    digest = data_sha256(data_dir, files)
    key = f"{digest[:16]}-{FEATURE_VERSION}-{EMBEDDING_VERSION}".replace("/", "_")
    cached = cache / f"emotion-train-{key}.npz" if cache is not None else None
    if cached is not None and cached.is_file():
        logger.info("features and embeddings from %s", cached)
        with np.load(cached) as npz:
            return TrainSet(
                np.empty(0, dtype=str), speakers, npz["acoustic"], {c: npz[c] for c in CONTEXTS}
            )
    audio = load_audio(data_dir, files)
    acoustic = load_features(audio)
    embedder = TurnEmbedder()
    embeddings = {f"packed{s}": packed_embeddings(embedder, audio, speakers, s) for s in PACKINGS}
    embeddings["alone"] = alone_embeddings(embedder, audio)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, Any] = {"acoustic": acoustic, **embeddings}
        np.savez(cached, **arrays)
    return TrainSet(np.empty(0, dtype=str), speakers, acoustic, embeddings)


def train(data_dir: Path, out: Path, cache: Path | None = None) -> dict[str, Any]:
    """Extract, choose and fit both heads, write the weights JSON; returns its content."""
    labels = {u.file: u for u in read_labels(data_dir)}
    train_files, held_out = split_train_test(labels)
    logger.info("train: %d files; held out (never read): %d", len(train_files), len(held_out))
    y = np.array([labels[f].emotion for f in train_files])
    speakers = np.array([labels[f].speaker for f in train_files])
    extracted = extract(data_dir, train_files, speakers, cache)
    data = TrainSet(y, speakers, extracted.acoustic, extracted.embeddings)
    classes = sorted(set(y.tolist()))

    utt_cv = select(data, classes, by_speaker=False)
    spk_cv = select(data, classes, by_speaker=True)
    curve = turns_curve(data, classes, spk_cv)
    logger.info("speaker-baseline accuracy by turns: %s", curve)
    # fewest turns from which the speaker head stays at least as good as the utterance head
    enough = [
        k
        for i, k in enumerate(TURN_GRID)
        if all(curve[j] >= utt_cv["accuracy"] for j in TURN_GRID[i:])
    ]
    min_turns = enough[0] if enough else NEVER

    floor = std_floor(data.acoustic, speakers)
    efloor = std_floor(
        np.vstack([data.embeddings[c] for c in CONTEXTS]),
        np.concatenate([speakers] * len(CONTEXTS)),
    )
    utterance = fit_fused(data.acoustic, data.embeddings, y, classes, utt_cv)
    speaker = fit_fused(
        normalize_by_speaker(data.acoustic, speakers, floor),
        {c: normalize_by_speaker(e, speakers, efloor) for c, e in data.embeddings.items()},
        y,
        classes,
        spk_cv,
    )
    content: dict[str, Any] = {
        "format": WEIGHTS_FORMAT,
        "name": MODEL_NAME,
        "version": MODEL_VERSION,
        "feature_version": FEATURE_VERSION,
        "features": list(FEATURE_NAMES),
        "embedding": {
            "version": EMBEDDING_VERSION,
            "encoder_sha256": ENCODER_SHA256,
            "dimensions": DIMENSIONS,
        },
        "classes": classes,
        "sample_rate": SAMPLE_RATE,
        "train": {
            "data": "EmoDB (Burkhardt et al. 2005), audEERING CC0 republication, 16 kHz",
            "files": len(train_files),
            "speakers": sorted(set(speakers.tolist())),
            "sha256": data_sha256(data_dir, train_files),
            "contexts": list(CONTEXTS),
            "versions": {
                "numpy": np.__version__,
                "librosa": importlib.metadata.version("librosa"),
                "scikit-learn": importlib.metadata.version("scikit-learn"),
                "faster-whisper": importlib.metadata.version("faster-whisper"),
                "ctranslate2": importlib.metadata.version("ctranslate2"),
            },
        },
        "cv": {
            "scheme": "leave-one-speaker-out over the training speakers",
            "utterance": utt_cv,
            "speaker": spk_cv,
            "speaker_turns_accuracy": {str(k): v for k, v in curve.items()},
        },
        "speaker_normalization": {
            "min_turns": min_turns,
            "acoustic_std_floor": floor.tolist(),
            "embedding_std_floor": efloor.tolist(),
        },
        "heads": {"utterance": utterance.to_json(), "speaker": speaker.to_json()},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(content, separators=(",", ":")) + "\n", encoding="utf-8")
    logger.info("wrote %s (%d bytes)", out, out.stat().st_size)
    return content


SUMMARY = ("acoustic_shrinkage", "embedding_shrinkage", "acoustic_weight", "accuracy", "anger_f1")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="EmoDB directory")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="weights JSON to write")
    parser.add_argument("--cache", type=Path, default=None, help="keep features/embeddings here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    content = train(args.data, args.out, args.cache)
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
