"""EmoDB's training clips for ``models.emotion.train``: labels, split, features and embeddings.

Speakers 15 and 16 are the held-out test split: ``split_train_test`` puts every one of their
files aside and nothing here reads them. Each training clip is described by its acoustic features
(``models.emotion.features``) and by its whisper encoder embedding (``models.emotion.encoder``) in
four contexts: packed with the other clips of the same speaker into 30 s windows in three shuffled
orders (``PACKINGS``), and encoded alone.

Speed-perturbed copies (``SPEEDS``: the clip resampled so that it plays 10 % slower or faster,
which moves its pitch and formants as another speaker's voice would be) add training rows: their
acoustic features and their embeddings in the three packed contexts (each copy is a pseudo-speaker
of its own). They are training rows only; no cross-validation score is on them.

The telephone copy (``models.emotion.telephone``) passes each training clip through a telephone
channel of its own, drawn with ``TELEPHONE_SEED``: mu-law or A-law, white noise at an SNR drawn
uniformly from ``TELEPHONE_SNR_DB``. Its acoustic features and its embeddings in all four
contexts are training rows, and the held-out speaker's telephone clips are scored as well
(contexts ``tel-packed0`` .. ``tel-alone``), so cross-validation says how the model holds on a
phone line, on the training speakers only.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf

from models.dsp.resample import resample
from models.emotion.band import front_end
from models.emotion.encoder import DIMENSIONS, EMBEDDING_VERSION, TurnEmbedder
from models.emotion.features import FEATURE_VERSION, line_features
from models.emotion.telephone import Channel, degrade_each
from pipelines.core.audio import SAMPLE_RATE

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "emodb"
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
PACKINGS = (0, 1, 2)  # seeds of the shuffled packings
CONTEXTS = ("packed0", "packed1", "packed2", "alone")
PACKED = CONTEXTS[:3]
SPEEDS = (0.9, 1.1)  # speed perturbation of the training copies
TELEPHONE_SEED = 8  # the training copies' channels and noise (the test split's bench uses another)
TELEPHONE_SNR_DB = (8.0, 25.0)
TELEPHONE = "tel-"  # prefix of the telephone copy's scoring contexts

Matrix = npt.NDArray[np.float64]
Labels = npt.NDArray[np.str_]
Clip = npt.NDArray[np.float32]


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


def load_audio(data_dir: Path, files: Sequence[str]) -> list[Clip]:
    out = []
    for file in files:
        samples, rate = sf.read(data_dir / file, dtype="float32", always_2d=True)
        mono = samples.mean(axis=1)
        if rate != SAMPLE_RATE:
            mono = resample(mono, rate, SAMPLE_RATE)
        out.append(np.asarray(mono, dtype=np.float32))
    return out


def change_speed(samples: Clip, speed: float) -> Clip:
    """The clip played ``speed`` times as fast (tempo, pitch and formants move together)."""
    target = round(SAMPLE_RATE / speed)
    out = resample(samples, SAMPLE_RATE, target)
    return np.asarray(out, dtype=np.float32)


def load_features(lines: Sequence[Clip]) -> Matrix:
    rows = []
    for index, line in enumerate(lines, 1):
        rows.append(line_features(line))
        if index % 50 == 0 or index == len(lines):
            logger.info("features: %d/%d files", index, len(lines))
    return np.stack(rows)


def packed_embeddings(
    embedder: TurnEmbedder, lines: Sequence[Clip], speakers: Labels, seed: int
) -> Matrix:
    """Each speaker's clips in a shuffled order, packed into 30 s windows as a call's turns are."""
    rng = np.random.default_rng(seed)
    out = np.zeros((len(lines), DIMENSIONS))
    for s in sorted(set(speakers.tolist())):
        rows = np.flatnonzero(speakers == s)
        order = rows[rng.permutation(len(rows))]
        out[order] = embedder.embed_lines([lines[i] for i in order])
    logger.info("embeddings: packing %d done", seed)
    return out


def alone_embeddings(embedder: TurnEmbedder, lines: Sequence[Clip]) -> Matrix:
    rows = []
    for index, line in enumerate(lines, 1):
        rows.append(embedder.embed_lines([line])[0])
        if index % 50 == 0 or index == len(lines):
            logger.info("embeddings alone: %d/%d files", index, len(lines))
    return np.stack(rows)


def clip_arrays(
    embedder: TurnEmbedder, clips: Sequence[Clip], speakers: Labels, *, alone: bool
) -> dict[str, Matrix]:
    """Features and embeddings of clips (packed, and alone if asked), each clip through the
    telephone front end once."""
    lines = [front_end(c) for c in clips]
    arrays = {"acoustic": load_features(lines)}
    arrays |= {f"packed{s}": packed_embeddings(embedder, lines, speakers, s) for s in PACKINGS}
    if alone:
        arrays["alone"] = alone_embeddings(embedder, lines)
    return arrays


@dataclass(frozen=True, slots=True)
class SpeedCopy:
    """The training clips at another speed: acoustic features, embeddings per packed context."""

    speed: float
    acoustic: Matrix
    embeddings: Mapping[str, Matrix]


@dataclass(frozen=True, slots=True)
class TelephoneCopy:
    """The training clips through telephone channels: acoustic features, embeddings in every
    context (``CONTEXTS``)."""

    acoustic: Matrix
    embeddings: Mapping[str, Matrix]


@dataclass(frozen=True, slots=True)
class TrainSet:
    """Training clips: labels, speakers, acoustic features, embeddings per context, copies."""

    y: Labels
    speakers: Labels
    acoustic: Matrix
    embeddings: Mapping[str, Matrix]
    copies: tuple[SpeedCopy, ...] = ()
    telephone: TelephoneCopy | None = None


def telephone_channels(count: int, seed: int = TELEPHONE_SEED) -> list[Channel]:
    """One channel per training clip: codec and SNR drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    low, high = TELEPHONE_SNR_DB
    return [
        Channel(
            "mu-law" if rng.random() < 0.5 else "a-law", round(float(rng.uniform(low, high)), 1)
        )
        for _ in range(count)
    ]


