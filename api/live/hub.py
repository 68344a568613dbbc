"""Live calls: the engine shared by a server's calls, one `LiveCall` per call, the hub.

A `LiveCall` turns audio chunks (callqa frames or Twilio media) into transcript events,
translations, alerts and the compliance checklist for its subscribers, writes every received
sample to disk as it arrives (a dropped connection loses nothing already received), and at the
end stores the call as an upload with a queued job, so the batch stages (diarization,
analytics, redaction, record, chain) run on it exactly as on an uploaded recording.

Work per final is split by cost: redaction and compliance matching (milliseconds) run on one
post thread and the final goes out as soon as they are done; the caller's emotion (the voice
encoder, about a second of one core per turn) follows on a thread of its own as an ``emotion``
event for that segment, with the escalation alert; whisper's translate task runs on the decode
scheduler behind waiting finals (whisper is used by one thread at a time). None of them holds
a final back. A subscriber that joins a running call first gets
what was said so far (finals, translations, alerts, the checklist), then the call as it goes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from api.live.recovery import track_path, tracks_to_wav
from api.store.db import Store
from api.store.integrity import Signer
from pipelines.compliance.policy import Policy
from pipelines.core.settings import Settings
from pipelines.core.types import Layout, Role, Samples, Segment
from pipelines.record.schema import segment_to_dict
from voice.frames import PcmFrameBuffer, StreamEncoding

logger = logging.getLogger(__name__)

RATE = 16000
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


class LiveEngine:
    """What every live call of a process shares: the decoder, the scheduler, the analytics
    stages and one thread for alerts and translations. Built on the first live call."""

    def __init__(self, settings: Settings) -> None:
        from api.live.models import build_live_models

        self.settings = settings
        models = build_live_models(settings)
        self.decoder = models.decoder
        self.scheduler = models.scheduler
        self.stages = models.stages
        self.translator = models.translator
        self.speech_translation = models.speech_translation
        self.post = ThreadPoolExecutor(max_workers=1, thread_name_prefix="callqa-live-post")
        self.voice = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="callqa-live-voice", initializer=_yielding
        )

    def close(self) -> None:
        self.post.shutdown(wait=True, cancel_futures=False)
        self.voice.shutdown(wait=True, cancel_futures=False)
        self.scheduler.close()


VOICE_NICENESS = 10
VOICE_HOLD_S = 8.0  # speech of one utterance's phrases held back for one voice pass at most


def _yielding() -> None:
    """Lower this thread's CPU priority (Linux: per thread): the voice encoder takes what
    the decodes leave, so a customer's emotion never slows the next final."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), VOICE_NICENESS)
    except (AttributeError, OSError, PermissionError):  # not Linux, or not allowed
        logger.debug("could not lower the live voice thread's priority")


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
        first, last = max(0, int(start_s * RATE)), min(self.samples, int(end_s * RATE))
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
    ) -> None:
        from pipelines.live.alerts import LiveMonitor
        from pipelines.live.transcriber import LiveOptions, LiveTranscriber

        self.engine = engine
        self.start = start
        self.folder = folder
        self.roles = _roles(start.layout, len(tracks))
        self.files = {t: _TrackFile(track_path(folder, start.call_id, t)) for t in tracks}
        self.buffers: dict[int, PcmFrameBuffer] = {}
        self.subscribers: set[Send] = set()
        self.history: list[dict[str, Any]] = []
        self.checklist: dict[str, Any] | None = None
        self.translations: list[Future[None]] = []
        self.voice_pending: list[tuple[Segment, Samples | None]] = []
        self.voice_due = False  # a voice pass is queued for the pending finals
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        self.lock = threading.Lock()
        self.monitor = LiveMonitor(engine.stages, policy, score_agents=False)
        options = LiveOptions()
        if start.language:
            options = replace(options, language=start.language)
        self.transcriber = LiveTranscriber(
            engine.decoder,
            options,
            scheduler=engine.scheduler,
            on_event=self._on_event,
            track_channels={str(t): t for t in tracks},
            call_id=start.call_id,
        )
        self.finished = False

    # ---- audio in ---------------------------------------------------------------------

    def buffer(self, track: int, channels: int = 1) -> PcmFrameBuffer:
        if track not in self.buffers:
            self.buffers[track] = PcmFrameBuffer(
                encoding=self.start.encoding,
                sample_rate=self.start.sample_rate,
                channels=channels,
                target_rate=RATE,
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
        missing = int(seconds * RATE) - self.files[track].samples
        if missing > RATE // 10:
            self._feed_track(track, np.zeros(missing, dtype=np.float32))

    def _feed(self, frames: list[Any], tracks: tuple[int, ...]) -> None:
        if not frames:
            return
        for index, track in enumerate(tracks):
            samples = np.concatenate([f.channels[index].samples for f in frames])
            self._feed_track(track, samples)

    def _feed_track(self, track: int, samples: np.ndarray[Any, Any]) -> None:
        self.files[track].append(samples)
        self.transcriber.feed(str(track), samples)

    @property
    def received_s(self) -> float:
        return max((f.samples for f in self.files.values()), default=0) / RATE

    def behind_s(self) -> float:
        """How far (call seconds) the transcription is behind the audio received."""
        return float(self.transcriber.behind_seconds())

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

    def _on_event(self, event: Any) -> None:
        from pipelines.live.transcriber import Final, Notice, Partial

        if isinstance(event, Partial):
            segment = self._labelled(event.segment)
            self.publish(
                {"type": "partial", "segment": desktop_segment(replace(segment, words=()))}
            )
            self.engine.post.submit(self._partial_alerts, segment)
        elif isinstance(event, Final):
            segment = self._labelled(event.segment)
            self.engine.post.submit(self._final, segment, event.audio, event.closes_utterance)
        elif isinstance(event, Notice):
            self.publish(
                {
                    "type": "notice",
                    "kind": event.kind,
                    "detail": event.detail,
                    "segment_id": event.segment_id,
                    "at": event.at,
                }
            )

    def _labelled(self, segment: Segment) -> Segment:
        channel = segment.channel if segment.channel is not None else 0
        return replace(
            segment,
            channel=channel,
            speaker=f"SPEAKER_{channel:02d}",
            role=self.roles.get(channel, "unknown"),
        )

    def _final(self, segment: Segment, samples: Samples | None, closes: bool = True) -> None:
        try:
            has_audio = samples is not None and len(samples) > 0
            update = self.monitor.on_text(segment)
            self.publish({"type": "final", "segment": desktop_segment(update.segment)})
            for alert in update.alerts:
                self.publish(alert.to_event())
            self._publish_checklist()
            self._queue_voice(update.segment, samples if has_audio else None, closes)
            self._translate(segment, samples if has_audio else None)
        except Exception:
            logger.exception("live final failed on call %s", self.start.call_id)

    def _partial_alerts(self, segment: Segment) -> None:
        try:
            for alert in self.monitor.on_partial(segment):
                self.publish(alert.to_event())
        except Exception:
            logger.exception("live partial alerts failed on call %s", self.start.call_id)

    def _queue_voice(self, segment: Segment, samples: Samples | None, closes: bool) -> None:
        """Queue a final for the voice thread. The phrases of one utterance go through the
        voice encoder together when it ends (one pass, about a second of a core, instead of
        one per phrase), or once ``VOICE_HOLD_S`` of speech has queued up."""
        with self.lock:
            self.voice_pending.append((segment, samples))
            queued = sum(s.end - s.start for s, _ in self.voice_pending)
            due = (closes or queued >= VOICE_HOLD_S) and not self.voice_due
            self.voice_due = self.voice_due or due
        if due:
            self.engine.voice.submit(self._voices)

    def _voices(self) -> None:
        with self.lock:
            finals, self.voice_pending = self.voice_pending, []
            self.voice_due = False
        try:
            for update in self.monitor.on_voices(finals):
                emotion = segment_to_dict(update.segment)["emotion"]
                if emotion is not None:
                    event = {"type": "emotion", "segment_id": update.segment.id, "emotion": emotion}
                    self.publish(event)
                for alert in update.alerts:
                    self.publish(alert.to_event())
        except Exception:
            logger.exception("live emotion failed on call %s", self.start.call_id)

    def _publish_checklist(self) -> None:
        items = [item.to_dict() for item in self.monitor.checklist()]
        if not items:
            return
        event = {"type": "checklist", "items": items}
        with self.lock:
            changed = self.checklist != event
        if changed:
            self.publish(event)

    def _translate(self, segment: Segment, samples: Samples | None) -> None:
        target = self.start.translate_to
        if not target or segment.language in (None, target) or not segment.text.strip():
            return
        speech = self.engine.speech_translation
        if target == "en" and speech is not None and samples is not None:
            done: Future[None] = Future()

            def run() -> None:
                try:
                    text = speech.translate(samples, segment.language)
                    self._publish_translation(segment, "en", text)
                    done.set_result(None)
                except BaseException as exc:
                    logger.exception("live translation failed on call %s", self.start.call_id)
                    done.set_exception(exc)

            with self.lock:
                self.translations.append(done)
            self.engine.scheduler.submit_background(run)
            return
        translator = self.engine.translator
        if translator is not None:  # text translation (argos) of the transcript
            translation = translator.translate_segment(segment, None, target)
            if translation is not None:
                self._publish_translation(segment, translation.language, translation.text)

    def _publish_translation(self, segment: Segment, language: str, text: str) -> None:
        from pipelines.pii.redactor import mask_numbers, redact_text

        if text.strip():
            self.publish(
                {
                    "type": "translation",
                    "segment_id": segment.id,
                    "language": language,
                    "text": mask_numbers(redact_text(text)[0]),
                }
            )

    def tick(self) -> None:
        """Deadlines: called about once a second while the call runs."""
        now = self.received_s
        self.engine.post.submit(self._tick, now)

    def _tick(self, now: float) -> None:
        try:
            for alert in self.monitor.tick(now):
                self.publish(alert.to_event())
            self._publish_checklist()
        except Exception:
            logger.exception("live tick failed on call %s", self.start.call_id)

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
        self.transcriber.finish(timeout=120)
        self.engine.post.submit(lambda: None).result(timeout=300)  # finals and alerts out
        self.engine.voice.submit(self._voices).result(timeout=300)  # emotions out
        with self.lock:
            translations = list(self.translations)
        wait(translations, timeout=120)
        self.transcriber.close()
        path = self._write_wav()
        for file in self.files.values():
            file.close()
            file.path.unlink(missing_ok=True)
        return path

    def _write_wav(self) -> Path | None:
        target = self.folder / f"{self.start.call_id}.upload"
        tracks = [file.path for file in self.files.values()]
        return target if tracks_to_wav(tracks, target) else None


def _roles(layout: Layout, tracks: int) -> dict[int, Role]:
    if tracks == 1:
        return {0: "unknown"}
    if layout == "stereo-agent-right":
        return {0: "customer", 1: "agent"}
    return {0: "agent", 1: "customer"}


def desktop_segment(segment: Segment) -> dict[str, Any]:
    """A live segment as agents' desktops get it: redacted, long numbers masked."""
    from pipelines.pii.redactor import mask_numbers, redact_text

    text = mask_numbers(redact_text(segment.text)[0])
    words = tuple(w for w in segment.words if not any(c.isdigit() for c in w.word))
    if text == segment.text and len(words) == len(segment.words):
        return segment_to_dict(segment)
    return segment_to_dict(replace(segment, text=text, words=words))


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
        with self.lock:
            if self._engine is None:
                self._engine = LiveEngine(self.settings)
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
            policy = self._policy(start)
            claim_live_call(self.store, self.signer, start)
            try:
                call = LiveCall(self.engine(), start, folder, tracks, policy)
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

    def _policy(self, start: LiveStart) -> Policy | None:
        if start.policy_id is None:
            return None
        from api.jobs.runner import stored_policy

        with self.store.session() as session:
            return stored_policy(session, start.tenant, start.policy_id, None)

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


def new_call_id() -> str:
    return uuid.uuid4().hex


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
