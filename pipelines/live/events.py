"""What the live transcription engine emits, and the options it runs with."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from models.asr_stream import UtteranceOptions, UtteranceResult
from pipelines.core.types import Samples, Segment
from pipelines.transcribe.guards import GuardOptions

TrackKey = int | str
NoticeKind = Literal["lag", "recovered", "retracted", "unrecognized", "error"]


@dataclass(frozen=True, slots=True)
class Partial:
    """The current hypothesis of a segment still being spoken; a later event with the same
    ``segment.id`` (partial or final) replaces it."""

    segment: Segment


@dataclass(frozen=True, slots=True)
class Final:
    """A segment that will not change any more (``segment.id`` is unique within the call).

    ``audio`` holds the 16 kHz samples the segment was decoded from (for per-final work such
    as whisper's translate task); it takes no part in comparisons.
    """

    segment: Segment
    audio: Samples | None = field(default=None, compare=False, repr=False)
    closes_utterance: bool = True  # False for a phrase committed while its speaker goes on


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the client should know about the stream itself.

    * ``lag``: compute fell behind; partial results were merged or skipped (finals never are);
    * ``recovered``: compute caught up again on that track;
    * ``retracted``: the segment ``segment_id`` had partials but its final was dropped by the
      hallucination guards (``detail`` says why) or held no speech: forget its partials;
    * ``error``: a decode failed (``detail``); that segment is lost.
    """

    kind: NoticeKind
    detail: str
    track: TrackKey | None = None
    segment_id: int | None = None
    at: float | None = None  # call time (s) of the track when it was noticed


Event = Partial | Final | Notice


class Decoder(Protocol):
    """Decodes one utterance; `models.asr_stream.UtteranceDecoder` is the real one."""

    @property
    def multilingual(self) -> bool: ...

    def decode(
        self,
        samples: Samples,
        options: UtteranceOptions,
        *,
        language: str | None = None,
        prior_language: str | None = None,
    ) -> UtteranceResult: ...


def _final_decoding() -> UtteranceOptions:
    return UtteranceOptions(word_timestamps=True, context_margin_s=5.0, beam_size=3)


def _partial_decoding() -> UtteranceOptions:
    return UtteranceOptions(word_timestamps=False, context_margin_s=2.0, redecode_loops=False)


@dataclass(frozen=True, slots=True)
class LiveOptions:
    """Endpointing, partial-result and lag policy of `LiveTranscriber` (seconds throughout)."""

    threshold: float = 0.5  # Silero probability that starts speech
    neg_threshold: float = 0.35  # below this, speech has stopped
    endpoint_silence_s: float = 0.35  # silence that ends an utterance
    speculate_after_s: float = 0.15  # silence after which the final is decoded in advance
    pre_roll_s: float = 0.4  # audio kept before the first speech window
    post_roll_s: float = 0.2  # audio kept after the last speech window
    min_speech_s: float = 0.2  # utterances with less speech are dropped as noise
    max_utterance_s: float = 15.0  # forced cut (at the quietest window of the last cut_window_s)
    cut_window_s: float = 5.0
    partial_interval_s: float = 0.6  # new audio between two partial decodes ...
    partial_interval_ratio: float = 0.2  # ... or this share of the utterance, if longer
    agreement_after_s: float = 1.5  # longer utterances commit what two hypotheses agree on,
    min_phrase_words: int = 2  # ... a phrase of at least this many words at a time,
    phrase_pause_s: float = 0.2  # ... ending at a sentence or clause mark or such a pause
    commit_after_s: float = 5.0  # a longer stretch without one commits at its widest word gap
    pause_commit_after_s: float = 0.8  # a pause in a longer piece ends a phrase when speech goes on
    unagreed_commit_s: float = 0.8  # a pause this old ends a phrase even without agreement
    agreement_margin_s: float = 0.6  # never commit words this close to the newest audio
    max_lag_s: float = 1.0  # a partial waiting longer is late: merge and say so
    shed_partials_s: float = 2.0  # with this much audio waiting for finals, skip partials
    notice_gap_s: float = 5.0  # at most one lag notice per track in this time
    language: str | None = None  # force one language (None: detect per utterance)
    settle_probability: float = 0.5  # a final this sure of its language sets the track's
    final: UtteranceOptions = field(default_factory=_final_decoding)
    partial: UtteranceOptions = field(default_factory=_partial_decoding)
    guards: GuardOptions = field(default_factory=GuardOptions)
    trust_vad_speech_s: float = 0.6  # a final with this much speech skips whisper's no-speech rule
    keep_s: float = 1.0  # audio kept behind the open utterance


class Host(Protocol):
    """What a track needs from the transcriber that owns it (see `LiveTranscriber`)."""

    options: LiveOptions
    decoder: Decoder
    lock: threading.RLock
    abandoned: bool  # the call was closed: skip its queued decodes

    def reserve_id(self) -> int: ...

    def submit_final(self, task: Callable[[], None]) -> None: ...

    def request_partial(self, key: Hashable, task: Callable[[float], None]) -> None: ...

    def final_backlog_s(self) -> float: ...

    def call_language(self) -> str | None: ...

    def emit(self, event: Event) -> None: ...
