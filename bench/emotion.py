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

Each protocol is also scored in call-centre states (``models.emotion.states``: angry, upset,
neutral, satisfied, the thresholds shipped with the weights): the state of each clip's prediction
against the state of its acted class.

``--telephone`` measures the same split again through telephone channels
(``models.emotion.telephone``: band-pass 300-3400 Hz, 8 kHz, G.711, back to 16 kHz, seeded white
noise): ``mulaw-15`` (mu-law, 15 dB SNR, the reference telephone condition), ``alaw-15``,
``mulaw-10``, ``mulaw-20``, then prints studio and telephone side by side (``--conditions``
picks some). The copies are built in a temporary folder each run, the same every run (noise seed
``NOISE_SEED`` and the clip's index); ``--cache DIR`` keeps their features and embeddings.

And inference time per second of audio (features + embeddings + head) on this machine.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf

from models.emotion.band import front_end
from models.emotion.encoder import DIMENSIONS, EMBEDDING_VERSION
from models.emotion.features import FEATURE_VERSION, line_features
from models.emotion.model import EmotionPrediction, SpeechEmotionModel
from models.emotion.states import STATES, StateThresholds, acoustic_state, state_of
from models.emotion.telephone import Channel, degrade_all
from models.emotion.train_data import DEFAULT_DATA, data_sha256, parse_name, split_train_test
from pipelines.core.audio import SAMPLE_RATE

CONDITIONS: Mapping[str, Channel | None] = {
    "studio": None,
    "mulaw-15": Channel("mu-law", 15.0),
    "alaw-15": Channel("a-law", 15.0),
    "mulaw-10": Channel("mu-law", 10.0),
    "mulaw-20": Channel("mu-law", 20.0),
}
TELEPHONE = "mulaw-15"
NOISE_SEED = 1516  # the test split's noise; the training copies use other seeds


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
    truth: Sequence[str], predicted: Sequence[str], classes: Sequence[str], positive: str = "anger"
) -> EmotionScores:
    """Accuracy, per-class recall, confusion matrix and ``positive``-vs-rest scores (the
    ``anger_*`` fields: anger for the classes, ``angry`` for the states)."""
    index = {c: i for i, c in enumerate(classes)}
    confusion = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for t, p in zip(truth, predicted, strict=True):
        confusion[index[t], index[p]] += 1
    support = confusion.sum(axis=1)
    recall = {
        c: float(confusion[i, i] / support[i]) if support[i] else 0.0 for c, i in index.items()
    }
    a = index[positive]
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


def evaluate_states(
    truth: Sequence[str], predictions: Sequence[EmotionPrediction], thresholds: StateThresholds
) -> EmotionScores:
    """The predictions' call-centre states against the states of the true classes."""
    states = [acoustic_state(p.probabilities, thresholds)[0] for p in predictions]
    return evaluate([state_of(t) for t in truth], states, STATES, positive="angry")


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


def through(split: TestSplit, channel: Channel | None) -> TestSplit:
    """The split with every clip passed through ``channel`` (None: as recorded)."""
    if channel is None:
        return split
    return replace(split, samples=tuple(degrade_all(split.samples, channel, NOISE_SEED)))


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
    lines = [front_end(s) for s in split.samples]  # once per clip, as the model does
    features = np.stack([line_features(y) for y in lines])
    packed = np.zeros((len(split.files), DIMENSIONS))
    for order in shuffled_speaker_orders(split):
        packed[order] = model.embedder.embed_lines([lines[i] for i in order])
    single = None
    if alone:
        single = np.stack([model.embedder.embed_lines([y])[0] for y in lines])
    return SplitInputs(features, packed, single)


def cached_inputs(
    model: SpeechEmotionModel,
    split: TestSplit,
    *,
    alone: bool,
    cache: Path | None,
    key: str,
) -> SplitInputs:
    """``split_inputs``, kept in ``cache`` (when given) under ``key`` and the feature and
    embedding versions."""
    name = f"emotion-bench-{key}-{FEATURE_VERSION}-{EMBEDDING_VERSION}".replace("/", "_")
    path = cache / f"{name}.npz" if cache is not None else None
    if path is not None and path.is_file():
        with np.load(path) as npz:
            if alone <= ("alone" in npz.files):
                return SplitInputs(npz["features"], npz["packed"], npz["alone"] if alone else None)
    inputs = split_inputs(model, split, alone=alone)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"features": inputs.features, "packed": inputs.packed}
        if inputs.alone is not None:
            arrays["alone"] = inputs.alone
        np.savez(path, **arrays)  # type: ignore[arg-type]
    return inputs


def predictions_split(
    model: SpeechEmotionModel, split: TestSplit, inputs: SplitInputs
) -> dict[str, list[EmotionPrediction]]:
    """Predictions per protocol (see the module docstring); the speaker head per test speaker."""
    out = {
        "utterance (packed)": model.predict_features(inputs.features, inputs.packed, "utterance")
    }
    if inputs.alone is not None:
        out["utterance (alone)"] = model.predict_features(
            inputs.features, inputs.alone, "utterance"
        )
    speaker: list[EmotionPrediction | None] = [None] * len(split.files)
    for rows in shuffled_speaker_orders(split):
        preds = model.predict_features(inputs.features[rows], inputs.packed[rows], "speaker")
        for row, pred in zip(rows, preds, strict=True):
            speaker[row] = pred
    out["speaker (packed)"] = [p for p in speaker if p is not None]
    return out


