"""Live calls in a server: one `LiveCall` per running call, the hub that finds them.

A `LiveCall` takes audio chunks (callqa frames or Twilio media), writes every received sample
to disk as it arrives (a dropped connection loses nothing already received), feeds its
`pipelines.live.call.LiveCallAnalysis` (transcripts, redaction, alerts, emotion,
translations), and sends the events it makes to the call's subscribers. At the end it stores
the call as an upload with a queued job, so the batch stages (diarization, analytics,
redaction, record, chain) run on it exactly as on an uploaded recording. A subscriber that
joins a running call first gets what was said so far (finals, translations, alerts, the
checklist), then the call as it goes.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from api.live.recovery import track_path, tracks_to_wav
from api.store.db import Store
from api.store.integrity import Signer
from pipelines.compliance.policy import Policy
from pipelines.core.audio import SAMPLE_RATE
from pipelines.core.settings import Settings
from pipelines.core.types import Layout
from voice.frames import PcmFrameBuffer, StreamEncoding, StreamFrame, frames_by_track

if TYPE_CHECKING:  # loaded with the first live call
    from pipelines.live.call import LiveEngine

logger = logging.getLogger(__name__)

MAX_SUBSCRIBER_QUEUE = 1000
MAX_HISTORY = 5000  # events a late subscriber is sent first (finals, translations, alerts)
REPLAYED = frozenset({"final", "translation", "alert", "emotion"})
Send = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class LiveStart:
    """How a live call was opened (the callqa ``start`` message or Twilio's ``start``)."""

    call_id: str
    tenant: str
    by: str
    sample_rate: int = 8000
    encoding: StreamEncoding = "pcm_s16le"
    channels: int = 1
    layout: Layout = "mono"
    language: str | None = None
    translate_to: str | None = None
    policy_id: str | None = None
    protocol: str = "callqa"
    metadata: dict[str, Any] = field(default_factory=dict)
    # the caller's number as the platform sent it: in memory only, keyed when the call is stored
    caller: str | None = field(default=None, repr=False)


class _TrackFile:
    """A track's 16 kHz PCM16 as received, appended to a file, readable while it grows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle = path.open("w+b")
        self.samples = 0
        self.lock = threading.Lock()

    def append(self, samples: np.ndarray[Any, Any]) -> None:
        pcm = np.round(np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
        with self.lock:
            self.handle.seek(0, 2)
            self.handle.write(pcm.tobytes())
            self.handle.flush()
            self.samples += len(pcm)

    def read(self, start_s: float, end_s: float) -> np.ndarray[Any, Any]:
        first, last = (
            max(0, int(start_s * SAMPLE_RATE)),
            min(self.samples, int(end_s * SAMPLE_RATE)),
        )
        if last <= first:
            return np.zeros(0, dtype=np.float32)
        with self.lock:
            self.handle.seek(first * 2)
            data = self.handle.read((last - first) * 2)
        return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0

    def close(self) -> None:
        self.handle.close()


class LiveCall:
    """One running call: audio in, events out, finalised into a stored call."""

    def __init__(
        self,
        engine: LiveEngine,
        start: LiveStart,
        folder: Path,
        tracks: tuple[int, ...],
        policy: Policy | None = None,
        vocabulary: tuple[str, ...] = (),
    ) -> None:
        from pipelines.live.call import LiveCallAnalysis, LiveCallOptions

        self.start = start
        self.folder = folder
        self.files = {t: _TrackFile(track_path(folder, start.call_id, t)) for t in tracks}
        self.buffers: dict[int, PcmFrameBuffer] = {}
        self.subscribers: set[Send] = set()
        self.history: list[dict[str, Any]] = []
        self.checklist: dict[str, Any] | None = None
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        self.lock = threading.Lock()
        options = LiveCallOptions(
            start.call_id, tracks, start.layout, start.language, start.translate_to, vocabulary
        )
        self.analysis = LiveCallAnalysis(engine, options, policy, self.publish)
        self.finished = False

    # ---- audio in ---------------------------------------------------------------------

    def buffer(self, track: int, channels: int = 1) -> PcmFrameBuffer:
        if track not in self.buffers:
            self.buffers[track] = PcmFrameBuffer(
                encoding=self.start.encoding,
                sample_rate=self.start.sample_rate,
                channels=channels,
                target_rate=SAMPLE_RATE,
            )
        return self.buffers[track]

    def push(self, data: bytes, track: int | None = None) -> None:
        """Audio bytes: interleaved channels of the callqa protocol (track None), or one
        mono track (Twilio)."""
        if track is None:
            frames = self.buffer(-1, self.start.channels).push(data)
            tracks: tuple[int, ...] = tuple(range(self.start.channels))
        else:
            frames = self.buffer(track).push(data)
            tracks = (track,)
        self._feed(frames, tracks)

    def pad_to(self, track: int, seconds: float) -> None:
        """Silence up to ``seconds`` on a track whose sender skipped time (Twilio gaps)."""
        missing = int(seconds * SAMPLE_RATE) - self.files[track].samples
        if missing > SAMPLE_RATE // 10:
            self._feed_track(track, np.zeros(missing, dtype=np.float32))

    def _feed(self, frames: list[StreamFrame], tracks: tuple[int, ...]) -> None:
        for track, samples in frames_by_track(frames, tracks):
            self._feed_track(track, samples)

    def _feed_track(self, track: int, samples: np.ndarray[Any, Any]) -> None:
        self.files[track].append(samples)
        self.analysis.feed(track, samples)

    @property
    def received_s(self) -> float:
        return max((f.samples for f in self.files.values()), default=0) / SAMPLE_RATE

    def behind_s(self) -> float:
        """How far (call seconds) the transcription is behind the audio received."""
        return self.analysis.behind_s()

    # ---- events out ---------------------------------------------------------------------

    def subscribe(self, send: Send, *, replay: bool = False) -> None:
        """Add a subscriber; with ``replay`` it first gets what was said so far."""
        with self.lock:
            if replay:
                for event in self.history:
                    send(event)
                if self.checklist is not None:
                    send(self.checklist)
            self.subscribers.add(send)

    def summary(self) -> dict[str, Any]:
        """The call as the list of running calls shows it (no transcript, no personal data)."""
        with self.lock:
            finals = sum(1 for e in self.history if e["type"] == "final")
            alerts = sum(1 for e in self.history if e["type"] == "alert")
        start = self.start
        return {
            "call_id": start.call_id,
            "started_at": self.started_at,
            "protocol": start.protocol,
            "layout": start.layout,
            "language": start.language,
            "translate_to": start.translate_to,
            "policy_id": start.policy_id,
            "received_s": round(self.received_s, 1),
            "finals": finals,
            "alerts": alerts,
        }

    def unsubscribe(self, send: Send) -> None:
        with self.lock:
            self.subscribers.discard(send)

    def publish(self, event: dict[str, Any]) -> None:
        with self.lock:
            if event["type"] in REPLAYED and len(self.history) < MAX_HISTORY:
                self.history.append(event)
            elif event["type"] == "checklist":
                self.checklist = event
            targets = list(self.subscribers)
        for send in targets:
            try:
                send(event)
            except Exception:  # one broken subscriber must not stop the others
                logger.exception("live subscriber failed on call %s", self.start.call_id)

    def tick(self) -> None:
        """Deadlines: called about once a second while the call runs."""
        self.analysis.tick(self.received_s)

    # ---- the end ------------------------------------------------------------------------

    def finish(self) -> Path | None:
        """Flush the last utterances and write the received audio as a WAV (None if empty)."""
        if self.finished:
            return None
        self.finished = True
        for track, buffer in self.buffers.items():
            frames = buffer.flush()
            tracks = tuple(range(self.start.channels)) if track == -1 else (track,)
            self._feed(frames, tracks)
        self.analysis.finish()
        path = self._write_wav()
        for file in self.files.values():
            file.close()
            file.path.unlink(missing_ok=True)
        return path

    def _write_wav(self) -> Path | None:
        target = self.folder / f"{self.start.call_id}.upload"
        tracks = [file.path for file in self.files.values()]
        return target if tracks_to_wav(tracks, target) else None


class LiveHub:
    """The calls running in this server, by id, for ``/v1/live`` subscribers."""

    def __init__(self, settings: Settings, store: Store, signer: Signer) -> None:
        self.settings = settings
        self.store = store
        self.signer = signer
        self.calls: dict[str, LiveCall] = {}
        self.opening: set[tuple[str, str]] = set()  # (tenant, call id) of starts being handled
        self.lock = threading.Lock()
        self._engine: LiveEngine | None = None

    def engine(self) -> LiveEngine:
        from pipelines.live.call import LiveEngine
        from pipelines.registry import build_live_models

        with self.lock:
            if self._engine is None:
                self._engine = LiveEngine(build_live_models(self.settings))
            return self._engine

    def open(self, start: LiveStart, tracks: tuple[int, ...], folder: Path) -> LiveCall:
        """Claim the call's id in the database, then start the call.

        Raises `api.jobs.intake.CallIdTaken` when the id names any existing call.
        """
        from api.jobs.intake import claim_live_call, release_live_claim

        opening = (start.tenant, start.call_id)
        with self.lock:
            self.opening.add(opening)
        try:
            policy, words = self._policy(start)
            claim_live_call(self.store, self.signer, start)
            try:
                call = LiveCall(self.engine(), start, folder, tracks, policy, words)
            except BaseException:
                release_live_claim(self.store, start.call_id, start.tenant)
                raise
            with self.lock:
                self.calls[start.call_id] = call
            return call
        finally:
            with self.lock:
                self.opening.discard(opening)

    def is_opening(self, tenant: str, call_id: str) -> bool:
        """Is a ``start`` for this call being handled (models loading, say)?"""
        with self.lock:
            return (tenant, call_id) in self.opening

    def _policy(self, start: LiveStart) -> tuple[Policy | None, tuple[str, ...]]:
        """The call's policy (widened by the tenant's vocabulary) and the tenant's words."""
        from api.store.policies import stored_policy
        from api.store.vocabulary import current_vocabulary
        from pipelines.compliance.vocabulary import with_vocabulary

        with self.store.session() as session:
            words = current_vocabulary(session, start.tenant)
            if start.policy_id is None:
                return None, words.words
            policy = stored_policy(session, start.tenant, start.policy_id, None)
        return (with_vocabulary(policy, words) if policy else None), words.words

    def running(self, tenant: str) -> list[LiveCall]:
        """The tenant's running calls, oldest first."""
        with self.lock:
            calls = [c for c in self.calls.values() if c.start.tenant == tenant]
        return sorted(calls, key=lambda c: c.started_at)

    def get(self, tenant: str, call_id: str) -> LiveCall | None:
        with self.lock:
            call = self.calls.get(call_id)
        return call if call is not None and call.start.tenant == tenant else None

    def close_call(self, call_id: str) -> None:
        with self.lock:
            self.calls.pop(call_id, None)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()


def subscriber(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[dict[str, Any]]) -> Send:
    """A thread-safe sender into an asyncio queue; a subscriber that falls far behind loses
    the oldest partials rather than holding the call back."""

    def send(event: dict[str, Any]) -> None:
        def put() -> None:
            if queue.qsize() >= MAX_SUBSCRIBER_QUEUE and event.get("type") == "partial":
                return
            queue.put_nowait(event)

        loop.call_soon_threadsafe(put)

    return send
