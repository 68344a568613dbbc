"""The batch call pipeline: decoded call in, interaction record out."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from models.vad import SileroVad, silero_info
from pipelines.analytics.metrics import call_metrics
from pipelines.analytics.stage import AnalyticsStages, PendingStages, run_analytics
from pipelines.core.errors import ConfigError
from pipelines.core.types import (
    Audio,
    CallAudio,
    Diarization,
    Layout,
    ModelInfo,
    Participant,
    ProgressHook,
    Role,
    Segment,
    SpeechRegion,
    no_progress,
)
from pipelines.pii.references import Reference
from pipelines.record.schema import InteractionRecord, Provenance, utc_now
from pipelines.speakers.diarizer import Diarizer
from pipelines.speakers.echo import EchoOptions, drop_echo
from pipelines.speakers.roles import RoleOptions, identify_roles
from pipelines.speakers.stereo import (
    CrosstalkOptions,
    channel_diarization,
    drop_echoed_segments,
    suppress_crosstalk,
)
from pipelines.speakers.words import assign_speakers
from pipelines.transcribe.coverage import (
    CoverageOptions,
    channel_key,
    speech_coverage,
    warn_coverage_gaps,
)
from pipelines.transcribe.stage import Transcriber
from pipelines.transcribe.vocabulary import call_vocabulary
from pipelines.translate.stage import Translator
from voice.vad import SpeechDetector

logger = logging.getLogger(__name__)

DUPLICATE_CHANNEL_TOLERANCE = 1e-3


def pipeline_version() -> str:
    try:
        return importlib.metadata.version("callqa")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - source checkout
        return "0+unknown"


@dataclass(frozen=True, slots=True)
class PreparedCall:
    """A call whose channels match its layout."""

    call: CallAudio
    layout: Layout


def prepare_layout(call: CallAudio, layout: Layout | None, stereo_default: Layout) -> PreparedCall:
    """Pick the layout and the channels to transcribe.

    Two distinct channels are one party each; identical channels (mono saved as stereo) and
    more than two channels are mixed down to mono.
    """
    count = len(call.channels)
    if layout in ("stereo-agent-left", "stereo-agent-right") and count != 2:
        raise ConfigError(f"layout {layout} needs 2 channels, the audio has {count}")
    if count == 2 and layout != "mono" and not _channels_identical(call.channels):
        return PreparedCall(call, layout or stereo_default)
    if count > 1:
        logger.info("mixing %d channels down to mono", count)
        mixed = np.mean([c.samples for c in call.channels], axis=0).astype(np.float32)
        call = replace(call, channels=(Audio(mixed, call.sample_rate, 0),))
    return PreparedCall(call, "mono")


def _channels_identical(channels: tuple[Audio, ...]) -> bool:
    diff = np.max(np.abs(channels[0].samples - channels[1].samples), initial=0.0)
    return bool(diff < DUPLICATE_CHANNEL_TOLERANCE)


def channel_roles(layout: Layout) -> dict[int, Role]:
    if layout == "stereo-agent-left":
        return {0: "agent", 1: "customer"}
    if layout == "stereo-agent-right":
        return {0: "customer", 1: "agent"}
    return {}


def channel_speaker(channel: int) -> str:
    return f"SPEAKER_{channel:02d}"


@dataclass(frozen=True, slots=True)
class AnalyzedCall:
    """A record, the redacted audio whose hash it carries, and the order, account and case
    numbers said in the call (for the service to pseudonymize; never stored as they are)."""

    record: InteractionRecord
    redacted_audio: CallAudio
    references: tuple[Reference, ...] = ()


@dataclass(frozen=True, slots=True)
class Speakers:
    """What the speaker stages add to a transcript, and where each channel holds speech."""

    segments: tuple[Segment, ...]
    participants: tuple[Participant, ...]
    diarization: Diarization | None
    options: dict[str, Any]
    speech: dict[int, tuple[SpeechRegion, ...]] = field(default_factory=dict)


def with_roles(
    segments: tuple[Segment, ...], participants: tuple[Participant, ...]
) -> tuple[Segment, ...]:
    role = {p.speaker: p.role for p in participants}
    return tuple(
        replace(s, role=role.get(s.speaker, "unknown") if s.speaker else "unknown")
        for s in segments
    )


class CallPipeline:
    """Runs the stages it is given, in order, and assembles the record.

    Stereo calls: cross-talk suppressed, each channel transcribed, one party per channel.
    Mono calls: transcribed, diarized (when a diarizer is given), words assigned to speakers,
    roles identified from what each speaker says.
    Both: ``metrics.speech_coverage`` compares each channel's voice activity with its
    transcribed segments (`pipelines.transcribe.coverage`); a channel below
    ``coverage.min_coverage`` is listed in its ``gaps`` and logged as a WARNING, so no party
    goes missing silently.
    """

    _analytics: AnalyticsStages | PendingStages

    def __init__(
        self,
        transcriber: Transcriber,
        *,
        diarizer: Diarizer | None = None,
        tenant: str = "default",
        stereo_default: Layout = "stereo-agent-left",
        crosstalk: CrosstalkOptions | None = None,
        coverage: CoverageOptions | None = None,
        roles: RoleOptions | None = None,
        speech_detector: SpeechDetector | None = None,
        analytics: AnalyticsStages | PendingStages | None = None,
        translator: Translator | None = None,
        translate_to: str | None = None,
        vocabulary: Sequence[str] = (),
        policy_vocabulary: bool = True,
    ) -> None:
        if translate_to is not None and translator is None:
            raise ConfigError(f"translation to {translate_to} needs a translator")
        self.transcriber = transcriber
        self.translator = translator
        self.translate_to = translate_to
        self.diarizer = diarizer
        self.tenant = tenant
        self.stereo_default = stereo_default
        self.crosstalk = crosstalk or CrosstalkOptions()
        self.echo = EchoOptions()
        self.coverage = coverage or CoverageOptions()
        self.roles = roles or RoleOptions()
        self.speech_detector: SpeechDetector = speech_detector or SileroVad()
        self.analytics = analytics or AnalyticsStages()
        self.vocabulary = tuple(vocabulary)  # the tenant's terms; the policy's names join them
        self.policy_vocabulary = policy_vocabulary

    @property
    def analytics(self) -> AnalyticsStages:
        """The analytics stages (waiting for them if they are still being built)."""
        stages = self._analytics
        if isinstance(stages, PendingStages):
            stages = stages.wait()
            self._set_stages(stages)
        return stages

    @analytics.setter
    def analytics(self, stages: AnalyticsStages | PendingStages) -> None:
        if isinstance(stages, PendingStages):
            self._analytics = stages
        else:
            self._set_stages(stages)

    def _set_stages(self, stages: AnalyticsStages) -> None:
        if stages.redactor is None:
            logger.warning("pipeline without PII redaction: transcripts are kept as recognized")
        self._analytics = stages

    def analyze(
        self,
        call: CallAudio,
        *,
        layout: Layout | None = None,
        call_id: str | None = None,
        hook: ProgressHook = no_progress,
        extra_options: dict[str, Any] | None = None,
    ) -> InteractionRecord:
        """The interaction record of a call (see `analyze_call` for its redacted audio too)."""
        return self.analyze_call(
            call, layout=layout, call_id=call_id, hook=hook, extra_options=extra_options
        ).record

    def analyze_call(
        self,
        call: CallAudio,
        *,
        layout: Layout | None = None,
        call_id: str | None = None,
        hook: ProgressHook = no_progress,
        extra_options: dict[str, Any] | None = None,
    ) -> AnalyzedCall:
        """The record and the redacted audio it describes."""
        prepared = prepare_layout(call, layout, self.stereo_default)
        call_id = call_id or uuid.uuid4().hex
        policy = self._analytics.policy if self.policy_vocabulary else None  # not waiting
        terms = call_vocabulary(policy, self.vocabulary)
        chosen = call_vocabulary(None, self.vocabulary)  # the company's words: callers say them
        hook("transcribe", total=None, completed=None)
        if prepared.layout == "mono":
            heard = prepared.call
            transcript = self.transcriber.transcribe(heard, hook=hook, vocabulary=terms)
            hook("speakers")
            speakers = self._mono_speakers(heard, transcript.segments, hook)
        else:
            heard, muted = suppress_crosstalk(prepared.call, self.crosstalk)
            agent_channel = 1 if prepared.layout == "stereo-agent-right" else 0
            transcript = self.transcriber.transcribe(  # the script's names are the agent's
                heard,
                hook=hook,
                vocabulary=terms,
                vocabulary_channels={agent_channel},
                other_vocabulary=chosen,
            )
            hook("speakers")
            speakers = self._stereo_speakers(heard, transcript.segments, prepared.layout)
            speakers.options["crosstalk_muted_s"] = muted
        diarization = speakers.diarization
        segments, translated = speakers.segments, None
        if self.translator is not None and self.translate_to is not None:
            hook("translate")  # before redaction, which redacts the translations too
            translated = self.translator.translate(
                segments, {c.channel: c for c in heard.channels}, self.translate_to
            )
            segments = translated.segments
        hook("analytics")
        analytics = run_analytics(segments, call, self.analytics)
        hook("record")
        metrics = call_metrics(
            analytics.segments,
            diarization.turns if diarization else (),
            speakers.participants,
            call.duration,
        )
        if analytics.escalation is not None:
            metrics["escalation"] = dict(analytics.escalation)
        speech = speakers.speech or {
            c.channel: self.speech_detector.regions(c) for c in heard.channels
        }
        metrics["speech_coverage"] = speech_coverage(speech, analytics.segments, self.coverage)
        warn_coverage_gaps(
            metrics["speech_coverage"],
            {channel_key(p.channel): p.role for p in speakers.participants if p.channel is not None}
            or {channel_key(c.channel): "mono" for c in heard.channels},
            call_id,
        )
        models = (
            transcript.model,
            *(diarization.models if diarization else ()),
            *(translated.models if translated else ()),
            *analytics.models,
            *self._vad_models(diarization),
        )
        record = InteractionRecord(
            id=call_id,
            created_at=utc_now(),
            tenant=self.tenant,
            audio=call.source,
            layout=prepared.layout,
            languages=transcript.languages,
            participants=speakers.participants,
            segments=analytics.segments,
            diarization=diarization,
            metrics=metrics,
            topics=analytics.topics,
            summary=analytics.summary,
            pii=analytics.pii,
            compliance=analytics.compliance,
            redacted_audio_sha256=analytics.redacted_audio_sha256,
            provenance=Provenance(
                pipeline_version=pipeline_version(),
                models=models,
                options={
                    "transcribe": dict(transcript.options),
                    "speakers": speakers.options,
                    "analytics": dict(analytics.options),
                    "coverage": dataclasses.asdict(self.coverage),
                    **({"translate": dict(translated.options)} if translated else {}),
                    "layout": prepared.layout,
                    "sample_rate": prepared.call.sample_rate,
                    **(extra_options or {}),
                },
            ),
        )
        return AnalyzedCall(record, analytics.redacted_audio, analytics.references)

    def _vad_models(self, diarization: Diarization | None) -> tuple[ModelInfo, ...]:
        """Silero, when it ran for coverage only (stereo diarization already names it)."""
        if not isinstance(self.speech_detector, SileroVad):
            return ()
        if diarization is not None and any(m.stage == "vad" for m in diarization.models):
            return ()
        return (silero_info(),)

    def _stereo_speakers(
        self, call: CallAudio, segments: tuple[Segment, ...], layout: Layout
    ) -> Speakers:
        roles = channel_roles(layout)
        kept, echoes = drop_echoed_segments(segments, call, self.crosstalk)
        regions = {c.channel: self.speech_detector.regions(c) for c in call.channels}
        kept, regions, faint = drop_echo(kept, regions, call, self.echo)
        labelled = tuple(
            replace(s, id=i, speaker=channel_speaker(s.channel), role=roles[s.channel])
            for i, s in enumerate(kept)
        )
        participants = tuple(
            Participant(channel_speaker(ch), role, ch) for ch, role in sorted(roles.items())
        )
        diarization = replace(
            channel_diarization(regions, {ch: channel_speaker(ch) for ch in roles}),
            models=(silero_info(),) if isinstance(self.speech_detector, SileroVad) else (),
        )
        return Speakers(
            labelled,
            participants,
            diarization,
            {"echo_segments_dropped": echoes, "faint_echo_segments_dropped": faint},
            regions,
        )

    def _mono_speakers(
        self, call: CallAudio, segments: tuple[Segment, ...], hook: ProgressHook
    ) -> Speakers:
        if self.diarizer is None:
            return Speakers(segments, (), None, {"diarizer": None})
        hook("diarize")
        diarization = self.diarizer.diarize(call.channels[0], hook=hook)
        labelled = assign_speakers(segments, diarization.turns)
        participants = identify_roles(labelled, self.roles)
        return Speakers(
            with_roles(labelled, participants),
            participants,
            diarization,
            {"diarizer": self.diarizer.name, "roles": "text-cues"},
        )
