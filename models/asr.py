"""faster-whisper behind a small typed interface: samples in, segments with language out."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from models.encoder_cache import EncoderCache
from models.vad import share_speech_probabilities
from models.whisper import WhisperWeights
from pipelines.core.audio import SAMPLE_RATE
from pipelines.core.errors import ModelUnavailableError
from pipelines.core.types import ModelInfo, Samples, Word

logger = logging.getLogger(__name__)

Task = Literal["transcribe", "translate"]


@dataclass(frozen=True, slots=True)
class DecodingOptions:
    """The faster-whisper options callqa decodes with (batch defaults; streaming uses its own)."""

    language: str | None = None
    task: Task = "transcribe"
    beam_size: int = 5
    temperature: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    vad_filter: bool = True
    vad_min_silence_ms: int = 500
    word_timestamps: bool = True
    multilingual: bool = True
    condition_on_previous_text: bool = False
    hallucination_silence_threshold: float | None = 2.0
    no_speech_threshold: float = 0.6
    log_prob_threshold: float = -1.0
    compression_ratio_threshold: float = 2.4
    no_repeat_ngram_size: int = 0
    hotwords: str | None = None  # names whisper should expect (pipelines.transcribe.vocabulary)
    # a window's decode is cut at this many tokens and its segments marked ``runaway`` (None:
    # whisper's own limit, 224 tokens a window); re-decodes of short stretches set it
    max_new_tokens: int | None = None

    def transcribe_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``WhisperModel.transcribe`` (the benchmark baseline too)."""
        kwargs = asdict(self)
        kwargs.pop("max_new_tokens")  # applied by the recognizer (`SpeechRecognizer.recognize`)
        kwargs["temperature"] = list(self.temperature)
        kwargs["vad_parameters"] = {"min_silence_duration_ms": kwargs.pop("vad_min_silence_ms")}
        if self.language is not None:
            kwargs["multilingual"] = False
        return kwargs


