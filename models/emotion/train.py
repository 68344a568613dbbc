"""Train the speech emotion model on EmoDB's train split: ``python -m models.emotion.train``.

Speakers 15 and 16 are the held-out test split and are never read here. Every choice is made by
leave-one-speaker-out cross-validation (LOSO) over the eight training speakers
(``models.emotion.train_cv``): the covariance shrinkage of each LDA, the fusion weight of each
head, the minimum number of turns for speaker normalisation and the thresholds of the call-centre
states (``models.emotion.states``: F0.5 per state over the utterance head's cross-validated
posteriors in every context, studio and telephone).

Since v6 every clip goes through the telephone front end first (``models.emotion.band``:
300-3400 Hz, steady noise reduced), and a telephone copy of every training clip
(``models.emotion.train_data``: sox band-pass, 8 kHz, G.711 mu-law or A-law, white noise at 8-25
dB SNR) adds training rows and is scored as contexts of its own (``tel-packed0`` .. ``tel-alone``);
choices are made on the mean over the packed contexts of both. v5 read the whole studio band:
LOSO 0.943 on studio clips, but on the test speakers through mu-law at 15 dB SNR it fell from
0.937 to 0.614 (``bench.emotion --telephone``). LOSO of the utterance head, studio / telephone
contexts (packed; encoded alone): the telephone band and copy alone 0.914 / 0.840 (0.841 /
0.748); with noise reduction and less strict pYIN voicing 0.908 / 0.835 (0.841 / 0.770); with
the level set as well (v6: a line 20 dB quieter changed a label before) 0.905 / 0.837 (0.848 /
0.779).

Each clip is described by its acoustic features (``models.emotion.features``) and by its whisper
encoder embedding (``models.emotion.encoder``) in four contexts: packed with the other clips of the
same speaker into 30 s windows in three shuffled orders (a call's turns are packed the same way,
and the clips' file order would put the same sentence in several emotions side by side, which the
encoder exploits and no call offers), and encoded alone (a single turn); see
``models.emotion.train_data``. The embedding heads are fitted on the rows of all four contexts;
their cross-validated scores are given per context, and choices are made on the mean over the
three packed contexts. Speed-perturbed copies of the fitting speakers' clips (0.9x and 1.1x,
packed contexts) are added to every head's training rows, never to what is scored.

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
The embeddings were the encoder's output up to v4 and are the residual stream after block 4 of
6 since v5 (per-block LOSO figures in ``models.emotion.encoder``); the figures below were
measured on the encoder's output.
With v3 (those heads, no speed copies: utterance 0.895/0.916) as the base, the LOSO confusion
showed happiness taken for anger as the main error (11 of 54 happy clips; 11 of the 12 false
anger calls), so these were weighed against it (each at its best fusion weight): speed copies on
every head's rows 0.897/0.928 (kept: the plain form of the technique, and the anger F1 gain); on
the acoustic rows only 0.899/0.912, on the embedding rows only 0.893/0.916; a happiness-vs-anger
pairwise LDA re-splitting the two classes' mass 0.892/0.911 at best; an anger prior shift (log
-1.5 to +0.5) 0.895/0.919 at best; projecting out the top 2-6 between-speaker directions (nuisance
attribute projection), without speed copies, 0.898/0.922 at best (left out: no clear gain).

The result is written as JSON into the package (``models/emotion/weights/emotion-emodb-v6.json``):
scalers and softmax weights as plain arrays, the feature list and versions, the whisper weights'
SHA-256, the classes, a SHA-256 over the training files (sorted names + bytes), the
cross-validation scores and the state thresholds with the figures behind them. ``--cache DIR``
keeps the extracted features and embeddings (40-60 minutes on two shared cores: features, each
clip encoded alone, the speed copies, the telephone copy) and the utterance head's
cross-validated posteriors for a re-run.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.emotion.encoder import DIMENSIONS, EMBEDDING_VERSION, ENCODER_SHA256
from models.emotion.features import FEATURE_NAMES, FEATURE_VERSION
from models.emotion.model import MODEL_NAME, MODEL_VERSION, WEIGHTS_FILE, WEIGHTS_FORMAT
from models.emotion.states import tune_thresholds
from models.emotion.train_cv import (
    NEVER,
    TURN_GRID,
    Posteriors,
    acoustic_floor,
    embedding_floor,
    fit_fused,
    select,
    speaker_view,
    turns_curve,
    unchanged,
)
from models.emotion.train_data import (
    CONTEXTS,
    DEFAULT_DATA,
    PACKED,
    SPEEDS,
    TELEPHONE_SEED,
    TELEPHONE_SNR_DB,
    data_sha256,
    extract,
    read_labels,
    split_train_test,
)
from pipelines.core.audio import SAMPLE_RATE

logger = logging.getLogger(__name__)

DEFAULT_OUT = Path(__file__).resolve().parent / "weights" / WEIGHTS_FILE


def save_posteriors(path: Path, posteriors: Posteriors, y: Any, speakers: Any) -> None:
    """The utterance head's cross-validated posteriors per context, for a look at them."""
    arrays = {"y": y, "speakers": speakers}
    for kind in ("acoustic", "embedding", "fused"):
        arrays |= {f"{kind}/{c}": p for c, p in getattr(posteriors, kind).items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)


