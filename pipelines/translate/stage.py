"""Translation stage: segments in another language than the target get ``Segment.translation``.

* Target English: whisper's ``translate`` task on the segment's own audio (speech in, English
  text out), falling back to argos text translation when there is no multilingual whisper or it
  hears nothing.
* Other targets: argos text translation of the segment text (``X->Y``, or ``X->en->Y``), else
  of whisper's English translation through an installed ``en->Y`` package.

Segments already in the target language, and empty ones, get no translation. The stage runs
before PII redaction, which redacts the translations too. ``translate_segment`` is the one-segment
form for the live stream.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol

import numpy as np

from models.asr import DecodingOptions, SpeechRecognizer
from models.translate import INSTALL_HINT
from pipelines.core.audio import SAMPLE_RATE
from pipelines.core.errors import ConfigError, ModelUnavailableError
from pipelines.core.types import Audio, ModelInfo, Segment, Translation

logger = logging.getLogger(__name__)

ENGLISH = "en"


class TextTranslator(Protocol):
    """Text from one language to another (argostranslate's packages, or a fake in tests).

    ``translate`` raises ``ModelUnavailableError`` naming the pair (and how to install it)
    when it cannot translate ``source`` into ``target``.
    """

    def translate(self, text: str, source: str, target: str) -> str: ...

    def can_translate(self, source: str, target: str) -> bool: ...

    def targets(self) -> frozenset[str]: ...

    def models(self, source: str, target: str) -> tuple[ModelInfo, ...]: ...


class SpeechTranslator(Protocol):
    """Speech in any language it knows into English text."""

    @property
    def model(self) -> ModelInfo: ...

    @property
    def options(self) -> Mapping[str, Any]: ...

    def translate_speech(self, audio: Audio, language: str | None) -> str: ...


@dataclass(frozen=True, slots=True)
class Translated:
    """The translation stage's output: segments with translations, and how they were made."""

    segments: tuple[Segment, ...]
    models: tuple[ModelInfo, ...]
    options: Mapping[str, Any]


class Translator(Protocol):
    """The translation stage."""

    def translate(
        self, segments: tuple[Segment, ...], audio_by_channel: Mapping[int, Audio], target: str
    ) -> Translated: ...

    def translate_segment(
        self,
        segment: Segment,
        audio: Audio | None,
        target: str,
        *,
        offset_s: float = 0.0,
        until_s: float | None = None,
    ) -> Translation | None: ...


@dataclass(frozen=True, slots=True)
class SpeechTranslateOptions:
    """How whisper's translate task decodes a segment's audio.

    ``temperature``: fallbacks bounded to three (streaming may want one); ``vad_filter`` keeps
    the silence a cut reaches into from being "translated".
    """

    min_duration_s: float = 0.3
    beam_size: int = 5
    temperature: tuple[float, ...] = (0.0, 0.2, 0.4)
    vad_filter: bool = True


@dataclass(frozen=True, slots=True)
class CutOptions:
    """Which audio is a segment's: from ``lead_s`` before it to ``extend_s`` after it.

    Word timestamps end early where whisper compresses what it heard (a card number read as
    "4,111,111"), so the cut reaches past the segment's end, never into the next segment of
    the same channel, so that whisper hears the whole of what was said.
    """

    lead_s: float = 0.3
    extend_s: float = 4.0


class WhisperSpeechTranslator:
    """Whisper's ``task="translate"`` on one segment's audio, through the loaded recognizer."""

    def __init__(
        self, recognizer: SpeechRecognizer, options: SpeechTranslateOptions | None = None
    ) -> None:
        if not recognizer.multilingual:
            raise ConfigError(
                f"whisper {recognizer.weights.name} is English-only: speech translation needs a "
                "multilingual model such as 'base'"
            )
        self.recognizer = recognizer
        self.settings = options or SpeechTranslateOptions()
        self.decoding = DecodingOptions(
            task="translate",
            beam_size=self.settings.beam_size,
            temperature=self.settings.temperature,
            vad_filter=self.settings.vad_filter,
            word_timestamps=False,
            condition_on_previous_text=False,
            hallucination_silence_threshold=None,
        )

    @property
    def model(self) -> ModelInfo:
        return replace(self.recognizer.info, stage="translate")

    @property
    def options(self) -> Mapping[str, Any]:
        return {"task": "translate", **asdict(self.settings)}

    def translate_speech(self, audio: Audio, language: str | None) -> str:
        if audio.duration < self.settings.min_duration_s:
            return ""
        samples = audio.samples
        if audio.sample_rate != SAMPLE_RATE:
            import soxr

            samples = soxr.resample(samples, audio.sample_rate, SAMPLE_RATE).astype(np.float32)
        known = language in self.recognizer.supported_languages
        decoding = replace(self.decoding, language=language if known else None)
        recognition = self.recognizer.recognize(samples, decoding)
        return " ".join(s.text.strip() for s in recognition.segments if s.text.strip())


def segment_audio(
    segment: Segment,
    audio: Audio,
    *,
    offset_s: float = 0.0,
    since_s: float | None = None,
    until_s: float | None = None,
    cut: CutOptions | None = None,
) -> Audio:
    """A segment's audio from its channel (whose sample 0 is at call time ``offset_s``).

    The cut starts ``lead_s`` early and ends ``extend_s`` late, but not before ``since_s``
    (the previous segment's end) nor after ``until_s`` (the next segment's start).
    """
    cut = cut or CutOptions()
    start = segment.start - cut.lead_s
    end = segment.end + cut.extend_s
    if since_s is not None:
        start = max(start, min(since_s, segment.start))
    if until_s is not None:
        end = min(end, max(until_s, segment.end))
    rate = audio.sample_rate
    first = max(0, int((start - offset_s) * rate))
    last = min(len(audio.samples), int((end - offset_s) * rate))
    return Audio(audio.samples[first : max(first, last)], rate, audio.channel)


class SegmentTranslator:
    """Fills ``Segment.translation`` with whisper (speech to English) and argos (text)."""

    def __init__(
        self,
        speech: SpeechTranslator | None = None,
        text: TextTranslator | None = None,
        cut: CutOptions | None = None,
    ) -> None:
        if speech is None and text is None:
            raise ConfigError("translation needs a speech translator, a text translator, or both")
        self.speech = speech
        self.text = text
        self.cut = cut or CutOptions()

    def check_target(self, target: str) -> None:
        """Raise when no installed engine can write ``target`` at all (a clear message)."""
        validate_language_code(target)
        if target == ENGLISH and self.speech is not None:
            return
        if self.text is not None and target in self.text.targets():
            return
        raise ModelUnavailableError(
            f"translation to {target}",
            f"no installed translation package writes {target}; install one with "
            f"`{INSTALL_HINT}`"
            + ("" if target != ENGLISH else " or use a multilingual whisper model"),
        )

    def translate_segment(
        self,
        segment: Segment,
        audio: Audio | None,
        target: str,
        *,
        offset_s: float = 0.0,
        until_s: float | None = None,
    ) -> Translation | None:
        """One segment's translation into ``target``; ``None`` when it needs none.

        ``audio`` is the segment's channel (sample 0 at call time ``offset_s``), or ``None``
        to translate the text only; ``until_s``, when known, is where the same channel's next
        segment starts. Raises ``ModelUnavailableError`` when no installed package or model
        can translate the segment's language into ``target``.
        """
        if audio is None:
            return self._translate(segment, None, target)[0]
        clip = segment_audio(segment, audio, offset_s=offset_s, until_s=until_s, cut=self.cut)
        return self._translate(segment, clip, target)[0]

    def _translate(
        self, segment: Segment, clip: Audio | None, target: str
    ) -> tuple[Translation | None, str, tuple[ModelInfo, ...]]:
        """The translation, how it was made, and the models that made it."""
        source = segment.language
        if source == target or not segment.text.strip():
            return None, "none", ()
        text = self.text
        direct = text is not None and text.can_translate(source, target)
        heard = None
        hear = source != ENGLISH and (target == ENGLISH or not direct)
        if self.speech is not None and clip is not None and hear:
            heard = self.speech.translate_speech(clip, source)
            if heard and target == ENGLISH:
                return Translation(target, heard), "speech", (self.speech.model,)
            if heard and text is not None and text.can_translate(ENGLISH, target):
                result = text.translate(heard, ENGLISH, target)
                models = (self.speech.model, *text.models(ENGLISH, target))
                return Translation(target, result), "speech+text", models
        if direct:
            assert text is not None
            result = text.translate(segment.text, source, target)
            return Translation(target, result), "text", text.models(source, target)
        if heard is not None and target == ENGLISH:
            return None, "unheard", ()  # whisper heard no words to translate
        if text is not None:
            text.translate(segment.text, source, target)  # raises, naming what to install
        raise ModelUnavailableError(
            f"translation {source}->{target}",
            "whisper translates speech into English only; install a translation package with "
            f"`{INSTALL_HINT}` for other targets",
        )

    def translate(
        self, segments: tuple[Segment, ...], audio_by_channel: Mapping[int, Audio], target: str
    ) -> Translated:
        """Translate every segment that needs it; pairs with no route are listed, not fatal."""
        out = []
        by: Counter[str] = Counter()
        missing: set[str] = set()
        models: dict[tuple[str, str], ModelInfo] = {}
        around = neighbours(segments)
        for index, segment in enumerate(segments):
            audio = audio_by_channel.get(segment.channel)
            clip = None
            if audio is not None:
                since, until = around[index]
                clip = segment_audio(segment, audio, since_s=since, until_s=until, cut=self.cut)
            try:
                translation, how, used = self._translate(segment, clip, target)
            except ModelUnavailableError as exc:
                if f"{segment.language}->{target}" not in missing:
                    logger.warning("segments in %s stay untranslated: %s", segment.language, exc)
                missing.add(f"{segment.language}->{target}")
                out.append(segment)
                continue
            if how != "none":
                by[how] += 1
            models.update(((m.name, m.sha256), m) for m in used)
            out.append(replace(segment, translation=translation) if translation else segment)
        options: dict[str, Any] = {
            "target": target,
            "segments": dict(sorted(by.items())),
            "untranslated_pairs": sorted(missing),
            "speech": dict(self.speech.options) if self.speech is not None else None,
            "cut": asdict(self.cut),
            "text": type(self.text).__name__ if self.text is not None else None,
        }
        return Translated(tuple(out), tuple(models.values()), options)


def neighbours(segments: tuple[Segment, ...]) -> list[tuple[float | None, float | None]]:
    """Per segment: the end of the previous and the start of the next on its channel."""
    out: list[tuple[float | None, float | None]] = [(None, None)] * len(segments)
    channels: dict[int, list[int]] = {}
    for index in sorted(range(len(segments)), key=lambda i: (segments[i].start, i)):
        channels.setdefault(segments[index].channel, []).append(index)
    for order in channels.values():
        for k, index in enumerate(order):
            since = segments[order[k - 1]].end if k else None
            until = segments[order[k + 1]].start if k + 1 < len(order) else None
            out[index] = (since, until)
    return out


def validate_language_code(code: str) -> str:
    """A language code such as ``en``, ``es``, ``zh`` or ``pt-BR``; ``ConfigError`` otherwise."""
    if not (2 <= len(code) <= 8 and code.replace("-", "").isalpha()):
        raise ConfigError(f"{code!r} is not a language code")
    return code


def translate_segments(
    segments: tuple[Segment, ...],
    audio_by_channel: Mapping[int, Audio],
    target: str,
    *,
    speech: SpeechTranslator | None = None,
    text: TextTranslator | None = None,
) -> tuple[Segment, ...]:
    """Segments with ``translation`` filled where their language differs from ``target``."""
    return SegmentTranslator(speech, text).translate(segments, audio_by_channel, target).segments


def translate_segment(
    segment: Segment,
    audio: Audio | None,
    target: str,
    *,
    speech: SpeechTranslator | None = None,
    text: TextTranslator | None = None,
    offset_s: float = 0.0,
    until_s: float | None = None,
) -> Translation | None:
    """One segment's translation (the live stream's per-final-segment call)."""
    return SegmentTranslator(speech, text).translate_segment(
        segment, audio, target, offset_s=offset_s, until_s=until_s
    )
