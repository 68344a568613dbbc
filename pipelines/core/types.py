"""Shared data types passed between stages: frozen, slotted dataclasses; times in seconds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.float32]
Layout = Literal["stereo-agent-left", "stereo-agent-right", "mono"]
Role = Literal["agent", "customer", "unknown"]
LAYOUTS: tuple[Layout, ...] = ("stereo-agent-left", "stereo-agent-right", "mono")


@dataclass(frozen=True, slots=True)
class Audio:
    """One channel of float32 samples in [-1, 1]."""

    samples: Samples
    sample_rate: int
    channel: int = 0

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


@dataclass(frozen=True, slots=True)
class AudioSource:
    """Facts about the input as received, before resampling."""

    sha256: str
    format: str
    sample_rate: int
    channels: int
    duration_s: float


@dataclass(frozen=True, slots=True)
class CallAudio:
    """A decoded call: the source facts and one `Audio` per channel at the working rate."""

    source: AudioSource
    channels: tuple[Audio, ...]

    @property
    def sample_rate(self) -> int:
        return self.channels[0].sample_rate

    @property
    def duration(self) -> float:
        return self.channels[0].duration


@dataclass(frozen=True, slots=True)
class SpeechRegion:
    start: float
    end: float
    channel: int = 0


@dataclass(frozen=True, slots=True)
class Word:
    start: float
    end: float
    word: str
    probability: float


@dataclass(frozen=True, slots=True)
class Translation:
    language: str
    text: str


@dataclass(frozen=True, slots=True)
class Emotion:
    """One turn's emotion. ``label``: the call-centre state (``angry``, ``upset``, ``neutral``,
    ``satisfied``; see ``pipelines.analytics.emotion``); ``raw_label``: the voice model's own
    class beside it (``anger``, ``boredom``, ...), None when the voice was not scored."""

    label: str
    valence: float
    arousal: float
    confidence: float
    source: str
    raw_label: str | None = None


@dataclass(frozen=True, slots=True)
class Segment:
    id: int
    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    language: str
    confidence: float
    channel: int = 0
    speaker: str | None = None
    role: Role = "unknown"
    translation: Translation | None = None
    emotion: Emotion | None = None


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Which model a stage ran: enough to say exactly how a record was produced."""

    stage: str
    name: str
    version: str
    sha256: str


@dataclass(frozen=True, slots=True)
class SpeakerTurn:
    start: float
    end: float
    speaker: str


@dataclass(frozen=True, slots=True)
class Diarization:
    """Who spoke when: speaker turns (overlapping turns mean overtalk) and how they were found."""

    method: str
    turns: tuple[SpeakerTurn, ...]
    models: tuple[ModelInfo, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def speakers(self) -> tuple[str, ...]:
        return tuple(sorted({t.speaker for t in self.turns}))


@dataclass(frozen=True, slots=True)
class Participant:
    speaker: str
    role: Role
    channel: int | None
    confidence: float = 1.0


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a compliance verdict comes from: a moment of the call and what matched."""

    segment_id: int | None
    start: float
    end: float
    text: str
    score: float


@dataclass(frozen=True, slots=True)
class ComplianceCheck:
    """The verdict of one policy rule on one call; ``score`` is the matcher's score the verdict
    turned on and ``threshold`` the rule's (None for rules no score decides, e.g. order), and
    ``close_call`` says the two are within the checker's margin."""

    rule_id: str
    kind: str
    passed: bool
    severity: str
    weight: float
    evidence: tuple[Evidence, ...] = ()
    detail: str = ""
    score: float | None = None
    threshold: float | None = None
    close_call: bool = False


@dataclass(frozen=True, slots=True)
class ComplianceResult:
    """A policy applied to a call: score 0-100, pass/fail and every check."""

    policy_id: str
    policy_version: str
    policy_sha256: str
    score: float
    passed: bool
    checks: tuple[ComplianceCheck, ...]


@dataclass(frozen=True, slots=True)
class PiiEntity:
    """Personal data found (and removed) in a segment; the original text is never kept.

    ``start``/``end`` are times in the call; ``char_start``/``char_end`` index the redacted
    segment text where the placeholder (``[CARD]``, ...) stands.
    """

    type: str
    segment_id: int
    start: float
    end: float
    char_start: int = 0
    char_end: int = 0


@dataclass(frozen=True, slots=True)
class Transcript:
    """Output of the transcription stage."""

    segments: tuple[Segment, ...]
    languages: tuple[str, ...]
    model: ModelInfo
    options: Mapping[str, Any] = field(default_factory=dict)


class ProgressHook(Protocol):
    """pyannote-style progress callback: ``hook(step, artifact, total=..., completed=...)``."""

    def __call__(
        self,
        step: str,
        artifact: object | None = None,
        *,
        total: int | None = None,
        completed: int | None = None,
    ) -> None: ...


def no_progress(
    step: str,
    artifact: object | None = None,
    *,
    total: int | None = None,
    completed: int | None = None,
) -> None:
    """A hook that ignores progress."""
