"""Frame-level steps of clustering diarization: scores, Viterbi smoothing, overlap, turns.

Everything works on a regular grid of frames (``frame_s`` apart); pure numpy.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from pipelines.speakers.diarizer import Window

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


def speech_mask(regions: Sequence[tuple[float, float]], n_frames: int, frame_s: float) -> Bools:
    """True for frames whose centre lies inside a speech region."""
    mask = np.zeros(n_frames, dtype=bool)
    for start, end in regions:
        mask[int(np.ceil(start / frame_s - 0.5)) : int(np.ceil(end / frame_s - 0.5))] = True
    return mask


def frame_scores(
    windows: Sequence[Window],
    similarities: Floats,
    n_frames: int,
    frame_s: float,
) -> Floats:
    """Per-frame mean of ``similarities`` (windows x speakers) over the windows covering it."""
    total = np.zeros((n_frames + 1, similarities.shape[1]))
    count = np.zeros(n_frames + 1)
    for (start, end), row in zip(windows, similarities, strict=True):
        first, last = frame_span(start, end, n_frames, frame_s)
        total[first] += row
        total[last] -= row
        count[first] += 1
        count[last] -= 1
    mean = np.cumsum(total, axis=0)[:n_frames] / np.maximum(np.cumsum(count)[:n_frames], 1)[:, None]
    return np.asarray(mean, dtype=np.float64)


def frame_span(start: float, end: float, n_frames: int, frame_s: float) -> tuple[int, int]:
    """[first, last) frames whose centres lie in [start, end), at least one frame."""
    first = min(n_frames, max(0, int(np.ceil(start / frame_s - 0.5))))
    return first, min(n_frames, max(first + 1, int(np.ceil(end / frame_s - 0.5))))


def viterbi(scores: Floats, penalties: Floats) -> Ints:
    """Best label path maximising the summed scores minus ``penalties[t]`` per change at ``t``."""
    n, k = scores.shape
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    change = 1 - np.eye(k)
    best = scores[0].copy()
    back = np.zeros((n, k), dtype=np.int64)
    for t in range(1, n):
        candidates = best[:, None] - penalties[t] * change
        back[t] = candidates.argmax(axis=0)
        best = candidates.max(axis=0) + scores[t]
    path = np.zeros(n, dtype=np.int64)
    path[-1] = int(best.argmax())
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def runs(mask: Bools) -> list[tuple[int, int]]:
    """[first, last) index ranges of consecutive True values."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def smooth_labels(labels: Ints, speech: Bools, scores: Floats, min_frames: int) -> Ints:
    """Relabel speech runs shorter than ``min_frames`` with the better-scoring neighbour label."""
    labels = labels.copy()
    for first, last in runs(speech):
        for _ in range(len(labels)):
            segment = labels[first:last]
            changes = np.flatnonzero(np.diff(segment)) + 1
            bounds = [0, *changes.tolist(), len(segment)]
            pieces = list(itertools.pairwise(bounds))
            if len(pieces) < 2:
                break
            shortest = min(range(len(pieces)), key=lambda i: pieces[i][1] - pieces[i][0])
            a, b = pieces[shortest]
            if b - a >= min_frames:
                break
            neighbours = []
            if shortest > 0:
                neighbours.append(int(segment[pieces[shortest - 1][0]]))
            if shortest < len(pieces) - 1:
                neighbours.append(int(segment[pieces[shortest + 1][0]]))
            span = scores[first + a : first + b]
            replacement = max(neighbours, key=lambda c: float(span[:, c].sum()))
            labels[first + a : first + b] = replacement
    return labels


def overlap_labels(
    labels: Ints,
    speech: Bools,
    scores: Floats,
    margin: float,
    min_frames: int,
    quantile: float = 1.0,
) -> Ints:
    """Second speaker per frame (-1 for none) where two speakers both explain the frame.

    A frame qualifies when the runner-up's score is within ``margin`` of the best and the best
    score is below the ``quantile`` of best scores over the call's speech (a mixture of two
    voices matches neither centroid well). Runs shorter than ``min_frames`` are dropped.
    """
    second = np.full(len(labels), -1, dtype=np.int64)
    if scores.shape[1] < 2:
        return second
    others = scores.copy()
    others[np.arange(len(labels)), labels] = -np.inf
    runner_up = others.argmax(axis=1)
    gap = scores[np.arange(len(labels)), labels] - others[np.arange(len(labels)), runner_up]
    best = scores[np.arange(len(labels)), labels]
    ceiling = np.quantile(best[speech], quantile) if speech.any() else 0.0
    candidate = speech & (gap < margin) & (best <= ceiling)
    for first, last in runs(candidate):
        for value in np.unique(runner_up[first:last]):
            mask = np.zeros(len(labels), dtype=bool)
            mask[first:last] = runner_up[first:last] == value
            for a, b in runs(mask):
                if b - a >= min_frames:
                    second[a:b] = value
    return second


def frames_to_turns(
    labels: Ints, speech: Bools, frame_s: float, second: Ints | None = None
) -> list[tuple[float, float, int]]:
    """(start, end, speaker) turns from per-frame labels inside speech (plus overlap labels)."""
    turns: list[tuple[float, float, int]] = []
    for track in (labels, second):
        if track is None:
            continue
        for value in np.unique(track[speech]):
            if value < 0:
                continue
            for a, b in runs(speech & (track == value)):
                turns.append((a * frame_s, b * frame_s, int(value)))
    merged: dict[int, list[tuple[float, float]]] = {}
    for start, end, speaker in sorted(turns, key=lambda t: (t[2], t[0])):
        spans = merged.setdefault(speaker, [])
        if spans and start <= spans[-1][1] + 1e-9:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return [(s, e, spk) for spk, spans in merged.items() for s, e in spans]


def pure_centroids(
    windows: Sequence[Window],
    embeddings: npt.NDArray[np.float32],
    labels: Ints,
    previous: npt.NDArray[np.float32],
    frame_s: float,
    purity: float = 0.9,
) -> npt.NDArray[np.float32]:
    """Centroids re-estimated from the windows whose frames carry one label (>= ``purity``)."""
    sums = np.zeros(previous.shape, dtype=np.float64)
    for (start, end), embedding in zip(windows, embeddings, strict=True):
        first, last = frame_span(start, end, len(labels), frame_s)
        span = labels[first:last]
        if len(span) == 0:
            continue
        counts = np.bincount(span, minlength=len(previous))
        if counts.max() >= purity * len(span):
            sums[int(counts.argmax())] += embedding
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    out = np.where(norms > 0, sums / np.maximum(norms, 1e-8), previous)
    return np.asarray(out, dtype=np.float32)
