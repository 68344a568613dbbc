"""Diarization stage: the protocol every diarizer implements, shared helpers, the naive baseline.

``NaiveDiarizer`` is the floor any diarizer here must beat: Silero speech regions cut into 1.5 s
windows, one GE2E embedding each, two clusters. ``pipelines.speakers.clustering.ClusteringDiarizer``
is the one to use.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from pipelines.core.audio import require_sample_rate
from pipelines.core.types import (
    Audio,
    Diarization,
    ModelInfo,
    ProgressHook,
    Samples,
    SpeakerTurn,
    no_progress,
)
from voice.vad import SpeechDetector

logger = logging.getLogger(__name__)

Window = tuple[float, float]


class Diarizer(Protocol):
    """Finds who spoke when in one channel of 16 kHz audio.

    Speaker labels are ``SPEAKER_00``, ``SPEAKER_01``, ... in order of first appearance.
    Overlapping turns of different speakers mean both spoke at once.
    """

    @property
    def name(self) -> str: ...

    def diarize(
        self,
        audio: Audio,
        *,
        num_speakers: int | None = None,
        min_speakers: int = 1,
        max_speakers: int = 8,
        hook: ProgressHook = no_progress,
    ) -> Diarization: ...


class WindowEmbedder(Protocol):
    """Speaker embeddings of time windows (``models.speaker_embedding.SpeakerEmbedder``)."""

    @property
    def info(self) -> ModelInfo: ...

    def embed_windows(
        self, samples_16k: Samples, windows: Sequence[Window]
    ) -> npt.NDArray[np.float32]: ...


def speech_windows(
    regions: Iterable[tuple[float, float]],
    duration: float,
    window_s: float,
    hop_s: float,
    min_window_s: float,
) -> list[Window]:
    """Windows of ``window_s`` every ``hop_s`` inside each region, the last one flush with its end.

    A region shorter than ``window_s`` gives one window: the region widened (centred, within the
    audio) to at least ``min_window_s``, so that short replies still get an embedding.
    """
    windows: list[Window] = []
    for start, end in regions:
        length = end - start
        if length >= window_s:
            count = int(np.ceil((length - window_s) / hop_s - 1e-9)) + 1
            for left in np.linspace(start, end - window_s, count):
                windows.append((float(left), float(left) + window_s))
            continue
        width = min(max(length, min_window_s), duration)
        left = min(max(0.0, (start + end - width) / 2), max(0.0, duration - width))
        windows.append((left, left + width))
    return windows


def ordered_turns(turns: Iterable[tuple[float, float, int]]) -> tuple[SpeakerTurn, ...]:
    """Turns from (start, end, cluster), labelled ``SPEAKER_00``.. in order of first appearance."""
    ordered = sorted(turns, key=lambda t: (t[0], t[1], t[2]))
    names: dict[int, str] = {}
    out = []
    for start, end, cluster in ordered:
        if end <= start:
            continue
        name = names.setdefault(cluster, f"SPEAKER_{len(names):02d}")
        out.append(SpeakerTurn(round(float(start), 3), round(float(end), 3), name))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class NaiveOptions:
    """The baseline's settings: Silero defaults, 1.5 s windows, two clusters."""

    window_s: float = 1.5
    num_speakers: int = 2


class NaiveDiarizer:
    """Baseline: Silero VAD, 1.5 s windows, GE2E embeddings, 2-cluster agglomerative clustering.

    Each window's label becomes one turn (adjacent windows of one speaker merged). Kept for
    side-by-side comparison in ``bench/diarization.py``; use ``ClusteringDiarizer`` instead.
    """

    method = "naive-baseline"

    def __init__(
        self,
        embedder: WindowEmbedder,
        vad: SpeechDetector,
        vad_info: ModelInfo | None = None,
        options: NaiveOptions | None = None,
    ) -> None:
        self.embedder = embedder
        self.vad = vad
        self.vad_info = vad_info
        self.options = options or NaiveOptions()

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
        from sklearn.cluster import AgglomerativeClustering

        require_sample_rate(audio, "diarization")
        opts = self.options
        models = (self.embedder.info, *((self.vad_info,) if self.vad_info else ()))
        hook("vad")
        windows: list[Window] = []
        for region in self.vad.regions(audio):
            start = region.start
            while region.end - start >= 0.5:
                windows.append((start, min(start + opts.window_s, region.end)))
                start += opts.window_s
        k = num_speakers or opts.num_speakers
        if not windows:
            return Diarization(self.method, (), models, asdict(opts))
        hook("embeddings", total=len(windows))
        embeddings = self.embedder.embed_windows(audio.samples, windows)
        if len(windows) <= k or k == 1:
            labels = np.arange(len(windows)) if k > 1 else np.zeros(len(windows), dtype=int)
        else:
            clustering = AgglomerativeClustering(n_clusters=k, metric="cosine", linkage="average")
            labels = clustering.fit_predict(embeddings)
        turns: list[tuple[float, float, int]] = []
        for (start, end), label in zip(windows, labels, strict=True):
            if turns and turns[-1][2] == label and abs(turns[-1][1] - start) < 1e-6:
                turns[-1] = (turns[-1][0], end, int(label))
            else:
                turns.append((start, end, int(label)))
        return Diarization(self.method, ordered_turns(turns), models, asdict(opts))
