"""One live call's analysis: its transcription and what each final brings, as desktop events.

`LiveCallAnalysis` owns a call's `LiveTranscriber` and `LiveMonitor`. It is fed 16 kHz samples
per track and hands JSON-ready events of the WebSocket contract (``partial``, ``final``,
``notice``, ``alert``, ``emotion``, ``translation``, ``checklist``) to ``publish``; what a
server does with them (subscribers, replay, the audio on disk) is `api.live.hub`'s.

Work per final is split by cost: redaction and compliance matching (milliseconds) run on one
post thread and the final goes out as soon as they are done; the caller's emotion (the voice
encoder, about a second of one core per turn) follows on a thread of its own as an ``emotion``
event for that segment, with the escalation alert; whisper's translate task runs on the decode
scheduler behind waiting finals (whisper is used by one thread at a time). None of them holds
a final back. Everything shown is redacted: finals and partials with placeholders and long
numbers masked, translations likewise.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Any

from models.asr_stream import UtteranceDecoder
from pipelines.analytics.stage import AnalyticsStages
from pipelines.compliance.policy import Policy
from pipelines.core.types import Layout, Role, Samples, Segment
from pipelines.live.alerts import LiveMonitor
from pipelines.live.events import TrackKey
from pipelines.live.scheduler import StreamScheduler
from pipelines.live.transcriber import Final, LiveOptions, LiveTranscriber, Notice, Partial
from pipelines.live.translate import LiveSpeechTranslator
from pipelines.pii.redactor import mask_numbers, redact_text
from pipelines.record.schema import segment_to_dict
from pipelines.transcribe.vocabulary import call_vocabulary
from pipelines.translate.stage import SegmentTranslator

logger = logging.getLogger(__name__)

Publish = Callable[[dict[str, Any]], None]
VOICE_NICENESS = 10
VOICE_HOLD_S = 8.0  # speech of one utterance's phrases held back for one voice pass at most


@dataclass(frozen=True, slots=True)
class LiveModels:
    """The models a process's live calls share (`pipelines.registry.build_live_models`)."""

    decoder: UtteranceDecoder
    scheduler: StreamScheduler
    stages: AnalyticsStages
    translator: SegmentTranslator | None  # text translation (argos) to other targets
    speech_translation: LiveSpeechTranslator | None  # speech to English (whisper)


class LiveEngine:
    """What every live call of a process shares: the models, one post thread for redaction,
    compliance and alerts, and one low-priority thread for the voice encoder."""

    def __init__(self, models: LiveModels) -> None:
        self.models = models
        self.post = ThreadPoolExecutor(max_workers=1, thread_name_prefix="callqa-live-post")
        self.voice = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="callqa-live-voice", initializer=_yielding
        )

    def close(self) -> None:
        self.post.shutdown(wait=True, cancel_futures=False)
        self.voice.shutdown(wait=True, cancel_futures=False)
        self.models.scheduler.close()


def _yielding() -> None:
    """Lower this thread's CPU priority (Linux: per thread): the voice encoder takes what
    the decodes leave, so a customer's emotion never slows the next final."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), VOICE_NICENESS)
    except (AttributeError, OSError, PermissionError):  # not Linux, or not allowed
        logger.debug("could not lower the live voice thread's priority")


@dataclass(frozen=True, slots=True)
class LiveCallOptions:
    """``tracks``: the call's track numbers (one per party on two-channel calls);
    ``language``: the call's language when known; ``translate_to``: translations wanted."""

    call_id: str
    tracks: tuple[int, ...]
    layout: Layout = "mono"
    language: str | None = None
    translate_to: str | None = None
    vocabulary: tuple[str, ...] = ()  # names and terms whisper should expect (hotwords)


