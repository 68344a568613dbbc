"""Speech emotion on EmoDB's held-out test split (speakers 15 and 16): ``python -m bench.emotion``.

Prints first the leave-one-speaker-out cross-validation figures on the training speakers that are
stored with the weights (what every model choice was made on), then, on the test split, 7-class
accuracy, per-class recall, the confusion matrix and anger-vs-rest precision/recall/F1 for:

* ``utterance (packed)``: each test speaker's clips in a fixed shuffled order (seed 0), packed
  into 30 s encoder windows as a caller's turns are in a call (``predict_turns``; the model's
  ``min_turns`` keeps the utterance head for every count of turns). File order is not used: it
  puts one sentence in several emotions side by side, which no call does.
* ``utterance (alone)``: each clip encoded on its own (a single turn, as live calls score).
* ``speaker (packed)``: the packed embeddings, each test speaker z-scored over their own clips
  (all of them, unlabelled).

And inference time per second of audio (features + embeddings + head) on this machine.
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

from models.emotion.encoder import DIMENSIONS
from models.emotion.features import SAMPLE_RATE, extract_features
from models.emotion.model import SpeechEmotionModel
from models.emotion.train_data import DEFAULT_DATA, parse_name, split_train_test


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


SHUFFLE_SEED = 0


@dataclass(frozen=True, slots=True)
class SplitInputs:
    """Acoustic features and embeddings of the test clips (rows in file order)."""

    features: npt.NDArray[np.float64]
    packed: npt.NDArray[np.float64]
    alone: npt.NDArray[np.float64] | None


def shuffled_speaker_orders(split: TestSplit) -> list[npt.NDArray[np.int64]]:
    """Per test speaker, the row indices of their clips in a fixed shuffled order."""
    rng = np.random.default_rng(SHUFFLE_SEED)
    speakers = np.array(split.speakers)
    orders = []
    for s in sorted(set(split.speakers)):
        rows = np.flatnonzero(speakers == s)
        orders.append(rows[rng.permutation(len(rows))])
    return orders


def split_inputs(model: SpeechEmotionModel, split: TestSplit, *, alone: bool = True) -> SplitInputs:
    features = np.stack([extract_features(s) for s in split.samples])
    packed = np.zeros((len(split.files), DIMENSIONS))
    for order in shuffled_speaker_orders(split):
        packed[order] = model.embedder.embed([split.samples[i] for i in order])
    single = None
    if alone:
        single = np.stack([model.embedder.embed([s])[0] for s in split.samples])
    return SplitInputs(features, packed, single)


def predict_split(
    model: SpeechEmotionModel, split: TestSplit, inputs: SplitInputs
) -> dict[str, list[str]]:
    """Labels per protocol (see the module docstring); the speaker head per test speaker."""
    out = {
        "utterance (packed)": [
            p.label for p in model.predict_features(inputs.features, inputs.packed, "utterance")
        ]
    }
    if inputs.alone is not None:
        out["utterance (alone)"] = [
            p.label for p in model.predict_features(inputs.features, inputs.alone, "utterance")
        ]
    speaker = [""] * len(split.files)
    for rows in shuffled_speaker_orders(split):
        preds = model.predict_features(inputs.features[rows], inputs.packed[rows], "speaker")
        for row, pred in zip(rows, preds, strict=True):
            speaker[row] = pred.label
    out["speaker (packed)"] = speaker
    return out


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
        contexts = ", ".join(
            f"{c} {v['accuracy']:.3f}/{v['anger_f1']:.3f}" for c, v in r["contexts"].items()
        )
        print(
            f"{head} head: 7-class accuracy {r['accuracy']:.3f}  anger F1 {r['anger_f1']:.3f}"
            f" (mean of the packed contexts; {contexts});"
            f" acoustic weight {r['acoustic_weight']}, LDA shrinkage acoustic"
            f" {r['acoustic_shrinkage']}, embedding {r['embedding_shrinkage']};"
            f" acoustic alone {r['acoustic_only']['accuracy']:.3f}/"
            f"{r['acoustic_only']['anger_f1']:.3f}, embedding alone"
            f" {r['embedding_only']['accuracy']:.3f}/{r['embedding_only']['anger_f1']:.3f}"
        )
    turns = cv.get("speaker_turns_accuracy")
    if turns:
        print(f"speaker head accuracy by turns in the baseline: {turns}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="speech emotion on EmoDB test speakers 15, 16")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="EmoDB directory")
    args = parser.parse_args(argv)
    model = SpeechEmotionModel()
    split = load_test_split(args.data)
    print(f"model {model.info.name} v{model.info.version} sha256 {model.info.sha256[:16]}")
    _print_cross_validation(model.cross_validation)
    print(f"\ntest split: {len(split.files)} files, speakers {sorted(set(split.speakers))}")

    print(f"min turns for the speaker head in predict_turns: {model.min_turns}")
    start = time.perf_counter()
    inputs = split_inputs(model, split)
    elapsed = time.perf_counter() - start
    audio_s = sum(len(s) for s in split.samples) / SAMPLE_RATE

    for protocol, labels in predict_split(model, split, inputs).items():
        _print_scores(f"{protocol} head", evaluate(split.emotions, labels, model.classes))

    long_turn = np.concatenate(split.samples[:15])
    start = time.perf_counter()
    model.predict_turns(list(split.samples[:15]))
    packed_s = time.perf_counter() - start
    print(
        f"\ninference: {elapsed / audio_s / 2 * 1000:.1f} ms per second of audio over"
        f" {audio_s:.0f} s of 2-s turns (features, packed and alone embeddings, averaged); "
        f"{packed_s / (len(long_turn) / SAMPLE_RATE) * 1000:.1f} ms/s for 15 turns of one caller"
        f" ({len(long_turn) / SAMPLE_RATE:.0f} s) through predict_turns"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
