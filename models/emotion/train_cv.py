"""Leave-one-speaker-out model choice for ``models.emotion.train``: rows, heads, scores, grids.

Every choice is made by leave-one-speaker-out cross-validation (LOSO) over the eight training
speakers (``select``): the covariance shrinkage of each LDA and the fusion weight of each head, on
the mean accuracy (then anger F1) over the packed contexts of the studio clips and of their
telephone copies (``SCORED``). A held-out speaker's clips, their telephone copies and their speed
copies are never among the rows the held-out fold is fitted on.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.metrics import accuracy_score, f1_score
from sklearn.preprocessing import StandardScaler

from models.emotion.model import FusedHead, LinearHead, fuse_posteriors, speaker_normalize
from models.emotion.train_data import CONTEXTS, PACKED, TELEPHONE, TrainSet

logger = logging.getLogger(__name__)

ANGER = "anger"
ACOUSTIC_SHRINKAGE: tuple[str | float, ...] = ("auto", 0.1, 0.3, 0.5)  # "auto": Ledoit-Wolf
EMBEDDING_SHRINKAGE: tuple[str | float, ...] = ("auto", 0.5)
WEIGHT_GRID = (0.3, 0.4, 0.5, 0.6, 0.7)  # acoustic weight in the log-linear fusion
TURN_GRID = (3, 5, 8, 10, 15, 20)
SUBSET_REPEATS = 5
FLOOR_FRACTION = 0.25
NEVER = 10**6  # min_turns when speaker normalisation never beats the utterance head
STUDIO = "studio"
PHONE = "telephone"

Matrix = npt.NDArray[np.float64]
Labels = npt.NDArray[np.str_]
Fit = Callable[[Matrix, Labels], LinearHead]
View = Callable[[Matrix], Matrix]
Mask = npt.NDArray[np.bool_]


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


def scored_contexts(data: TrainSet) -> tuple[str, ...]:
    """The contexts scored by cross-validation: the studio clips', then the telephone copy's."""
    phone = tuple(TELEPHONE + c for c in CONTEXTS) if data.telephone is not None else ()
    return CONTEXTS + phone


def domain(context: str) -> str:
    return PHONE if context.startswith(TELEPHONE) else STUDIO


def context_embeddings(data: TrainSet, context: str) -> Matrix:
    if domain(context) == PHONE:
        if data.telephone is None:
            raise ValueError("no telephone copy")
        return data.telephone.embeddings[context.removeprefix(TELEPHONE)]
    return data.embeddings[context]


def domain_acoustic(data: TrainSet, name: str) -> Matrix:
    if name == PHONE:
        if data.telephone is None:
            raise ValueError("no telephone copy")
        return data.telephone.acoustic
    return data.acoustic


def mean_scores(per_context: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Mean accuracy and anger F1 over the packed contexts (studio and telephone copy)."""
    packed = [c for c in per_context if c.removeprefix(TELEPHONE) in PACKED]
    return {
        k: round(float(np.mean([per_context[c][k] for c in packed])), 4)
        for k in ("accuracy", "anger_f1")
    }


