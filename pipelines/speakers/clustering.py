"""Clustering diarization for mono calls: Silero speech, dense GE2E windows, clusters, Viterbi.

Steps:

1. speech regions from Silero VAD, with thresholds set for telephone speech;
2. overlapping windows (1.5 s every 0.25 s) inside the speech, one GE2E embedding each;
3. the number of speakers from average-linkage clustering with a cosine-distance threshold,
   counting only clusters that hold a fair share of the windows (tuned on synthetic calls
   built from emodb training speakers, never on the evaluation files);
4. cluster centroids refined by spherical k-means;
5. re-segmentation: every frame (50 ms) scored against each centroid by the windows covering it,
   a Viterbi path with a speaker-switch penalty, then turns shorter than a minimum merged away;
6. optionally overtalk: frames where the runner-up speaker scores nearly as well as the best.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from models.vad import silero_info
from pipelines.core.audio import require_sample_rate
from pipelines.core.types import (
    Audio,
    Diarization,
    ModelInfo,
    ProgressHook,
    SpeakerTurn,
    no_progress,
)
from pipelines.speakers import frames
from pipelines.speakers.diarizer import Window, WindowEmbedder, ordered_turns, speech_windows
from voice.vad import SpeechDetector

logger = logging.getLogger(__name__)

Embeddings = npt.NDArray[np.float32]
Labels = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class ClusteringOptions:
    """Settings of ``ClusteringDiarizer``; the defaults are the tuned ones."""

    # Silero below its 0.5 default: telephone speech is band-limited and quieter.
    vad_threshold: float = 0.35
    vad_min_speech_s: float = 0.15
    vad_min_silence_s: float = 0.1
    vad_pad_s: float = 0.05
    min_speech_s: float = 0.3
    window_s: float = 1.5
    hop_s: float = 0.25
    min_window_s: float = 1.0
    # A speaker is a cluster of windows within this average cosine distance holding at least
    # this share of all windows (smaller clusters are noise, laughter, overtalk: reassigned).
    count_threshold: float = 0.28
    min_cluster_fraction: float = 0.15
    max_linkage_windows: int = 2000
    kmeans_iterations: int = 10
    refine_iterations: int = 1
    frame_s: float = 0.05
    # Viterbi cost of a speaker change inside continuous speech and across a pause.
    switch_penalty: float = 0.5
    pause_switch_penalty: float = 0.1
    min_turn_s: float = 0.3
    overlap: bool = False
    overlap_margin: float = 0.06
    overlap_quantile: float = 1.0
    min_overlap_s: float = 0.2


MEETING_OPTIONS = ClusteringOptions(overlap=True)
"""Overtalk reported: lowers DER on meetings (AMI) and crosstalk, raises it on the phone call."""


def count_speakers(
    embeddings: Embeddings, threshold: float, min_size: int
) -> tuple[int, Labels, Labels]:
    """Speakers among L2-normalised window embeddings by thresholded average linkage.

    Returns the count, every window's cluster and the ids of the clusters of at least
    ``min_size`` windows (the speakers); smaller clusters are stray windows, not speakers.
    """
    from scipy.cluster.hierarchy import fcluster, linkage

    n = len(embeddings)
    if n < 2:
        return 1, np.zeros(n, dtype=np.int64), np.zeros(1, dtype=np.int64)
    tree = linkage(embeddings.astype(np.float64), method="average", metric="cosine")
    clusters = np.asarray(fcluster(tree, threshold, criterion="distance"), dtype=np.int64) - 1
    sizes = np.bincount(clusters)
    big = np.flatnonzero(sizes >= min_size)
    if len(big) == 0:
        big = np.array([int(sizes.argmax())], dtype=np.int64)
    return len(big), clusters, big.astype(np.int64)


def centroids_of(embeddings: Embeddings, labels: Labels, k: int) -> Embeddings:
    """L2-normalised mean embedding of each of ``k`` clusters (empty clusters get zeros)."""
    centroids = np.zeros((k, embeddings.shape[1]), dtype=np.float64)
    np.add.at(centroids, labels, embeddings)
    norms = np.linalg.norm(centroids, axis=1, keepdims=True)
    return np.asarray(centroids / np.maximum(norms, 1e-8), dtype=np.float32)


def spherical_kmeans(embeddings: Embeddings, centroids: Embeddings, iterations: int) -> Labels:
    """Cosine k-means from the given centroids; a cluster that empties keeps its centroid."""
    labels = np.asarray((embeddings @ centroids.T).argmax(axis=1), dtype=np.int64)
    for _ in range(iterations):
        updated = centroids_of(embeddings, labels, len(centroids))
        empty = ~np.any(updated, axis=1)
        updated[empty] = centroids[empty]
        centroids = updated
        new = np.asarray((embeddings @ centroids.T).argmax(axis=1), dtype=np.int64)
        if np.array_equal(new, labels):
            break
        labels = new
    return labels


def initial_centroids(embeddings: Embeddings, k: int, clusters: Labels, big: Labels) -> Embeddings:
    """``k`` starting centroids: the largest threshold clusters, else average linkage into k."""
    from scipy.cluster.hierarchy import fcluster, linkage

    if len(big) >= k:
        sizes = np.bincount(clusters)
        keep = big[np.argsort(-sizes[big], kind="stable")[:k]]
        mapping = {int(c): i for i, c in enumerate(keep)}
        members = np.isin(clusters, keep)
        labels = np.array([mapping[int(c)] for c in clusters[members]], dtype=np.int64)
        return centroids_of(embeddings[members], labels, k)
    tree = linkage(embeddings.astype(np.float64), method="average", metric="cosine")
    labels = np.asarray(fcluster(tree, k, criterion="maxclust"), dtype=np.int64) - 1
    return centroids_of(embeddings, labels, int(labels.max()) + 1)


class ClusteringDiarizer:
    """``Diarizer`` for mono calls from a speech detector and a window embedder (see module doc).

    ``embedder`` and ``vad`` default to resemblyzer's GE2E and Silero, loaded here (once per
    worker). Their ``ModelInfo`` and the options go into every ``Diarization``.
    """

    method = "callqa-cluster"

    def __init__(
        self,
        options: ClusteringOptions | None = None,
        *,
        embedder: WindowEmbedder | None = None,
        vad: SpeechDetector | None = None,
        vad_info: ModelInfo | None = None,
        device: str = "cpu",
    ) -> None:
        self.options = options or ClusteringOptions()
        opts = self.options
        if embedder is None:
            from models.speaker_embedding import SpeakerEmbedder

            embedder = SpeakerEmbedder(device=device)
        if vad is None:
            from models.vad import SileroVad

            vad = SileroVad(
                threshold=opts.vad_threshold,
                min_speech_s=opts.vad_min_speech_s,
                min_silence_s=opts.vad_min_silence_s,
                pad_s=opts.vad_pad_s,
            )
            vad_info = vad_info or silero_info()
        self.embedder = embedder
        self.vad = vad
        self.models = (embedder.info, *((vad_info,) if vad_info else ()))

    @property
    def name(self) -> str:
        return self.method

    def diarize(
        self,
        audio: Audio,
        *,
        num_speakers: int | None = None,
        min_speakers: int = 1,
        max_speakers: int = 8,
        hook: ProgressHook = no_progress,
    ) -> Diarization:
        require_sample_rate(audio, "diarization")
        opts = self.options
        hook("vad")
        regions = [(r.start, r.end) for r in self.vad.regions(audio)]
        speech_s = sum(end - start for start, end in regions)
        if speech_s < opts.min_speech_s:
            logger.info("%.2f s of speech: too little to diarize", speech_s)
            return self._result((), 0, 0)
        windows = speech_windows(
            regions, audio.duration, opts.window_s, opts.hop_s, opts.min_window_s
        )
        hook("embeddings", total=len(windows))
        embeddings = self.embedder.embed_windows(audio.samples, windows)
        hook("embeddings", total=len(windows), completed=len(windows))

        hook("clustering")
        # Linkage is quadratic in memory: long calls cluster every n-th window, then k-means all.
        stride = int(np.ceil(len(windows) / opts.max_linkage_windows))
        subset = embeddings[::stride]
        min_size = max(2, int(opts.min_cluster_fraction * len(subset)))
        estimated, clusters, big = count_speakers(subset, opts.count_threshold, min_size)
        k = num_speakers or min(max(estimated, min_speakers), max_speakers)
        k = max(1, min(k, len(windows)))
        if k == 1:
            centroids = centroids_of(embeddings, np.zeros(len(windows), dtype=np.int64), 1)
        else:
            centroids = initial_centroids(subset, k, clusters, big)
            labels = spherical_kmeans(embeddings, centroids, opts.kmeans_iterations)
            centroids = centroids_of(embeddings, labels, len(centroids))
        logger.debug("%d windows, %d speakers estimated, %d used", len(windows), estimated, k)

        hook("segmentation")
        turns = self._segment(regions, audio.duration, windows, embeddings, centroids)
        return self._result(ordered_turns(turns), estimated, k)

    def _segment(
        self,
        regions: list[tuple[float, float]],
        duration: float,
        windows: list[Window],
        embeddings: Embeddings,
        centroids: Embeddings,
    ) -> list[tuple[float, float, int]]:
        """Frame-level re-segmentation: scores, Viterbi, refinement, short turns, overlap."""
        opts = self.options
        n_frames = int(np.ceil(duration / opts.frame_s))
        speech = frames.speech_mask(regions, n_frames, opts.frame_s)
        inside = np.concatenate(([False], speech[1:] & speech[:-1]))
        penalties = np.where(inside, opts.switch_penalty, opts.pause_switch_penalty)
        labels = np.zeros(n_frames, dtype=np.int64)
        scores = np.zeros((n_frames, len(centroids)))
        for iteration in range(opts.refine_iterations + 1):
            if iteration:
                centroids = frames.pure_centroids(
                    windows, embeddings, labels, centroids, opts.frame_s
                )
            similarities = (embeddings @ centroids.T).astype(np.float64)
            scores = frames.frame_scores(windows, similarities, n_frames, opts.frame_s)
            labels = frames.viterbi(np.where(speech[:, None], scores, 0.0), penalties)
        labels = frames.smooth_labels(labels, speech, scores, round(opts.min_turn_s / opts.frame_s))
        second = None
        if opts.overlap and len(centroids) > 1:
            second = frames.overlap_labels(
                labels,
                speech,
                scores,
                opts.overlap_margin,
                round(opts.min_overlap_s / opts.frame_s),
                opts.overlap_quantile,
            )
        return frames.frames_to_turns(labels, speech, opts.frame_s, second)

    def _result(self, turns: tuple[SpeakerTurn, ...], estimated: int, k: int) -> Diarization:
        options: Mapping[str, Any] = {
            **asdict(self.options),
            "estimated_speakers": estimated,
            "speakers": k,
        }
        return Diarization(self.method, tuple(turns), self.models, options)
