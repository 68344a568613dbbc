"""Transcription stage: whisper per channel, language per segment, hallucination guards."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from models.asr import DecodingOptions, RecognizedSegment, SpeechRecognizer
from models.vad import SileroVad
from pipelines.core.types import (
    Audio,
    CallAudio,
    ModelInfo,
    ProgressHook,
    Segment,
    SpeechRegion,
    Transcript,
    no_progress,
)
from pipelines.transcribe.guards import GuardOptions, guard_segments
from pipelines.transcribe.language import (
    LanguageRepairOptions,
    repair_language_switches,
    settle_outlier_languages,
)
from pipelines.transcribe.recovery import RecoveryOptions, recover_missed_speech
from voice.decode import SILENCE_PEAK
from voice.vad import webrtc_speech_regions

logger = logging.getLogger(__name__)


class Transcriber(Protocol):
    """Turns a decoded call into time-stamped segments."""

    @property
    def model(self) -> ModelInfo: ...

    def transcribe(
        self,
        call: CallAudio,
        *,
        hook: ProgressHook = no_progress,
        vocabulary: Sequence[str] = (),
        vocabulary_channels: Collection[int] | None = None,
        other_vocabulary: Sequence[str] = (),
    ) -> Transcript:
        """``vocabulary``: names and terms the call is likely to hold, a decoding bias on the
        ``vocabulary_channels`` (every channel when None); ``other_vocabulary`` biases the
        other channels (e.g. the company's product names, which callers say too)."""
        ...


@dataclass(frozen=True, slots=True)
class TranscribeOptions:
    decoding: DecodingOptions = field(default_factory=DecodingOptions)
    guards: GuardOptions = field(default_factory=GuardOptions)
    language_repair: LanguageRepairOptions = field(default_factory=LanguageRepairOptions)
    recovery: RecoveryOptions = field(default_factory=RecoveryOptions)
    guard_with_vad: bool = True
    max_pause_s: float = 1.2  # a longer pause between words starts a new segment


class WhisperTranscriber:
    """Transcribes each channel with faster-whisper and joins them on one timeline."""

    def __init__(self, recognizer: SpeechRecognizer, options: TranscribeOptions | None = None):
        self.recognizer = recognizer
        self.options = options if options is not None else TranscribeOptions()
        # speech the decode missed (`pipelines.transcribe.recovery`)
        self._vad: SileroVad | None = None

    @property
    def model(self) -> ModelInfo:
        return self.recognizer.info

    def transcribe(
        self,
        call: CallAudio,
        *,
        hook: ProgressHook = no_progress,
        vocabulary: Sequence[str] = (),
        vocabulary_channels: Collection[int] | None = None,
        other_vocabulary: Sequence[str] = (),
    ) -> Transcript:
        biased = replace(self.options.decoding, hotwords=", ".join(vocabulary) or None)
        others = replace(self.options.decoding, hotwords=", ".join(other_vocabulary) or None)
        total = round(sum(channel.duration for channel in call.channels))
        done = 0.0
        recognized: list[tuple[int, RecognizedSegment]] = []
        stats: Counter[str] = Counter()
        used_options: dict[str, object] = {}
        for channel in call.channels:
            hook("transcribe", total=total, completed=round(done))
            if float(np.max(np.abs(channel.samples), initial=0.0)) < SILENCE_PEAK:
                logger.info("channel %d is silent; nothing to transcribe", channel.channel)
            else:
                chosen = vocabulary_channels is None or channel.channel in vocabulary_channels
                decoding = biased if chosen else others
                with self.recognizer.encoder_cache.kept():  # a channel's passes, reused
                    kept, used_options = self._transcribe_channel(
                        channel, decoding, _offset_progress(hook, total, done), stats
                    )
                recognized.extend((channel.channel, segment) for segment in kept)
            done += channel.duration
        hook("transcribe", total=total, completed=total)
        redecoded = stats.pop("language-switch", 0)
        recovered = stats.pop("recovered", 0)
        if stats:
            logger.info("hallucination guards dropped segments: %s", dict(stats))
        segments = join_channels(recognized)
        return Transcript(
            segments=segments,
            languages=languages_by_speech_time(segments),
            model=self.model,
            options={
                "decoding": used_options,
                "guards": {"dropped": dict(stats), "vad": self.options.guard_with_vad},
                "language_switches_redecoded": redecoded,
                "recovered_segments": recovered,
                "hotwords": biased.hotwords,
                "other_hotwords": others.hotwords if vocabulary_channels is not None else None,
                "vocabulary_channels": None
                if vocabulary_channels is None
                else sorted(vocabulary_channels),
            },
        )

    def _transcribe_channel(
        self,
        channel: Audio,
        decoding: DecodingOptions,
        progress: Callable[[float], None],
        stats: Counter[str],
    ) -> tuple[tuple[RecognizedSegment, ...], dict[str, object]]:
        recognition = self.recognizer.recognize(channel.samples, decoding, progress)
        segments, switched = repair_language_switches(
            recognition.segments,
            channel,
            self.recognizer,
            decoding,
            self.options.language_repair,
        )
        segments, settled = settle_outlier_languages(
            segments, channel, self.recognizer, decoding, self.options.language_repair
        )
        regions = self._speech_regions(channel)
        kept, drops = guard_segments(segments, self.options.guards, regions)
        kept = tuple(part for s in kept for part in split_at_pauses(s, self.options.max_pause_s))
        stats.update(drops)
        if self.options.recovery.enabled:
            found = recover_missed_speech(
                kept,
                channel,
                self._silero().regions(channel),
                self.recognizer,
                decoding,
                self.options.recovery,
            )
            more, drops = guard_segments(found, self.options.guards, regions)
            more = tuple(p for s in more for p in split_at_pauses(s, self.options.max_pause_s))
            stats.update(drops)
            stats["recovered"] += len(more)
            kept = tuple(sorted((*kept, *more), key=lambda s: s.start))
        stats["language-switch"] += switched + settled
        return kept, recognition.options

    def _silero(self) -> SileroVad:
        if self._vad is None:
            self._vad = SileroVad()
        return self._vad

    def _speech_regions(self, channel: Audio) -> tuple[SpeechRegion, ...] | None:
        return webrtc_speech_regions(channel) if self.options.guard_with_vad else None


def _offset_progress(hook: ProgressHook, total: int, offset: float) -> Callable[[float], None]:
    def progress(seconds: float) -> None:
        hook("transcribe", total=total, completed=round(offset + seconds))

    return progress


def split_at_pauses(segment: RecognizedSegment, max_pause_s: float) -> list[RecognizedSegment]:
    """Split a segment where its words pause longer than ``max_pause_s``.

    Whisper decodes VAD-joined speech, so one segment can hold a party's lines from either
    side of the other party's turn; per-turn analysis needs them apart.
    """
    words = segment.words
    cuts = [i for i in range(1, len(words)) if words[i].start - words[i - 1].end > max_pause_s]
    if not cuts:
        return [segment]
    parts = []
    for first, last in zip([0, *cuts], [*cuts, len(words)], strict=True):
        piece = words[first:last]
        parts.append(
            replace(
                segment,
                start=piece[0].start if first else segment.start,
                end=piece[-1].end if last < len(words) else segment.end,
                text="".join(w.word for w in piece),
                words=piece,
            )
        )
    return parts


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
    spoken: dict[str, float] = {}
    for segment in segments:
        spoken[segment.language] = spoken.get(segment.language, 0.0) + segment.end - segment.start
    return tuple(sorted(spoken, key=lambda language: -spoken[language]))
