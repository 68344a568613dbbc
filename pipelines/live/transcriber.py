"""Live (incremental) transcription of a call, one track per party.

    decoder = UtteranceDecoder(build_recognizer(settings))     # once per process
    scheduler = StreamScheduler()                              # once per process, shared
    live = LiveTranscriber(decoder, scheduler=scheduler, on_event=send)
    live.feed(0, samples_16k)        # or PcmInput(live, encoding="mulaw", sample_rate=8000)
    ...
    live.finish()                    # the last utterances come out as finals

Per track, Silero VAD (run in `feed`, about 0.2 ms per 32 ms window) finds utterances. While
one is spoken, its audio is re-decoded every ``partial_interval_s`` of new audio and sent as a
`Partial`; 0.2 s into a pause the final is decoded in advance, and when the pause reaches
``endpoint_silence_s`` that decode is sent as the `Final` (or decoded then if speech came back
in between). Utterances longer than ``agreement_after_s`` commit, as finals, the words two
consecutive hypotheses agree on (LocalAgreement, as in whisper_streaming); none runs past
``max_utterance_s``. Finals pass the batch hallucination guards and carry the language
detected on their own audio (the track's previous language wins an unsure detection).

Decodes run on the scheduler's worker thread, finals first. When compute falls behind,
partial requests merge into one decode of the newest audio, or are skipped while finals wait;
a `Notice` says so. `behind_seconds` (how far in call time the oldest final still to be
decoded is behind the newest audio) lets the endpoint push back on clients that send faster
than real time, or on a machine that cannot keep up; a long utterance waiting for its one
decode is not "behind".
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pipelines.core.audio import SAMPLE_RATE
from pipelines.core.types import Segment
from pipelines.live.events import (
    Decoder,
    Event,
    Final,
    LiveOptions,
    Notice,
    Partial,
    TrackKey,
)
from pipelines.live.scheduler import StreamScheduler
from pipelines.live.track import Track
from voice.frames import PcmFrameBuffer, StreamEncoding, StreamFrame, frames_by_track
from voice.g711 import BytesLike

__all__ = [
    "Event",
    "Final",
    "LiveOptions",
    "LiveStats",
    "LiveTranscriber",
    "Notice",
    "Partial",
    "PcmInput",
    "StreamScheduler",
    "TrackKey",
]

logger = logging.getLogger(__name__)

DEFAULT_TRACKS: Mapping[str, int] = {"inbound": 0, "outbound": 1}
FinalHook = Callable[[Segment], None]


@dataclass(frozen=True, slots=True)
class LiveStats:
    """How many events of each kind a call has delivered so far."""

    partials: int
    finals: int
    notices: int


class LiveTranscriber:
    """Incremental transcription of one call: `feed` audio per track, get events back.

    Events go to ``on_event`` (called from whichever thread produced them, one at a time, in
    order) or, without it, wait in a queue that `poll` drains. Thread-safe.
    """

    def __init__(
        self,
        decoder: Decoder,
        options: LiveOptions | None = None,
        *,
        scheduler: StreamScheduler | None = None,
        on_event: Callable[[Event], None] | None = None,
        track_channels: Mapping[str, int] | None = None,
        call_id: str = "",
        track_options: Mapping[TrackKey, LiveOptions] | None = None,
    ) -> None:
        """``track_options``: a track's own options (e.g. hotwords for the agent only)."""
        self.decoder = decoder
        self.options = options if options is not None else LiveOptions()
        self.call_id = call_id
        self.lock = threading.RLock()
        self._own_scheduler = scheduler is None
        self.scheduler = scheduler if scheduler is not None else StreamScheduler()
        self._on_event = on_event
        self._channels = dict(track_channels if track_channels is not None else DEFAULT_TRACKS)
        self._track_options = dict(track_options or {})
        self._tracks: dict[TrackKey, Track] = {}
        self._ids = itertools.count()
        self._outbox: deque[Event] = deque()
        self._queue: deque[Event] = deque()
        self._dispatching = threading.RLock()  # re-entrant: a callback may feed()
        self._hooks: list[FinalHook] = []
        self._counts = {"partial": 0, "final": 0, "notice": 0}
        self._idle = threading.Condition(self.lock)
        self._finished = False
        self.abandoned = False

    # ---- input ------------------------------------------------------------------------

    def feed(self, track: TrackKey, samples: npt.ArrayLike) -> None:
        """Add 16 kHz mono float32 samples of one track (any length, in call order)."""
        data = np.asarray(samples, dtype=np.float32)
        if data.ndim > 1 and data.size != data.shape[0]:
            raise ValueError(f"feed() takes one channel of samples, got shape {data.shape}")
        data = data.reshape(-1)
        with self.lock:
            if self._finished:
                raise RuntimeError("feed() after finish()")
            self._track(track).feed(data)
        self._dispatch()

    def pad_to(self, track: TrackKey, seconds: float) -> None:
        """Feed silence until the track's clock reaches ``seconds`` of call time."""
        with self.lock:
            missing = round(seconds * SAMPLE_RATE) - self._track(track).audio.end
        if missing > 0:
            self.feed(track, np.zeros(missing, dtype=np.float32))

    def track_seconds(self, track: TrackKey) -> float:
        """Call time reached by a track (seconds of audio fed)."""
        with self.lock:
            found = self._tracks.get(track)
            return found.audio.end / SAMPLE_RATE if found is not None else 0.0

    def finish(self, timeout: float | None = None) -> bool:
        """End every track: open utterances become finals; wait for their decodes.

        Returns False if ``timeout`` passed first. A private scheduler is closed afterwards.
        """
        with self.lock:
            self._finished = True
            for track in self._tracks.values():
                track.flush()
        self._dispatch()
        done = self.wait_idle(timeout)
        self._dispatch()
        if self._own_scheduler and done:
            self.scheduler.close()
        return done

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no final decode of this call is queued or running."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while any(track.jobs for track in self._tracks.values()):
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._idle.wait(0.05 if remaining is None else min(0.05, remaining))
        return True

    def close(self) -> None:
        """Abandon the call: queued decodes of it are skipped, nothing more is emitted."""
        with self.lock:
            self._finished = self.abandoned = True
            for track in self._tracks.values():
                track.piece = None
                track.jobs.clear()
            self._on_event = None
            self._queue.clear()
        self.scheduler.cancel_partials([(id(self), key) for key in self._tracks])
        with self._dispatching:  # wait for an event being delivered right now
            pass
        if self._own_scheduler:
            self.scheduler.close()

    # ---- output -----------------------------------------------------------------------

    def poll(self) -> list[Event]:
        """Events produced since the last call (only without ``on_event``)."""
        with self.lock:
            events = list(self._queue)
            self._queue.clear()
        return events

    def add_final_hook(self, hook: FinalHook) -> None:
        """Call ``hook(segment)`` after every final (translation, alerts); errors are logged."""
        with self.lock:
            self._hooks.append(hook)

    def pending_seconds(self) -> float:
        """Seconds of audio waiting for a final decode, over all tracks."""
        with self.lock:
            return self.final_backlog_s()

    def lag_seconds(self) -> float:
        """How far (in call time) the oldest waiting final is behind the newest audio."""
        with self.lock:
            lags = [
                (track.audio.end - min(job.end for job in track.jobs)) / SAMPLE_RATE
                for track in self._tracks.values()
                if track.jobs
            ]
            return max(lags, default=0.0)

    def behind_seconds(self) -> float:
        """Call time between the end of the oldest final still waiting for its decode (one
        that will be sent: a speculative decode overtaken by speech is not counted) and the
        newest audio of its track; 0 when every final is out."""
        with self.lock:
            return max((track.behind_s() for track in self._tracks.values()), default=0.0)

    def stats(self) -> LiveStats:
        with self.lock:
            return LiveStats(self._counts["partial"], self._counts["final"], self._counts["notice"])

    # ---- Host protocol (used by the tracks, under the lock) ---------------------------

    def reserve_id(self) -> int:
        return next(self._ids)

    def submit_final(self, task: Callable[[], None]) -> None:
        self.scheduler.submit_final(self._wrap(task))

    def request_partial(self, key: Hashable, task: Callable[[float], None]) -> None:
        def run(waited: float) -> None:
            try:
                task(waited)
            finally:
                self._after_task()

        self.scheduler.request_partial((id(self), key), run)

    def final_backlog_s(self) -> float:
        return sum(
            (job.end - job.start) / SAMPLE_RATE
            for track in self._tracks.values()
            for job in track.jobs
            if job.result is None
        )

    def call_language(self) -> str | None:
        """The language of the call so far: the first track's that whisper was sure of."""
        return next((t.language for t in self._tracks.values() if t.language), None)

    def emit(self, event: Event) -> None:
        if not self._finished or not isinstance(event, Partial):
            self._outbox.append(event)

    # ---- internals --------------------------------------------------------------------

    def _track(self, key: TrackKey) -> Track:
        track = self._tracks.get(key)
        if track is None:
            channel = key if isinstance(key, int) else self._channels.get(key)
            if channel is None:
                raise ValueError(f"unknown track {key!r}; known: {sorted(self._channels)}")
            track = self._tracks[key] = Track(key, channel, self)
            track.options = self._track_options.get(key, self.options)
        return track

    def _wrap(self, task: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                task()
            finally:
                self._after_task()

        return run

    def _after_task(self) -> None:
        with self._idle:
            self._idle.notify_all()
        self._dispatch()

    def _dispatch(self) -> None:
        """Deliver queued events in order, one thread at a time."""
        with self._dispatching:
            while True:
                with self.lock:
                    if not self._outbox:
                        return
                    event = self._outbox.popleft()
                    sink, hooks = self._on_event, list(self._hooks)
                    kind = "final" if isinstance(event, Final) else "partial"
                    self._counts["notice" if isinstance(event, Notice) else kind] += 1
                    if sink is None:
                        self._queue.append(event)
                if sink is not None:
                    _call(sink, event)
                if isinstance(event, Final):
                    for hook in hooks:
                        _call(hook, event.segment)


def _call(function: Callable[[object], None] | Callable[..., None], argument: object) -> None:
    try:
        function(argument)
    except Exception:
        logger.exception("live event callback failed")


class PcmInput:
    """Raw PCM16 or G.711 bytes (8 or 16 kHz, mono or interleaved stereo) into a transcriber.

    Channel ``c`` of the input feeds ``tracks[c]`` (default: track 0, and 1 for stereo).
    Resampling to 16 kHz keeps its state across chunks (`voice.frames.PcmFrameBuffer`).
    """

    def __init__(
        self,
        transcriber: LiveTranscriber,
        *,
        encoding: StreamEncoding = "pcm_s16le",
        sample_rate: int = 8000,
        channels: int = 1,
        tracks: Iterable[TrackKey] | None = None,
    ) -> None:
        self.transcriber = transcriber
        self.tracks = tuple(tracks) if tracks is not None else tuple(range(channels))
        if len(self.tracks) != channels:
            raise ValueError(f"{channels} channel(s) need as many tracks, got {self.tracks}")
        self._buffer = PcmFrameBuffer(
            encoding=encoding,
            sample_rate=sample_rate,
            channels=channels,
            frame_s=0.02,
            target_rate=SAMPLE_RATE,
        )

    def push(self, data: BytesLike) -> None:
        """Decode a chunk (any size, even splitting a sample) and feed what it completes."""
        self._feed(self._buffer.push(data))

    def close(self) -> None:
        """End of input: drain the resampler into the tracks."""
        self._feed(self._buffer.flush())

    def _feed(self, frames: list[StreamFrame]) -> None:
        for track, samples in frames_by_track(frames, self.tracks):
            self.transcriber.feed(track, samples)