@dataclass(frozen=True, slots=True)
class RecognizedSegment:
    """One faster-whisper segment with the language of the window it was decoded in."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    language: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    # its window's decode reached ``DecodingOptions.max_new_tokens``: whisper ran on (a loop or
    # invented text) past what the audio could hold, and the text was cut there
    runaway: bool = False


@dataclass(frozen=True, slots=True)
class Recognition:
    segments: tuple[RecognizedSegment, ...]
    language: str
    language_probability: float
    duration_after_vad: float
    options: dict[str, Any] = field(default_factory=dict)
    runaway: bool = False  # a window's decode reached ``DecodingOptions.max_new_tokens``


SAMPLING_SEED = 20240601
BATCH_SIZE = 16  # windows decoded at once by the batched pipeline (long calls on a GPU)


class SpeechRecognizer:
    """A loaded whisper model. Load once per process; ``recognize`` is thread-compatible."""

    def __init__(
        self,
        weights: WhisperWeights,
        *,
        compute_type: str = "int8",
        cpu_threads: int = 0,
        allow_hub: bool = False,
        device: str = "cpu",
        batch_from_s: float | None = None,
    ) -> None:
        """``batch_from_s``: audio longer than this is decoded in batches of windows
        (faster-whisper's ``BatchedInferencePipeline``: GPUs are fed far better; the language is
        then the one detected at the start, not each window's)."""
        try:
            model_class = _language_tracking_model_class()
        except ImportError as exc:  # pragma: no cover - dependency missing
            raise ModelUnavailableError("faster-whisper", "pip install faster-whisper") from exc
        # whisper's temperature fallback samples: with a fixed seed (CTranslate2 seeds each of
        # its threads' generators once, from this) one call analyzed by a fresh process gives
        # the same record on every run, instead of a new draw on speech whisper is unsure of
        import ctranslate2

        ctranslate2.set_random_seed(SAMPLING_SEED)
        try:
            self.model = model_class(
                weights.location,
                device=device,
                compute_type=compute_type,
                cpu_threads=cpu_threads,
                local_files_only=not allow_hub,
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelUnavailableError(
                weights.name, f"cannot load {weights.location}: {exc}"
            ) from exc
        self.encoder_cache = EncoderCache()
        self.model.encoder_cache = self.encoder_cache
        self.weights = weights
        self.compute_type = compute_type
        self.device = device
        self.batch_from_s = batch_from_s
        self._batched: Any = None
        self.info = ModelInfo(
            stage="transcribe",
            name=f"whisper-{weights.name}" if weights.kind == "package" else weights.name,
            version=f"faster-whisper {importlib.metadata.version('faster-whisper')}",
            sha256=weights.sha256,
        )

    @property
    def supported_languages(self) -> tuple[str, ...]:
        return tuple(self.model.supported_languages)

    @property
    def multilingual(self) -> bool:
        return bool(self.model.model.is_multilingual)

    def recognize(
        self,
        samples: Samples,
        options: DecodingOptions,
        progress: Callable[[float], None] | None = None,
    ) -> Recognition:
        """Transcribe 16 kHz mono samples; ``progress`` gets the seconds decoded so far."""
        kwargs = options.transcribe_kwargs()
        if not self.multilingual:
            kwargs["multilingual"] = False
            kwargs["language"] = "en"
            kwargs["task"] = "transcribe"
        audio = np.ascontiguousarray(samples)
        if options.vad_filter:
            share_speech_probabilities()  # the channel's Silero run, shared with other stages
        if self.batch_from_s is not None and len(audio) > self.batch_from_s * SAMPLE_RATE:
            if self._batched is None:
                from faster_whisper import BatchedInferencePipeline

                self._batched = BatchedInferencePipeline(self.model)
            kwargs["batch_size"] = BATCH_SIZE
            segments, info = self._batched.transcribe(audio, **kwargs)
        else:
            segments, info = self.model.transcribe(audio, **_detected_per_window(kwargs))
        recognized = []
        budget = options.max_new_tokens
        with self.model.token_budget(budget):
            for segment in segments:  # decoded while iterated
                recognized.append(_convert(segment, info.language))
                if progress is not None:
                    progress(float(segment.end))
        language = recognized[0].language if recognized else info.language
        return Recognition(
            segments=tuple(recognized),
            language=language,
            language_probability=float(info.language_probability),
            duration_after_vad=float(info.duration_after_vad),
            options=kwargs if budget is None else kwargs | {"max_new_tokens": budget},
            runaway=self.model.budget_reached(),
        )

    def detect_language(self, samples: Samples) -> tuple[str, float]:
        """Most likely language of (the first 30 s of) speech, with its probability."""
        if not self.multilingual:
            return "en", 1.0
        return self._language_probabilities(samples)[0]

    def language_probabilities(self, samples: Samples) -> dict[str, float]:
        """Every language's probability for (the first 30 s of) speech."""
        if not self.multilingual:
            return {"en": 1.0}
        return dict(self._language_probabilities(samples))

    def first_window(self, samples: Samples) -> np.ndarray:
        """The features of the 30 s window a decode of ``samples`` starts with, padded
        (faster-whisper's ``generate_segments`` leaves the spectrogram's last frame out; its
        ``detect_language`` would not)."""
        from faster_whisper.audio import pad_or_trim

        extractor = self.model.feature_extractor
        features = extractor(np.ascontiguousarray(samples))
        frames = max(1, min(extractor.nb_max_frames, features.shape[-1] - 1))
        return np.asarray(pad_or_trim(features[:, :frames]))

    def _language_probabilities(self, samples: Samples) -> list[tuple[str, float]]:
        """Languages, likeliest first, judged on ``first_window(samples)``: a decode that
        follows reuses the encoder pass."""
        encoded = self.model.encode(self.first_window(samples))
        results = self.model.model.detect_language(encoded)[0]
        return [(str(token[2:-2]), float(probability)) for token, probability in results]


def _detected_per_window(kwargs: dict[str, Any]) -> dict[str, Any]:
    """faster-whisper's arguments without its first language detection when every window's
    language is detected anyway (``multilingual``): that detection's encoder pass picks a
    language the first window's own detection replaces before anything is decoded, so the
    segments are the same without it (the placeholder is never decoded with)."""
    if kwargs.get("language") is None and kwargs.get("multilingual"):
        return kwargs | {"language": "en"}
    return kwargs


def _convert(segment: Any, fallback_language: str) -> RecognizedSegment:
    words = tuple(
        Word(start=float(w.start), end=float(w.end), word=w.word, probability=float(w.probability))
        for w in (segment.words or ())
    )
    return RecognizedSegment(
        start=float(segment.start),
        end=float(segment.end),
        text=segment.text,
        words=words,
        language=getattr(segment, "language", None) or fallback_language,
        avg_logprob=float(segment.avg_logprob),
        no_speech_prob=float(segment.no_speech_prob),
        compression_ratio=float(segment.compression_ratio),
        runaway=bool(getattr(segment, "runaway", False)),
    )


def _language_tracking_model_class() -> type[Any]:
    """A ``WhisperModel`` whose segments remember the language of their 30 s window, whose
    encoder passes go through an ``EncoderCache`` when it has one, and whose decodes can be
    held to a token budget.

    With ``multilingual=True`` faster-whisper detects the language of every window and sets it
    on the tokenizer while it decodes that window; we copy it onto each segment as it is yielded.
    The budget (``token_budget``, this thread's; blocks do not nest) is faster-whisper's
    ``max_new_tokens`` kept within whisper's 224 tokens a window and its 448 positions whatever
    the prompt's length (faster-whisper raises instead); a window whose decode reaches it marks
    its segments ``runaway``.
    """
    from faster_whisper import WhisperModel

    class LanguageTrackingWhisperModel(WhisperModel):  # type: ignore[misc]
        encoder_cache: EncoderCache | None = None
        _budget = threading.local()

        @contextlib.contextmanager
        def token_budget(self, tokens: int | None) -> Iterator[None]:
            """Decodes of this thread in the block generate at most ``tokens`` per window."""
            self._budget.tokens, self._budget.reached = tokens, False
            self._budget.window_reached = False
            try:
                yield
            finally:
                self._budget.tokens = None

        def budget_reached(self) -> bool:
            """Whether a window decoded in this thread's last ``token_budget`` block reached it."""
            return bool(getattr(self._budget, "reached", False))

        def generate_with_fallback(
            self, encoder_output: Any, prompt: list[int], tokenizer: Any, options: Any
        ) -> Any:
            budget = getattr(self._budget, "tokens", None)
            if budget is None:
                return super().generate_with_fallback(encoder_output, prompt, tokenizer, options)
            # whisper decodes at most 224 tokens a window (half its positions), prompt aside
            limit = max(1, min(budget, self.max_length // 2, self.max_length - len(prompt)))
            options = dataclasses.replace(options, max_new_tokens=limit)
            result = super().generate_with_fallback(encoder_output, prompt, tokenizer, options)
            # at the limit CTranslate2 ends the sequence with the end token, not returned
            self._budget.window_reached = len(result[0].sequences_ids[0]) >= limit - 1
            self._budget.reached = self._budget.reached or self._budget.window_reached
            return result

        def encode(self, features: np.ndarray) -> Any:
            """The encoder pass, or the output it gave for the same features before."""
            if self.encoder_cache is None or not self.encoder_cache.keeping:
                return super().encode(features)
            key = self.encoder_cache.key(features)
            output = self.encoder_cache.get(key)
            if output is None:
                output = super().encode(features)
                self.encoder_cache.put(key, output)
            return output

        def generate_segments(
            self, features: Any, tokenizer: Any, options: Any, *args: Any, **kwargs: Any
        ) -> Iterator[Any]:
            for segment in super().generate_segments(features, tokenizer, options, *args, **kwargs):
                segment.language = tokenizer.language_code
                segment.runaway = getattr(self._budget, "window_reached", False)
                yield segment

    return LanguageTrackingWhisperModel