class LiveCallAnalysis:
    """One running call's transcription, redaction, alerts, emotion and translations."""

    def __init__(
        self,
        engine: LiveEngine,
        options: LiveCallOptions,
        policy: Policy | None,
        publish: Publish,
    ) -> None:
        self.engine = engine
        self.options = options
        self.publish = publish
        self.roles = roles_of(options.layout, len(options.tracks))
        self.monitor = LiveMonitor(engine.models.stages, policy, score_agents=False)
        self.lock = threading.Lock()
        self.translations: list[Future[None]] = []
        self.voice_pending: list[tuple[Segment, Samples | None]] = []
        self.voice_due = False  # a voice pass is queued for the pending finals
        self.checklist: list[dict[str, Any]] | None = None  # the last one published
        transcribe = LiveOptions()
        if options.language:
            transcribe = replace(transcribe, language=options.language)
        agent = _biased(transcribe, call_vocabulary(policy, options.vocabulary))
        others = _biased(transcribe, call_vocabulary(None, options.vocabulary))
        # as in batch, the script's names are the agent's on two-channel calls; the company's
        # own words (its products) everybody's
        by_track: dict[TrackKey, LiveOptions] = {
            str(t): agent if options.layout == "mono" or self.roles.get(t) == "agent" else others
            for t in options.tracks
        }
        self.transcriber = LiveTranscriber(
            engine.models.decoder,
            transcribe,
            scheduler=engine.models.scheduler,
            on_event=self._on_event,
            track_channels={str(t): t for t in options.tracks},
            call_id=options.call_id,
            track_options=by_track,
        )

    def feed(self, track: int, samples: Samples) -> None:
        """16 kHz samples of one track, in order."""
        self.transcriber.feed(str(track), samples)

    def behind_s(self) -> float:
        """How far (call seconds) the transcription is behind the audio fed."""
        return float(self.transcriber.behind_seconds())

    def tick(self, call_time_s: float) -> None:
        """Deadlines: called about once a second while the call runs."""
        self.engine.post.submit(self._tick, call_time_s)

    def finish(self) -> None:
        """Flush the last utterances and wait until every event of the call is out."""
        self.transcriber.finish(timeout=120)
        self.engine.post.submit(lambda: None).result(timeout=300)  # finals and alerts out
        self.engine.voice.submit(self._voices).result(timeout=300)  # emotions out
        with self.lock:
            translations = list(self.translations)
        wait(translations, timeout=120)
        self.transcriber.close()

    # ---- transcript events ----------------------------------------------------------------

    def _on_event(self, event: Any) -> None:
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
            logger.exception("live final failed on call %s", self.options.call_id)

    def _partial_alerts(self, segment: Segment) -> None:
        try:
            for alert in self.monitor.on_partial(segment):
                self.publish(alert.to_event())
        except Exception:
            logger.exception("live partial alerts failed on call %s", self.options.call_id)

    def _tick(self, call_time_s: float) -> None:
        try:
            for alert in self.monitor.tick(call_time_s):
                self.publish(alert.to_event())
            self._publish_checklist()
        except Exception:
            logger.exception("live tick failed on call %s", self.options.call_id)

    def _publish_checklist(self) -> None:
        items = [item.to_dict() for item in self.monitor.checklist()]
        with self.lock:
            changed = bool(items) and items != self.checklist
            self.checklist = items if changed else self.checklist
        if changed:
            self.publish({"type": "checklist", "items": items})

    # ---- the caller's emotion -------------------------------------------------------------

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
            logger.exception("live emotion failed on call %s", self.options.call_id)

    # ---- translations ---------------------------------------------------------------------

    def _translate(self, segment: Segment, samples: Samples | None) -> None:
        target = self.options.translate_to
        if not target or segment.language in (None, target) or not segment.text.strip():
            return
        models = self.engine.models
        speech = models.speech_translation
        if target == "en" and speech is not None and samples is not None:
            done: Future[None] = Future()

            def run() -> None:
                try:
                    text = speech.translate(samples, segment.language)
                    self._publish_translation(segment, "en", text)
                    done.set_result(None)
                except BaseException as exc:
                    logger.exception("live translation failed on call %s", self.options.call_id)
                    done.set_exception(exc)

            with self.lock:
                self.translations.append(done)
            models.scheduler.submit_background(run)
            return
        if models.translator is not None:  # text translation (argos) of the transcript
            translation = models.translator.translate_segment(segment, None, target)
            if translation is not None:
                self._publish_translation(segment, translation.language, translation.text)

    def _publish_translation(self, segment: Segment, language: str, text: str) -> None:
        if text.strip():
            self.publish(
                {
                    "type": "translation",
                    "segment_id": segment.id,
                    "language": language,
                    "text": mask_numbers(redact_text(text)[0]),
                }
            )


def _biased(options: LiveOptions, terms: tuple[str, ...]) -> LiveOptions:
    """``options`` whose decodes expect ``terms`` (whisper's hotwords); unchanged without."""
    if not terms:
        return options
    hotwords = ", ".join(terms)
    return replace(
        options,
        final=replace(options.final, hotwords=hotwords),
        partial=replace(options.partial, hotwords=hotwords),
    )


def roles_of(layout: Layout, tracks: int) -> dict[int, Role]:
    """Each track's role: one track is anybody; two are agent and customer by the layout."""
    if tracks == 1:
        return {0: "unknown"}
    if layout == "stereo-agent-right":
        return {0: "customer", 1: "agent"}
    return {0: "agent", 1: "customer"}


def desktop_segment(segment: Segment) -> dict[str, Any]:
    """A live segment as agents' desktops get it: redacted, long numbers masked."""
    text = mask_numbers(redact_text(segment.text)[0])
    words = tuple(w for w in segment.words if not any(c.isdigit() for c in w.word))
    if text == segment.text and len(words) == len(segment.words):
        return segment_to_dict(segment)
    return segment_to_dict(replace(segment, text=text, words=words))
