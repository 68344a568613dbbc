"""Speech emotion on EmoDB's held-out test split (speakers 15 and 16): ``python -m bench.emotion``.

Prints first the leave-one-speaker-out cross-validation figures on the training speakers that are
stored with the weights (what every model choice was made on), then, for both heads of the shipped
model on the test split, 7-class accuracy, per-class recall, the confusion
matrix and anger-vs-rest precision/recall/F1; and inference time per second of audio (features +
utterance head, one thread of this machine). The ``speaker`` head normalises each test speaker's
turns by that speaker's own turns (all of them, unlabelled), as a call would per caller.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf

from models.emotion.features import SAMPLE_RATE, extract_features
from models.emotion.model import Normalization, SpeechEmotionModel
from models.emotion.train import DEFAULT_DATA, parse_name, split_train_test


@dataclass(frozen=True, slots=True)
class EmotionScores:
    classes: tuple[str, ...]
    accuracy: float
    recall: dict[str, float]
    confusion: npt.NDArray[np.int64]  # rows: true class, columns: predicted class
    anger_precision: float
    anger_recall: float
    anger_f1: float


def evaluate(
    truth: Sequence[str], predicted: Sequence[str], classes: Sequence[str]
) -> EmotionScores:
    """Accuracy, per-class recall, confusion matrix and anger-vs-rest scores."""
    index = {c: i for i, c in enumerate(classes)}
    confusion = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for t, p in zip(truth, predicted, strict=True):
        confusion[index[t], index[p]] += 1
    support = confusion.sum(axis=1)
    recall = {
        c: float(confusion[i, i] / support[i]) if support[i] else 0.0 for c, i in index.items()
    }
    a = index["anger"]
    tp = float(confusion[a, a])
    precision = tp / max(float(confusion[:, a].sum()), 1.0)
    anger_recall = tp / max(float(confusion[a, :].sum()), 1.0)
    f1 = 2 * precision * anger_recall / (precision + anger_recall) if tp else 0.0
    return EmotionScores(
        classes=tuple(classes),
        accuracy=float(np.trace(confusion) / max(confusion.sum(), 1)),
        recall=recall,
        confusion=confusion,
        anger_precision=precision,
        anger_recall=anger_recall,
        anger_f1=f1,
    )


@dataclass(frozen=True, slots=True)
class TestSplit:
    files: tuple[str, ...]
    speakers: tuple[str, ...]
    emotions: tuple[str, ...]
    samples: tuple[npt.NDArray[np.float32], ...]


def load_test_split(data_dir: Path) -> TestSplit:
    """Every file of the test speakers found in ``data_dir`` (16 kHz mono WAV)."""
    _, test = split_train_test(p.name for p in data_dir.glob("*.wav"))
    samples = []
    for file in test:
        audio, rate = sf.read(data_dir / file, dtype="float32")
        if rate != SAMPLE_RATE or audio.ndim != 1:
            raise ValueError(f"{file}: expected 16 kHz mono, got {rate} Hz, shape {audio.shape}")
        samples.append(audio)
    utts = [parse_name(f) for f in test]
    return TestSplit(
        tuple(test),
        tuple(u.speaker for u in utts),
        tuple(u.emotion for u in utts),
        tuple(samples),
    )


def predict_split(
    model: SpeechEmotionModel, split: TestSplit, features: npt.NDArray[np.float64]
) -> dict[Normalization, list[str]]:
    """Labels from both heads; the speaker head normalises per test speaker."""
    utterance = [p.label for p in model.predict_features(features, "utterance")]
    speaker = [""] * len(split.files)
    speakers = np.array(split.speakers)
    for s in sorted(set(split.speakers)):
        rows = np.flatnonzero(speakers == s)
        for row, pred in zip(rows, model.predict_features(features[rows], "speaker"), strict=True):
            speaker[row] = pred.label
    return {"utterance": utterance, "speaker": speaker}


def _print_scores(title: str, scores: EmotionScores) -> None:
    print(f"\n== {title}")
    print(f"7-class accuracy: {scores.accuracy:.3f}")
    print(
        f"anger vs rest: precision {scores.anger_precision:.3f}  recall {scores.anger_recall:.3f}"
        f"  F1 {scores.anger_f1:.3f}"
    )
    print("per-class recall: " + ", ".join(f"{c} {r:.2f}" for c, r in scores.recall.items()))
    short = [c[:5] for c in scores.classes]
    print("confusion (rows true, columns predicted):")
    print(" " * 10 + " ".join(f"{c:>5}" for c in short))
    for c, row in zip(scores.classes, scores.confusion, strict=True):
        print(f"{c:>10}" + " ".join(f"{int(v):5d}" for v in row))


def _print_cross_validation(cv: Mapping[str, Any]) -> None:
    print(f"\n== cross-validation on the training speakers ({cv.get('scheme', 'unknown')})")
    for head in ("utterance", "speaker"):
        if head not in cv:
            continue
        r = cv[head]
        seven = r.get("seven_class", r)
        print(
            f"{head} head: 7-class accuracy {r['accuracy']:.3f}  anger F1 {r['anger_f1']:.3f}"
            f"  (LDA shrinkage {r['shrinkage']}, anger head shrinkage {r.get('anger_shrinkage')};"
            f" without the anger head {seven['accuracy']:.3f} / {seven['anger_f1']:.3f})"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="speech emotion on EmoDB test speakers 15, 16")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="EmoDB directory")
    args = parser.parse_args(argv)
    model = SpeechEmotionModel()
    split = load_test_split(args.data)
    print(f"model {model.info.name} v{model.info.version} sha256 {model.info.sha256[:16]}")
    _print_cross_validation(model.cross_validation)
    print(f"\ntest split: {len(split.files)} files, speakers {sorted(set(split.speakers))}")

    rows, elapsed = [], 0.0
    for samples in split.samples:
        start = time.perf_counter()
        feats = extract_features(samples)
        model.predict_features(feats[None, :], "utterance")
        elapsed += time.perf_counter() - start
        rows.append(feats)
    features = np.stack(rows)
    audio_s = sum(len(s) for s in split.samples) / SAMPLE_RATE

    for head, labels in predict_split(model, split, features).items():
        _print_scores(f"{head} head", evaluate(split.emotions, labels, model.classes))

    long_turn = np.concatenate(split.samples[:15])
    start = time.perf_counter()
    model.predict(long_turn)
    long_s = time.perf_counter() - start
    print(
        f"\ninference: {elapsed / audio_s * 1000:.1f} ms per second of audio over {audio_s:.0f} s "
        f"of 2-s turns; {long_s / (len(long_turn) / SAMPLE_RATE) * 1000:.1f} ms/s on one "
        f"{len(long_turn) / SAMPLE_RATE:.0f}-s turn"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
