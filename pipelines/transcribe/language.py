"""Language switches inside a whisper window.

faster-whisper detects the language once per 30 s window of speech, so a caller who switches
language mid-window is decoded in the wrong language: the text comes out transliterated or
translated, with low word probabilities. This pass re-identifies the language of such
low-confidence segments from their own audio and re-decodes them when it differs.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, replace

import numpy as np

from models.asr import DecodingOptions, RecognizedSegment, SpeechRecognizer
from pipelines.core.audio import SAMPLE_RATE
from pipelines.core.types import Audio, Samples, Word

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LanguageRepairOptions:
    enabled: bool = True
    max_word_probability: float = 0.75
    min_duration_s: float = 1.0
    min_language_probability: float = 0.4
    checks_per_30s: float = 4.0  # a window can hold two other languages, two sentences each
    pad_s: float = 0.3
    relabel_probability: float = 0.8  # keep the first decode but fix its language tag
    main_language_share: float = 0.2  # of a channel's speech: below it a language is an outlier
    outlier_keep_probability: float = 0.5  # an outlier language whisper is this sure of stays
    lasting_switch_s: float = 5.0  # this much speech in a language over 2+ segments: a switch


# speech is under 8 tokens a second, timestamps included (fast Spanish); a re-decode may
# generate twice that, and a short stretch a sentence more, before it counts as running away
TOKENS_PER_SECOND = 16.0
TOKENS_AT_LEAST = 32


def redecoding(decoding: DecodingOptions, language: str, seconds: float) -> DecodingOptions:
    """How a stretch of ``seconds`` of a channel is decoded again, in ``language``: on its own
    audio (no VAD, no silence skipping), greedy only, within a token budget.

    Whisper's temperature fallback samples a new guess when greedy decoding loops or is unsure;
    for a second opinion on a stretch that guess is what the callers' checks reject anyway, it
    costs up to five sampled decodes, and it depends on the random draws earlier calls in the
    process made (a worker would give one call two different records). A decode in the wrong
    language, or of noise, often loops to whisper's limit (224 tokens of beam search for a
    stretch of two seconds); the budget stops it where no speech could still be going on."""
    return replace(
        decoding,
        language=language,
        vad_filter=False,
        hallucination_silence_threshold=None,
        temperature=(0.0,),
        max_new_tokens=int(TOKENS_AT_LEAST + TOKENS_PER_SECOND * seconds),
    )


def redecode(
    recognizer: SpeechRecognizer, audio: Samples, decoding: DecodingOptions, language: str
) -> tuple[RecognizedSegment, ...]:
    """``audio`` decoded again in ``language`` (`redecoding`); nothing when whisper ran away
    (reached the budget): a loop or invented text is no second opinion."""
    seconds = len(audio) / SAMPLE_RATE
    recognition = recognizer.recognize(audio, redecoding(decoding, language, seconds))
    if recognition.runaway:
        logger.debug("a re-decode of %.1f s in %s ran away; not used", seconds, language)
        return ()
    return recognition.segments


def mean_word_probability(segment: RecognizedSegment) -> float:
    if not segment.words:
        return float(np.exp(segment.avg_logprob))
    return float(np.mean([w.probability for w in segment.words]))


def repair_language_switches(
    segments: tuple[RecognizedSegment, ...],
    channel: Audio,
    recognizer: SpeechRecognizer,
    decoding: DecodingOptions,
    options: LanguageRepairOptions,
) -> tuple[tuple[RecognizedSegment, ...], int]:
    """Re-decode low-confidence segments whose own audio is in another language.

    Returns the segments and how many were re-decoded. Checks are capped per 30 s of audio,
    lowest confidence first, so the cost stays bounded on noisy calls.
    """
    if not options.enabled or not recognizer.multilingual or decoding.language is not None:
        return segments, 0
    doubtful = {
        i
        for i, s in enumerate(segments)
        if s.end - s.start >= options.min_duration_s
        and mean_word_probability(s) < options.max_word_probability
    }
    candidates = sorted((mean_word_probability(segments[i]), i) for i in doubtful)
    budget = int(options.checks_per_30s * max(1.0, channel.duration / 30.0))
    chosen = {i for _, i in candidates[:budget]}
    result = list(segments)
    repaired = 0
    for index in range(len(segments)):
        switched = index > 0 and result[index - 1].language != segments[index - 1].language
        if index not in chosen and not (switched and budget > len(chosen)):
            continue  # the sentences after a switched one are judged too, within the budget
        chosen.add(index)
        confidence = mean_word_probability(segments[index])
        segment = segments[index]
        first = max(0, int((segment.start - options.pad_s) * channel.sample_rate))
        last = min(len(channel.samples), int((segment.end + options.pad_s) * channel.sample_rate))
        audio = channel.samples[first:last]
        language, probability = recognizer.detect_language(audio)
        previous = result[index - 1] if index > 0 else None
        unsure = probability < options.relabel_probability
        if (
            unsure
            and previous is not None
            and previous.language not in (language, segment.language)
        ):
            # a short sentence after a switched one: judge it with the one before it
            start = max(0, int((previous.start - options.pad_s) * channel.sample_rate))
            joint, joint_p = recognizer.detect_language(channel.samples[start:last])
            if joint == previous.language:
                language, probability = joint, joint_p
        if language == segment.language or probability < options.min_language_probability:
            continue
        redecoded = redecode(recognizer, audio, decoding, language)
        if not redecoded:
            continue
        offset = first / channel.sample_rate
        joined = join_redecoded(redecoded, offset, language)
        if mean_word_probability(joined) <= confidence:
            if probability >= options.relabel_probability:  # same words, wrong language tag
                result[index] = replace(segment, language=language)
                repaired += 1
            continue
        logger.info(
            "segment at %.1f s re-decoded as %s (p=%.2f) instead of %s",
            segment.start,
            language,
            probability,
            segment.language,
        )
        result[index] = joined
        repaired += 1
    return tuple(result), repaired


def settle_outlier_languages(
    segments: tuple[RecognizedSegment, ...],
    channel: Audio,
    recognizer: SpeechRecognizer,
    decoding: DecodingOptions,
    options: LanguageRepairOptions,
) -> tuple[tuple[RecognizedSegment, ...], int]:
    """Re-decode segments in a language the channel barely speaks, in one it mainly speaks.

    On a narrowband line whisper base takes a short Spanish sentence for Thai or Welsh now and
    then. A party speaks one or two languages in a call: a language holding less than
    ``main_language_share`` of the channel's speech is judged again from the segment's own
    audio: unless whisper is sure of it there (``outlier_keep_probability``), the segment is
    re-decoded in the likeliest main language. A language switch that lasts (a caller changing
    to Spanish for the rest of the call, or for a few sentences: ``lasting_switch_s`` over two
    segments or more) is a main language too and stays.
    """
    if not options.enabled or not recognizer.multilingual or decoding.language is not None:
        return segments, 0
    spoken: dict[str, float] = {}
    segments_in: Counter[str] = Counter()
    for segment in segments:
        spoken[segment.language] = spoken.get(segment.language, 0.0) + segment.end - segment.start
        segments_in[segment.language] += 1
    total = sum(spoken.values())
    main = {
        lang
        for lang, seconds in spoken.items()
        if seconds >= options.main_language_share * total
        or (seconds >= options.lasting_switch_s and segments_in[lang] >= 2)
    }
    if not main or len(main) == len(spoken):
        return segments, 0
    result = list(segments)
    settled = 0
    for index, segment in enumerate(segments):
        if segment.language in main:
            continue
        first = max(0, int((segment.start - options.pad_s) * channel.sample_rate))
        last = min(len(channel.samples), int((segment.end + options.pad_s) * channel.sample_rate))
        audio = channel.samples[first:last]
        likely = recognizer.language_probabilities(audio)
        if likely.get(segment.language, 0.0) >= options.outlier_keep_probability:
            continue  # a word or two really said in another language
        language = max(main, key=lambda lang: likely.get(lang, 0.0))
        redecoded = redecode(recognizer, audio, decoding, language)
        if not redecoded:
            continue
        logger.info(
            "segment at %.1f s: %s is an outlier on this channel, re-decoded as %s",
            segment.start,
            segment.language,
            language,
        )
        result[index] = join_redecoded(redecoded, first / channel.sample_rate, language)
        settled += 1
    return tuple(result), settled


def join_redecoded(
    parts: tuple[RecognizedSegment, ...], offset: float, language: str
) -> RecognizedSegment:
    """One segment from the re-decoded pieces, on the call's timeline."""
    words = tuple(
        Word(w.start + offset, w.end + offset, w.word, w.probability)
        for part in parts
        for w in part.words
    )
    return RecognizedSegment(
        start=words[0].start if words else parts[0].start + offset,
        end=words[-1].end if words else parts[-1].end + offset,
        text="".join(p.text for p in parts),
        words=words,
        language=language,
        avg_logprob=float(np.mean([p.avg_logprob for p in parts])),
        no_speech_prob=float(min(p.no_speech_prob for p in parts)),
        compression_ratio=float(np.mean([p.compression_ratio for p in parts])),
    )
