"""Speech the first decode left out, decoded again stretch by stretch.

Whisper decodes a channel's speech joined by VAD, 30 s at a time. On a narrowband line with a
caller in another language, long silences or hotwords in the prompt, it can end a window early
and return nothing for the rest: a caller's turns vanish though Silero heard them. This pass
finds the stretches of Silero speech that no kept segment covers and decodes each on its own
(no VAD, no hotwords), in its own likeliest language when that is one the channel already speaks,
or the channel's dominant one (seconds decoded plus the stretches' language probabilities times
their seconds), or one whisper is sure of (``sure_language_probability``); so a narrowband
French sentence whisper half takes for Thai is decoded as French. What it finds is
marked in the transcript options (``recovered_segments``); what it cannot find stays a gap in
``metrics.speech_coverage``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from models.asr import DecodingOptions, RecognizedSegment, SpeechRecognizer
from pipelines.core.types import Audio, SpeechRegion
from pipelines.transcribe.language import join_redecoded, mean_word_probability, redecode

logger = logging.getLogger(__name__)

MARGIN = 1e-3  # rounding in the probabilities (a float32 softmax) and in the sums


@dataclass(frozen=True, slots=True)
class RecoveryOptions:
    enabled: bool = True
    min_missed_s: float = 0.8  # shorter uncovered speech is a breath or a click
    join_gap_s: float = 0.6  # missed pieces this close are one stretch
    pad_s: float = 0.3
    sure_language_probability: float = 0.7  # a stretch this sure of a new language keeps it
    max_stretches_per_minute: float = 8.0
    min_avg_logprob: float = -1.0  # whisper's own bar for a decode it trusts
    max_compression_ratio: float = 2.4  # above: a repetition loop
    min_word_probability: float = 0.5  # a guess at a stretch nobody could follow


def missed_stretches(
    speech: tuple[SpeechRegion, ...],
    segments: tuple[RecognizedSegment, ...],
    options: RecoveryOptions,
) -> list[tuple[float, float]]:
    """Speech no segment covers, close pieces joined, short ones left out."""
    covered = sorted((s.start, s.end) for s in segments)
    pieces: list[tuple[float, float]] = []
    for region in speech:
        start = region.start
        for a, b in covered:
            if b <= start or a >= region.end:
                continue
            if a > start:
                pieces.append((start, a))
            start = max(start, b)
        if start < region.end:
            pieces.append((start, region.end))
    joined: list[tuple[float, float]] = []
    for a, b in pieces:
        if joined and a - joined[-1][1] <= options.join_gap_s:
            joined[-1] = (joined[-1][0], b)
        else:
            joined.append((a, b))
    return [(a, b) for a, b in joined if b - a >= options.min_missed_s]


def leading_language(seconds: dict[str, float], stretch_seconds: float) -> str | None:
    """The language that stays the channel's dominant one whatever the stretches sound like:
    its decoded seconds lead every other language's by more than all stretches' seconds (a
    stretch adds at most its length over all languages); None when the stretches may decide."""
    ranked = sorted(seconds.values(), reverse=True)
    if not ranked:
        return None
    runner_up = ranked[1] if len(ranked) > 1 else 0.0
    if ranked[0] - runner_up <= stretch_seconds * (1.0 + MARGIN) + MARGIN:
        return None
    return max(seconds, key=lambda language: seconds[language])


def recover_missed_speech(
    segments: tuple[RecognizedSegment, ...],
    channel: Audio,
    speech: tuple[SpeechRegion, ...],
    recognizer: SpeechRecognizer,
    decoding: DecodingOptions,
    options: RecoveryOptions,
) -> tuple[RecognizedSegment, ...]:
    """Segments decoded from the channel's missed speech (on the call's timeline)."""
    if not options.enabled:
        return ()
    stretches = missed_stretches(speech, segments, options)
    budget = int(options.max_stretches_per_minute * max(1.0, channel.duration / 60.0))
    stretches = sorted(stretches, key=lambda s: s[0] - s[1])[:budget]  # longest first
    if not stretches:
        return ()
    rate = channel.sample_rate
    clips = []
    for a, b in sorted(stretches):
        first = max(0, int((a - options.pad_s) * rate))
        clips.append(
            (
                first,
                channel.samples[first : min(len(channel.samples), int((b + options.pad_s) * rate))],
            )
        )
    weight: dict[str, float] = {}
    for segment in segments:
        weight[segment.language] = weight.get(segment.language, 0.0) + segment.end - segment.start
    if decoding.language is not None:
        main, sounds = {decoding.language}, None
    else:
        dominant = leading_language(weight, sum(len(audio) for _, audio in clips) / rate)
        sounds = None
        if dominant is None:  # the stretches' languages may decide it: all probed first
            sounds = [recognizer.language_probabilities(audio) for _, audio in clips]
            for (_, audio), likely in zip(clips, sounds, strict=True):
                for language, probability in likely.items():
                    weight[language] = weight.get(language, 0.0) + probability * len(audio) / rate
            dominant = max(weight, key=lambda language: weight[language])
        main = {dominant, *(segment.language for segment in segments)}
    found = []
    alone = replace(decoding, hotwords=None)
    # the last stretches judged first: their encoder passes are still in the recognizer's cache
    # (a stretch probed only now has its pass cached for its decode, whatever their number)
    for index in range(len(clips) - 1, -1, -1):
        first, audio = clips[index]
        likely = sounds[index] if sounds is not None else recognizer.language_probabilities(audio)
        top = max(likely, key=lambda language: likely[language])
        sure = likely[top] >= options.sure_language_probability and decoding.language is None
        language = top if top in main or sure else max(main, key=lambda g: likely.get(g, 0.0))
        parts = tuple(
            p
            for p in redecode(recognizer, audio, alone, language)
            if p.avg_logprob >= options.min_avg_logprob
            and p.compression_ratio <= options.max_compression_ratio
            and mean_word_probability(p) >= options.min_word_probability
        )  # a stretch decoded into a loop or a guess stays a gap, it is not invented
        if parts and any(p.text.strip() for p in parts):
            found.append(join_redecoded(parts, first / rate, language))
    found.reverse()
    if found:
        logger.info(
            "channel %d: %d of %d missed speech stretches recovered",
            channel.channel,
            len(found),
            len(stretches),
        )
    return tuple(found)
