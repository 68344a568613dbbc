"""Whisper decoding of one short utterance at a time, for live transcription.

Batch transcription (`models.asr.SpeechRecognizer.recognize`) pads every window to 30 s and
detects the language with a second encoder pass. A live utterance is at most a few seconds long
and is decoded again and again while it grows, so this decoder:

* encodes only the utterance plus a short margin (the CTranslate2 encoder takes fewer than
  3000 mel frames; encoder time scales with the frames given);
* detects the language from the same encoder output (one decoder step), preferring the track's
  previous language when the detection is unsure;
* decodes text tokens only (no timestamp tokens) with one temperature and, on request, a single
  retry at a higher temperature when the output looks like a repetition loop;
* aligns words (cross-attention DTW) only when asked, i.e. for finals.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.asr import SpeechRecognizer, Task
from pipelines.core.audio import SAMPLE_RATE
from pipelines.core.types import Samples, Word

logger = logging.getLogger(__name__)

_MEL_FRAMES_PER_S = 100
_FULL_FRAMES = 3000
_PREPEND = "\"'“¿([{-"
_APPEND = "\"'.。,，!！?？:：”)]}、"
MAX_HOTWORD_TOKENS = 100  # of the hotwords before the prompt (whisper reads 448 in all)


@dataclass(frozen=True, slots=True)
class UtteranceOptions:
    """How one utterance is decoded (recorded in provenance)."""

    beam_size: int = 1
    temperature: float = 0.0
    fallback_temperature: float | None = None
    word_timestamps: bool = False
    context_margin_s: float = 2.0  # encoder input = utterance + margin; None-like 30 s when <= 0
    task: Task = "transcribe"
    max_compression_ratio: float = 2.4
    min_avg_logprob: float = -1.0
    # the track's language holds unless whisper is this sure of another one over this much speech
    # (a short final such as "Bye." came out as Thai text on a narrowband English call)
    switch_probability: float = 0.8
    switch_min_s: float = 2.0
    max_new_tokens: int = 200
    max_tokens_per_s: float = 12.0  # bounds a repetition loop's length (and its cost)
    # a repetition loop is decoded again on the full 30 s window (else cut at the repeat)
    redecode_loops: bool = True
    # names and terms to expect, put before the prompt as faster-whisper does with ``hotwords``
    hotwords: str | None = None


@dataclass(frozen=True, slots=True)
class UtteranceResult:
    """What whisper heard in one utterance (times relative to the utterance start)."""

    text: str
    words: tuple[Word, ...]
    language: str
    language_probability: float
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    tokens: tuple[int, ...]
    temperature: float


def hold_language(
    ranked: Sequence[tuple[str, float]],
    prior: str | None,
    seconds: float,
    options: UtteranceOptions,
) -> tuple[str, float]:
    """The utterance's language from whisper's ranked detection: the track's language so far
    (``prior``) unless another is detected with ``switch_probability`` over ``switch_min_s``."""
    top, probability = ranked[0]
    if prior is None or prior == top:
        return top, probability
    if probability >= options.switch_probability and seconds >= options.switch_min_s:
        return top, probability
    return prior, dict(ranked).get(prior, 0.0)


class UtteranceDecoder:
    """Decodes single utterances (up to 30 s) with a loaded `SpeechRecognizer`.

    The decoder holds no per-call state and may be shared by every call of a process; the
    underlying CTranslate2 model serialises concurrent calls.
    """

    def __init__(self, recognizer: SpeechRecognizer) -> None:
        from faster_whisper.tokenizer import Tokenizer

        self.recognizer = recognizer
        self._model: Any = recognizer.model
        self._tokenizer_class = Tokenizer
        self._suppress: dict[tuple[str, Task], list[int]] = {}

    @property
    def multilingual(self) -> bool:
        return self.recognizer.multilingual

    def decode(
        self,
        samples: Samples,
        options: UtteranceOptions,
        *,
        language: str | None = None,
        prior_language: str | None = None,
    ) -> UtteranceResult:
        """Decode 16 kHz mono ``samples`` (at most 30 s).

        ``language`` forces the language; otherwise it is detected, and ``prior_language`` (the
        track's language so far) holds unless the detection is a confident switch over enough
        speech (``options.switch_probability`` over ``options.switch_min_s``).
        """
        model = self._model
        audio = np.ascontiguousarray(samples[: 30 * SAMPLE_RATE], dtype=np.float32)
        features = model.feature_extractor(audio)
        content = min(features.shape[-1], _FULL_FRAMES)
        frames = _encoder_frames(content, options.context_margin_s)
        encoded = self._encode(features, content, frames)
        seconds = len(audio) / SAMPLE_RATE
        chosen, probability = self._language(encoded, language, prior_language, options, seconds)
        tokenizer = self._tokenizer(chosen, options.task)
        budget = min(options.max_new_tokens, int(8 + options.max_tokens_per_s * seconds))
        tokens, logprob, no_speech, ratio, temperature = self._best(
            encoded, tokenizer, options, budget
        )
        looped = _repeats(tokenizer.decode(tokens)) or ratio > options.max_compression_ratio
        if looped and not options.redecode_loops:
            tokens = _before_repeat(tokenizer, tokens)  # a partial: its first copy will do
        elif frames < _FULL_FRAMES and looped:
            # a shortened encoder input sometimes makes whisper say the utterance twice over;
            # the full 30 s window it was trained on does not
            logger.debug("utterance decoded twice over; again on the full window")
            encoded = self._encode(features, content, _FULL_FRAMES)
            tokens, logprob, no_speech, ratio, temperature = self._best(
                encoded, tokenizer, options, budget
            )
        words: tuple[Word, ...] = ()
        if options.word_timestamps and tokens:
            words = self._align(tokenizer, tokens, encoded, content)
        return UtteranceResult(
            text=tokenizer.decode(tokens),
            words=words,
            language=chosen,
            language_probability=probability,
            avg_logprob=logprob,
            no_speech_prob=no_speech,
            compression_ratio=ratio,
            tokens=tuple(tokens),
            temperature=temperature,
        )

    def _encode(self, features: Any, content: int, frames: int) -> Any:
        block = np.zeros((features.shape[0], frames), dtype=np.float32)
        block[:, :content] = features[:, :content]
        return self._model.encode(block)

    def _best(
        self, encoded: Any, tokenizer: Any, options: UtteranceOptions, budget: int
    ) -> tuple[list[int], float, float, float, float]:
        """Tokens, mean log-probability, no-speech probability, compression ratio and the
        temperature of the first decode that passes the checks (else the last one)."""
        from faster_whisper.transcribe import get_compression_ratio

        prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
        if options.hotwords:
            words = tokenizer.encode(" " + options.hotwords.strip())[:MAX_HOTWORD_TOKENS]
            prompt = [tokenizer.sot_prev, *words, *prompt]
        temperatures = [options.temperature]
        if options.fallback_temperature is not None:
            temperatures.append(options.fallback_temperature)
        best: tuple[list[int], float, float, float, float] | None = None
        for temperature in temperatures:
            tokens, logprob, no_speech = self._generate(
                encoded, prompt, tokenizer, options, temperature, budget
            )
            text = tokenizer.decode(tokens)
            ratio = float(get_compression_ratio(text)) if text.strip() else 0.0
            best = (tokens, logprob, no_speech, ratio, temperature)
            if ratio <= options.max_compression_ratio and logprob >= options.min_avg_logprob:
                break
        assert best is not None
        return best

    def _language(
        self,
        encoded: Any,
        language: str | None,
        prior: str | None,
        options: UtteranceOptions,
        seconds: float,
    ) -> tuple[str, float]:
        if not self.multilingual:
            return "en", 1.0
        if language is not None:
            return language, 1.0
        ranked: list[tuple[str, float]] = [
            (token[2:-2], float(p)) for token, p in self._model.model.detect_language(encoded)[0]
        ]
        return hold_language(ranked, prior, seconds, options)

    def _tokenizer(self, language: str, task: Task) -> Any:
        return self._tokenizer_class(
            self._model.hf_tokenizer, self.multilingual, task=task, language=language
        )

    def _suppressed(self, tokenizer: Any, language: str, task: Task) -> list[int]:
        from faster_whisper.transcribe import get_suppressed_tokens

        key = (language, task)
        if key not in self._suppress:
            self._suppress[key] = list(get_suppressed_tokens(tokenizer, [-1]))
        return self._suppress[key]

    def _generate(
        self,
        encoded: Any,
        prompt: list[int],
        tokenizer: Any,
        options: UtteranceOptions,
        temperature: float,
        budget: int,
    ) -> tuple[list[int], float, float]:
        kwargs: dict[str, Any]
        if temperature > 0:
            kwargs = {"beam_size": 1, "num_hypotheses": 1, "sampling_topk": 0}
            kwargs["sampling_temperature"] = temperature
        else:
            kwargs = {"beam_size": options.beam_size}
        result = self._model.model.generate(
            encoded,
            [prompt],
            max_length=len(prompt) + budget,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._suppressed(tokenizer, tokenizer.language_code, options.task),
            **kwargs,
        )[0]
        tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
        length = max(1, len(result.sequences_ids[0]))
        avg_logprob = float(result.scores[0]) * length / (length + 1)
        return tokens, avg_logprob, float(result.no_speech_prob)

    def _align(
        self, tokenizer: Any, tokens: Sequence[int], encoded: Any, frames: int
    ) -> tuple[Word, ...]:
        from faster_whisper.transcribe import merge_punctuations

        alignment = self._model.find_alignment(tokenizer, [list(tokens)], encoded, frames)[0]
        merge_punctuations(alignment, _PREPEND, _APPEND)
        return tuple(
            Word(
                start=round(float(w["start"]), 3),
                end=round(float(w["end"]), 3),
                word=str(w["word"]),
                probability=float(w["probability"]),
            )
            for w in alignment
            if w["word"]
        )


def _repeats(text: str, min_words: int = 3) -> bool:
    """Does a run of at least ``min_words`` words come twice in a row ("A B C A B C")?"""
    return _repeat_at(text, min_words) is not None


def _repeat_at(text: str, min_words: int = 3) -> int | None:
    """How many words of ``text`` come before the second copy of the first repeated run of
    at least ``min_words`` words (None if there is none); a word said four times in a row
    ("Sorry Sorry Sorry Sorry") counts as a repeat of one, a number never does."""
    words = ["".join(ch for ch in w.casefold() if ch.isalnum()) for w in text.split()]
    for end in range(1, len(words) + 1):
        for size in range(min_words, end // 2 + 1):
            first = end - 2 * size
            if words[first : first + size] == words[first + size : end] and any(words[first:end]):
                return first + size
        last = words[end - 4 : end]
        if len(last) == 4 and last[0].isalpha() and last.count(last[0]) == 4:
            return end - 3
    return None


def _before_repeat(tokenizer: Any, tokens: list[int]) -> list[int]:
    """``tokens`` up to where a repeat starts (all of them when none does)."""
    keep = _repeat_at(tokenizer.decode(tokens))
    if keep is None:
        return tokens
    count = 0
    while count < len(tokens) and len(tokenizer.decode(tokens[: count + 1]).split()) <= keep:
        count += 1
    return tokens[:count]


def _encoder_frames(content: int, margin_s: float) -> int:
    """Mel frames given to the encoder: the content plus a margin, in whole seconds."""
    if margin_s <= 0:
        return _FULL_FRAMES
    wanted = content + margin_s * _MEL_FRAMES_PER_S
    return int(min(_FULL_FRAMES, math.ceil(wanted / _MEL_FRAMES_PER_S) * _MEL_FRAMES_PER_S))
