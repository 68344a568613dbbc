"""Transcription stage: whisper per channel, language per segment, hallucination guards."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from models.asr import DecodingOptions, RecognizedSegment, SpeechRecognizer
from pipelines.guards import GuardOptions, guard_segments
from pipelines.types import (
    Audio,
    CallAudio,
    ModelInfo,
    ProgressHook,
    Segment,
    SpeechRegion,
    Transcript,
    no_progress,
)
from voice.vad import webrtc_speech_regions

logger = logging.getLogger(__name__)

SILENT_CHANNEL_PEAK = 1e-4  # -80 dBFS: a channel this quiet holds nobody's speech


class Transcriber(Protocol):
    """Turns a decoded call into time-stamped segments."""

    @property
    def model(self) -> ModelInfo: ...

    def transcribe(self, call: CallAudio, *, hook: ProgressHook = no_progress) -> Transcript: ...


@dataclass(frozen=True, slots=True)
class TranscribeOptions:
    decoding: DecodingOptions = field(default_factory=DecodingOptions)
    guards: GuardOptions = field(default_factory=GuardOptions)
    guard_with_vad: bool = True


class WhisperTranscriber:
    """Transcribes each channel with faster-whisper and joins them on one timeline."""

    def __init__(self, recognizer: SpeechRecognizer, options: TranscribeOptions | None = None):
        self.recognizer = recognizer
        self.options = options if options is not None else TranscribeOptions()

    @property
    def model(self) -> ModelInfo:
        return self.recognizer.info

    def transcribe(self, call: CallAudio, *, hook: ProgressHook = no_progress) -> Transcript:
        total = round(sum(channel.duration for channel in call.channels))
        done = 0.0
        recognized: list[tuple[int, RecognizedSegment]] = []
        dropped: Counter[str] = Counter()
        used_options: dict[str, object] = {}
        for channel in call.channels:
            hook("transcribe", total=total, completed=round(done))
            if float(np.max(np.abs(channel.samples), initial=0.0)) < SILENT_CHANNEL_PEAK:
                logger.info("channel %d is silent; nothing to transcribe", channel.channel)
                done += channel.duration
                continue
            offset = done
            recognition = self.recognizer.recognize(
                channel.samples,
                self.options.decoding,
                lambda seconds, offset=offset: hook(
                    "transcribe", total=total, completed=round(offset + seconds)
                ),
            )
            used_options = recognition.options
            speech = self._speech_regions(channel)
            kept, drops = guard_segments(recognition.segments, self.options.guards, speech)
            dropped.update(drops)
            recognized.extend((channel.channel, segment) for segment in kept)
            done += channel.duration
        hook("transcribe", total=total, completed=total)
        if dropped:
            logger.info("hallucination guards dropped segments: %s", dict(dropped))
        segments = join_channels(recognized)
        return Transcript(
            segments=segments,
            languages=languages_by_speech_time(segments),
            model=self.model,
            options={
                "decoding": used_options,
                "guards": {"dropped": dict(dropped), "vad": self.options.guard_with_vad},
            },
        )

    def _speech_regions(self, channel: Audio) -> tuple[SpeechRegion, ...] | None:
        return webrtc_speech_regions(channel) if self.options.guard_with_vad else None


def segment_confidence(segment: RecognizedSegment) -> float:
    """Mean word probability, or the exponent of the mean token log-probability."""
    if segment.words:
        return float(np.mean([w.probability for w in segment.words]))
    return float(np.exp(segment.avg_logprob))


def join_channels(recognized: list[tuple[int, RecognizedSegment]]) -> tuple[Segment, ...]:
    """Order segments of all channels by start time and number them."""
    ordered = sorted(recognized, key=lambda item: (item[1].start, item[0]))
    return tuple(
        Segment(
            id=index,
            start=round(seg.start, 3),
            end=round(seg.end, 3),
            text=seg.text.strip(),
            words=seg.words,
            language=seg.language,
            confidence=round(segment_confidence(seg), 4),
            channel=channel,
        )
        for index, (channel, seg) in enumerate(ordered)
    )


def languages_by_speech_time(segments: tuple[Segment, ...]) -> tuple[str, ...]:
    """Languages detected, most spoken first."""
    spoken: Counter[str] = Counter()
    for segment in segments:
        spoken[segment.language] += segment.end - segment.start
    return tuple(language for language, _ in spoken.most_common())