def _cached(path: Path | None, compute: Callable[[], dict[str, Matrix]]) -> dict[str, Matrix]:
    if path is not None and path.is_file():
        logger.info("features and embeddings from %s", path)
        with np.load(path) as npz:
            return {k: npz[k] for k in npz.files}
    arrays: dict[str, Matrix] = compute()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **arrays)  # type: ignore[arg-type]
    return arrays


def extract(
    data_dir: Path, files: Sequence[str], y: Labels, speakers: Labels, cache: Path | None
) -> TrainSet:
    """Features and embeddings of the training clips and their speed copies (``cache``: keep
    them there, keyed by the files' hash and the feature and embedding versions)."""
    key = f"{data_sha256(data_dir, files)[:16]}-{FEATURE_VERSION}-{EMBEDDING_VERSION}"
    key = key.replace("/", "_")
    audio = load_audio(data_dir, files)
    embedder = TurnEmbedder()

    def original() -> dict[str, Matrix]:
        return clip_arrays(embedder, audio, speakers, alone=True)

    def at_speed(speed: float) -> dict[str, Matrix]:
        logger.info("speed copy %.2f", speed)
        faster = [change_speed(a, speed) for a in audio]
        return clip_arrays(embedder, faster, speakers, alone=False)

    def where(suffix: str) -> Path | None:
        return cache / f"emotion-train-{key}{suffix}.npz" if cache is not None else None

    def by_phone() -> dict[str, Matrix]:
        logger.info("telephone copy")
        phoned = degrade_each(audio, telephone_channels(len(audio)), TELEPHONE_SEED)
        return clip_arrays(embedder, phoned, speakers, alone=True)

    base = _cached(where(""), original)
    copies = []
    for speed in SPEEDS:
        arrays = _cached(where(f"-speed{speed}"), functools.partial(at_speed, speed))
        copies.append(SpeedCopy(speed, arrays["acoustic"], {c: arrays[c] for c in PACKED}))
    phone = _cached(where(f"-telephone{TELEPHONE_SEED}"), by_phone)
    return TrainSet(
        y,
        speakers,
        base["acoustic"],
        {c: base[c] for c in CONTEXTS},
        copies=tuple(copies),
        telephone=TelephoneCopy(phone["acoustic"], {c: phone[c] for c in CONTEXTS}),
    )
