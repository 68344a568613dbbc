"""The batch call pipeline: decoded call in, interaction record out."""

from __future__ import annotations

import importlib.metadata
import logging
import uuid
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from pipelines.errors import ConfigError
from pipelines.record import InteractionRecord, Provenance, talk_metrics, utc_now
from pipelines.transcribe import Transcriber
from pipelines.types import (
    Audio,
    CallAudio,
    Diarization,
    Layout,
    Participant,
    ProgressHook,
    Role,
    Segment,
    SpeakerTurn,
    no_progress,
)

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


def assign_channel_speakers(
    segments: tuple[Segment, ...], layout: Layout
) -> tuple[tuple[Segment, ...], tuple[Participant, ...], Diarization | None]:
    """For stereo calls each channel is one party: speaker and role follow the channel."""
    roles = channel_roles(layout)
    if not roles:
        return segments, (), None
    labelled = tuple(
        replace(s, speaker=channel_speaker(s.channel), role=roles[s.channel]) for s in segments
    )
    participants = tuple(
        Participant(channel_speaker(ch), role, ch) for ch, role in sorted(roles.items())
    )
    turns = tuple(SpeakerTurn(s.start, s.end, s.speaker or "") for s in labelled)
    return labelled, participants, Diarization(method="channel", turns=turns)


class CallPipeline:
    """Runs the stages it is given, in order, and assembles the record."""

    def __init__(
        self,
        transcriber: Transcriber,
        *,
        tenant: str = "default",
        stereo_default: Layout = "stereo-agent-left",
    ) -> None:
        self.transcriber = transcriber
        self.tenant = tenant
        self.stereo_default = stereo_default

    def analyze(
        self,
        call: CallAudio,
        *,
        layout: Layout | None = None,
        call_id: str | None = None,
        hook: ProgressHook = no_progress,
        extra_options: dict[str, Any] | None = None,
    ) -> InteractionRecord:
        prepared = prepare_layout(call, layout, self.stereo_default)
        transcript = self.transcriber.transcribe(prepared.call, hook=hook)
        segments, participants, diarization = assign_channel_speakers(
            transcript.segments, prepared.layout
        )
        return InteractionRecord(
            id=call_id or uuid.uuid4().hex,
            created_at=utc_now(),
            tenant=self.tenant,
            audio=call.source,
            layout=prepared.layout,
            languages=transcript.languages,
            participants=participants,
            segments=segments,
            diarization=diarization,
            metrics=talk_metrics(segments, call.duration),
            provenance=Provenance(
                pipeline_version=pipeline_version(),
                models=(transcript.model,),
                options={
                    "transcribe": dict(transcript.options),
                    "layout": prepared.layout,
                    "sample_rate": prepared.call.sample_rate,
                    **(extra_options or {}),
                },
            ),
        )