def train(data_dir: Path, out: Path, cache: Path | None = None) -> dict[str, Any]:
    """Extract, choose and fit both heads, write the weights JSON; returns its content."""
    labels = {u.file: u for u in read_labels(data_dir)}
    train_files, held_out = split_train_test(labels)
    logger.info("train: %d files; held out (never read): %d", len(train_files), len(held_out))
    y = np.array([labels[f].emotion for f in train_files])
    speakers = np.array([labels[f].speaker for f in train_files])
    data = extract(data_dir, train_files, y, speakers, cache)
    classes = sorted(set(y.tolist()))

    utt_cv, posteriors = select(data, classes, by_speaker=False)
    spk_cv, _ = select(data, classes, by_speaker=True)
    if cache is not None:
        save_posteriors(cache / "emotion-cv-posteriors.npz", posteriors, y, speakers)
    # the call-centre states' thresholds, on every scored context of the utterance head
    contexts = list(posteriors.fused)
    thresholds, states = tune_thresholds(
        np.vstack([posteriors.fused[c] for c in contexts]),
        np.concatenate([y] * len(contexts)).tolist(),
        classes,
    )
    states["contexts"] = contexts
    logger.info("state thresholds: %s", thresholds)
    curve = turns_curve(data, classes, spk_cv)
    logger.info("speaker-baseline accuracy by turns: %s", curve)
    # fewest turns from which the speaker head stays at least as good as the utterance head
    # (both on the studio clips)
    studio = utt_cv["domains"]["studio"]["accuracy"]
    enough = [k for i, k in enumerate(TURN_GRID) if all(curve[j] >= studio for j in TURN_GRID[i:])]
    min_turns = enough[0] if enough else NEVER

    everyone = np.ones(len(y), dtype=bool)
    floor, efloor = acoustic_floor(data, everyone), embedding_floor(data, everyone)
    utterance = fit_fused(data, everyone, (unchanged, unchanged), classes, utt_cv)
    by_speaker = (speaker_view(speakers, floor), speaker_view(speakers, efloor))
    speaker = fit_fused(data, everyone, by_speaker, classes, spk_cv)
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
            "speed_copies": {"speeds": list(SPEEDS), "contexts": list(PACKED)},
            "telephone_copy": {
                "chain": "sox: sinc 300-3400 Hz, 8 kHz; white noise; G.711; back to 16 kHz",
                "codecs": ["mu-law", "a-law"],
                "snr_db": list(TELEPHONE_SNR_DB),
                "seed": TELEPHONE_SEED,
                "contexts": list(CONTEXTS),
            },
            "versions": {
                "numpy": np.__version__,
                "scipy": importlib.metadata.version("scipy"),
                "soxr": importlib.metadata.version("soxr"),
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
            "states": states,
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
        "CV utterance head: %s (%s); speaker head: %s (%s); min turns %d; states %s",
        {k: cv["utterance"][k] for k in SUMMARY},
        cv["utterance"]["domains"],
        {k: cv["speaker"][k] for k in SUMMARY},
        cv["speaker"]["domains"],
        content["speaker_normalization"]["min_turns"],
        {s: v["threshold"] for s, v in cv["states"]["states"].items()},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