def predict_split(
    model: SpeechEmotionModel, split: TestSplit, inputs: SplitInputs
) -> dict[str, list[str]]:
    """Labels per protocol (see the module docstring)."""
    return {k: [p.label for p in v] for k, v in predictions_split(model, split, inputs).items()}


def _print_scores(title: str, scores: EmotionScores) -> None:
    positive = "anger" if "anger" in scores.classes else "angry"
    print(f"\n== {title}")
    print(f"{len(scores.classes)}-class accuracy: {scores.accuracy:.3f}")
    print(
        f"{positive} vs rest: precision {scores.anger_precision:.3f}"
        f"  recall {scores.anger_recall:.3f}  F1 {scores.anger_f1:.3f}"
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
    states = cv.get("states")
    if states:
        chosen = ", ".join(
            f"{s} {v['threshold']} (precision {v['precision']:.3f}, recall {v['recall']:.3f})"
            for s, v in states["states"].items()
        )
        print(f"state thresholds (F{states['beta']} on {states['rows']} CV rows): {chosen}")


Table = dict[str, dict[str, tuple[EmotionScores, EmotionScores]]]


def _print_side_by_side(table: Table) -> None:
    conditions = list(table)
    print("\n== studio vs telephone: 7-class accuracy / state accuracy / angry-state F1")
    print(f"{'':20}" + "".join(f"{c:>20}" for c in conditions))
    for protocol in table[conditions[0]]:
        cells = []
        for c in conditions:
            classes, states = table[c][protocol]
            cells.append(f"{classes.accuracy:.3f}/{states.accuracy:.3f}/{states.anger_f1:.3f}")
        print(f"{protocol:20}" + "".join(f"{cell:>20}" for cell in cells))
    if "studio" in table and len(conditions) > 1:
        for c in conditions[1:]:
            drops = ", ".join(
                f"{p} {100 * (table['studio'][p][0].accuracy - table[c][p][0].accuracy):+.1f}"
                f"/{100 * (table['studio'][p][1].accuracy - table[c][p][1].accuracy):+.1f}"
                for p in table[c]
            )
            print(f"points lost from studio to {c} (7-class/states): {drops}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="speech emotion on EmoDB test speakers 15, 16")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="EmoDB directory")
    parser.add_argument(
        "--telephone", action="store_true", help="also every telephone condition, side by side"
    )
    parser.add_argument(
        "--conditions", default=None, help=f"comma-separated, of {', '.join(CONDITIONS)}"
    )
    parser.add_argument("--no-alone", action="store_true", help="skip encoding each clip alone")
    parser.add_argument("--cache", type=Path, default=None, help="keep features/embeddings here")
    args = parser.parse_args(argv)
    names = ["studio", *CONDITIONS] if args.telephone else ["studio"]
    if args.conditions:
        names = args.conditions.split(",")
    if unknown := set(names) - set(CONDITIONS):
        parser.error(f"unknown conditions {sorted(unknown)}; known: {', '.join(CONDITIONS)}")
    names = list(dict.fromkeys(names))
    model = SpeechEmotionModel()
    thresholds = StateThresholds()
    studio = load_test_split(args.data)
    print(f"model {model.info.name} v{model.info.version} sha256 {model.info.sha256[:16]}")
    _print_cross_validation(model.cross_validation)
    print(f"\ntest split: {len(studio.files)} files, speakers {sorted(set(studio.speakers))}")
    print(f"min turns for the speaker head in predict_turns: {model.min_turns}")
    print(f"state thresholds: {thresholds}")
    digest = data_sha256(args.data, studio.files)[:12]

    table: Table = {}
    for name in names:
        channel = CONDITIONS[name]
        split = through(studio, channel)
        start = time.perf_counter()
        key = f"{digest}-{name}-seed{NOISE_SEED}"
        inputs = cached_inputs(model, split, alone=not args.no_alone, cache=args.cache, key=key)
        elapsed = time.perf_counter() - start
        table[name] = {}
        for protocol, preds in predictions_split(model, split, inputs).items():
            classes = evaluate(split.emotions, [p.label for p in preds], model.classes)
            states = evaluate_states(split.emotions, preds, thresholds)
            table[name][protocol] = (classes, states)
            if name in ("studio", TELEPHONE):
                where = name if channel is None else f"{name}: {channel.name}"
                _print_scores(f"{where}, {protocol} head", classes)
                _print_scores(f"{where}, {protocol} head, call-centre states", states)
        print(f"\n{name}: features and embeddings in {elapsed:.0f} s")
    _print_side_by_side(table)

    split = studio
    start = time.perf_counter()
    model.predict_turns(list(split.samples[:15]))
    packed_s = time.perf_counter() - start
    seconds = sum(len(s) for s in split.samples[:15]) / SAMPLE_RATE
    print(
        f"\ninference: {packed_s / seconds * 1000:.1f} ms per second of audio for 15 turns of"
        f" one caller ({seconds:.0f} s) through predict_turns"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