def domain_means(per_context: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """``mean_scores`` of the studio contexts and of the telephone contexts apart."""
    out = {}
    for name in (STUDIO, PHONE):
        part = {c: v for c, v in per_context.items() if domain(c) == name}
        if part:
            out[name] = mean_scores(part)
    return out


def unchanged(x: Matrix) -> Matrix:
    return x


def speaker_view(speakers: Labels, floor: Matrix) -> View:
    """Each speaker's rows z-scored over themselves (``speakers`` labels the rows)."""
    return functools.partial(normalize_by_speaker, speakers=speakers, floor=floor)


def acoustic_floor(data: TrainSet, keep: Mask) -> Matrix:
    return std_floor(data.acoustic[keep], data.speakers[keep])


def embedding_floor(data: TrainSet, keep: Mask) -> Matrix:
    return std_floor(
        np.vstack([data.embeddings[c][keep] for c in CONTEXTS]),
        np.concatenate([data.speakers[keep]] * len(CONTEXTS)),
    )


def acoustic_rows(data: TrainSet, keep: Mask, view: View) -> tuple[Matrix, Labels]:
    """Training rows of an acoustic head: the kept clips, their speed copies and their
    telephone copy (each copy seen through ``view`` on its own, so a copy is a speaker of its
    own)."""
    blocks = [data.acoustic, *(copy.acoustic for copy in data.copies)]
    if data.telephone is not None:
        blocks.append(data.telephone.acoustic)
    return np.vstack([view(b)[keep] for b in blocks]), np.concatenate([data.y[keep]] * len(blocks))


def embedding_rows(data: TrainSet, keep: Mask, view: View) -> tuple[Matrix, Labels]:
    """Training rows of an embedding head: the kept clips in every context, their speed
    copies in the packed contexts and their telephone copy in every context."""
    blocks = [data.embeddings[c] for c in CONTEXTS]
    blocks += [copy.embeddings[c] for copy in data.copies for c in PACKED]
    if data.telephone is not None:
        blocks += [data.telephone.embeddings[c] for c in CONTEXTS]
    return np.vstack([view(b)[keep] for b in blocks]), np.concatenate([data.y[keep]] * len(blocks))


Floor = Callable[[TrainSet, Mask], Matrix]
Rows = Callable[[TrainSet, Mask, View], tuple[Matrix, Labels]]


def _loso(
    data: TrainSet,
    fit: Fit,
    by_speaker: bool,
    representation: tuple[Floor, Rows],
    inputs: Mapping[str, Matrix],
) -> dict[str, Matrix]:
    """Each training speaker's posteriors of every input (rows of all clips) from a head fitted
    on the other speakers' rows of one representation (its speaker floor and its rows)."""
    floor, rows = representation
    out: dict[str, Matrix] = {}
    for held in np.unique(data.speakers):
        test = data.speakers == held
        view: View = unchanged
        if by_speaker:
            view = speaker_view(data.speakers, floor(data, ~test))
        head = fit(*rows(data, ~test, view))
        for name, x in inputs.items():
            probs = head.probabilities(view(x)[test])
            out.setdefault(name, np.zeros((len(data.y), probs.shape[1])))[test] = probs
    return out


def loso_acoustic(data: TrainSet, fit: Fit, by_speaker: bool) -> dict[str, Matrix]:
    """Each training speaker's acoustic posteriors (studio clips, telephone copy) from a head
    fitted on the other speakers."""
    domains = sorted({domain(c) for c in scored_contexts(data)}, reverse=True)
    inputs = {name: domain_acoustic(data, name) for name in domains}
    return _loso(data, fit, by_speaker, (acoustic_floor, acoustic_rows), inputs)


def loso_embedding(data: TrainSet, fit: Fit, by_speaker: bool) -> dict[str, Matrix]:
    """Posteriors per scored context of embedding heads fitted on the other speakers' rows."""
    inputs = {c: context_embeddings(data, c) for c in scored_contexts(data)}
    return _loso(data, fit, by_speaker, (embedding_floor, embedding_rows), inputs)


def _pick(grid: Sequence[Any], results: Mapping[Any, Mapping[str, float]]) -> Any:
    # accuracy, then anger F1; ties go to the earlier grid entry
    return max(grid, key=lambda g: (results[g]["accuracy"], results[g]["anger_f1"], -grid.index(g)))


@dataclass(frozen=True, slots=True, eq=False)
class Posteriors:
    """A chosen head's cross-validated posteriors per scored context: the acoustic head's, the
    embedding head's and the fused ones (rows: the training clips, in order)."""

    acoustic: Mapping[str, Matrix]
    embedding: Mapping[str, Matrix]
    fused: Mapping[str, Matrix]


def _acoustic_scores(y: Labels, probs: Mapping[str, Matrix], classes: Sequence[str]) -> Any:
    per = {name: scores(y, predict(p, classes)) for name, p in probs.items()}
    return {
        k: round(float(np.mean([v[k] for v in per.values()])), 4) for k in ("accuracy", "anger_f1")
    } | {"domains": per}


def select(
    data: TrainSet, classes: Sequence[str], by_speaker: bool
) -> tuple[dict[str, Any], Posteriors]:
    """Cross-validated shrinkages and fusion weight of one head, with the figures behind them,
    and the chosen head's cross-validated posteriors."""
    name = "speaker" if by_speaker else "utterance"
    y = data.y
    acoustic: dict[str | float, dict[str, Matrix]] = {}
    acoustic_grid: dict[str | float, dict[str, Any]] = {}
    for s in ACOUSTIC_SHRINKAGE:
        fit: Fit = functools.partial(fit_head, classes=classes, shrinkage=s)
        acoustic[s] = loso_acoustic(data, fit, by_speaker)
        acoustic_grid[s] = _acoustic_scores(y, acoustic[s], classes)
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
    chosen_acoustic = {c: acoustic[best_acoustic][domain(c)] for c in embedding[best_embedding]}
    fused: dict[float, dict[str, Any]] = {}
    for w in WEIGHT_GRID:
        per = {
            c: scores(y, predict(fuse_posteriors(chosen_acoustic[c], p, w), classes))
            for c, p in embedding[best_embedding].items()
        }
        fused[w] = {**mean_scores(per), "domains": domain_means(per), "contexts": per}
        logger.info("CV %s fused acoustic weight=%s: %s", name, w, fused[w])
    order = sorted(WEIGHT_GRID, key=lambda w: abs(w - 0.5))  # ties: closest to equal weights
    weight = _pick(order, fused)
    report = {
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
    posteriors = Posteriors(
        acoustic=chosen_acoustic,
        embedding=embedding[best_embedding],
        fused={
            c: fuse_posteriors(chosen_acoustic[c], p, weight)
            for c, p in embedding[best_embedding].items()
        },
    )
    return report, posteriors


def fit_fused(
    data: TrainSet,
    keep: Mask,
    views: tuple[View, View],
    classes: Sequence[str],
    chosen: Mapping[str, Any],
) -> FusedHead:
    """A fused head fitted on the kept clips: acoustic LDA and embedding LDA (``views``: what
    the acoustic features and the embeddings are seen through)."""
    return FusedHead(
        acoustic=fit_head(
            *acoustic_rows(data, keep, views[0]), classes, chosen["acoustic_shrinkage"]
        ),
        embedding=fit_head(
            *embedding_rows(data, keep, views[1]), classes, chosen["embedding_shrinkage"]
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
    y, speakers = data.y, data.speakers
    for held in np.unique(speakers):
        test = speakers == held
        floor, efloor = acoustic_floor(data, ~test), embedding_floor(data, ~test)
        views = (speaker_view(speakers, floor), speaker_view(speakers, efloor))
        head = fit_fused(data, ~test, views, classes, chosen)
        xt, et = data.acoustic[test], data.embeddings[PACKED[0]][test]
        for k in TURN_GRID:
            for _ in range(SUBSET_REPEATS):
                pick = rng.choice(len(xt), size=min(k, len(xt)), replace=False)
                z = (xt - xt[pick].mean(axis=0)) / np.maximum(xt[pick].std(axis=0), floor)
                ze = (et - et[pick].mean(axis=0)) / np.maximum(et[pick].std(axis=0), efloor)
                hits = predict(head.probabilities(z, ze), classes) == y[test]
                correct[k] += float(hits.sum()) / SUBSET_REPEATS
    return {k: round(v / len(y), 4) for k, v in correct.items()}
