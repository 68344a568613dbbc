"""Live translation into English: whisper's translate task on a final's own audio.

Batch translation (`pipelines.translate.stage.WhisperSpeechTranslator`) runs the full recognizer
(30 s windows, VAD, beam 5, temperature fallbacks). A live final is a few seconds long and
its audio is at hand, so it goes through the same short-utterance decoder as the finals
(`models.asr_stream.UtteranceDecoder`: encoder on the utterance only, no language pass), on
the live scheduler's thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from models.asr_stream import UtteranceOptions
from pipelines.core.audio import SAMPLE_RATE
from pipelines.core.types import Samples
from pipelines.live.events import Decoder

logger = logging.getLogger(__name__)


def _translate_decoding() -> UtteranceOptions:
    return UtteranceOptions(
        task="translate", beam_size=3, fallback_temperature=0.4, context_margin_s=2.0
    )


@dataclass(frozen=True, slots=True)
class LiveTranslateOptions:
    """``min_duration_s``: shorter finals are not translated; ``max_no_speech``: a result
    whisper itself calls non-speech (above this with a low log-probability) is dropped."""

    min_duration_s: float = 0.3
    max_no_speech: float = 0.6
    decoding: UtteranceOptions = field(default_factory=_translate_decoding)


class LiveSpeechTranslator:
    """English text of a final's audio (16 kHz mono), or "" when whisper heard nothing."""

    def __init__(self, decoder: Decoder, options: LiveTranslateOptions | None = None) -> None:
        if not decoder.multilingual:
            raise ValueError("live speech translation needs a multilingual whisper model")
        self.decoder = decoder
        self.options = options or LiveTranslateOptions()

    def translate(self, samples: Samples, language: str | None) -> str:
        opts = self.options
        if len(samples) < opts.min_duration_s * SAMPLE_RATE:
            return ""
        result = self.decoder.decode(samples, opts.decoding, language=language)
        decoding = opts.decoding
        if result.compression_ratio > decoding.max_compression_ratio or (
            result.no_speech_prob > opts.max_no_speech
            and result.avg_logprob < decoding.min_avg_logprob
        ):
            logger.debug("live translation dropped (looks like no speech or a loop)")
            return ""
        return result.text.strip()
