"""A stand-in for whisper's utterance decoder that isolates the live engine's policies: it
answers at once (or after ``delay`` seconds) in one language, and records what each decode
was given (the prior language and the switch rule)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from models.asr_stream import UtteranceOptions, UtteranceResult
from pipelines.types import Samples, Word


@dataclass
class ScriptedDecoder:
    """Says " speech" in ``language`` (sure of it) after ``delay`` seconds per utterance."""

    delay: float = 0.0
    language: str = "en"
    multilingual: bool = True
    calls: list[tuple[str | None, float]] = field(default_factory=list)

    def decode(
        self,
        samples: Samples,
        options: UtteranceOptions,
        *,
        language: str | None = None,
        prior_language: str | None = None,
    ) -> UtteranceResult:
        self.calls.append((prior_language, options.switch_min_s))
        time.sleep(self.delay)
        duration = len(samples) / 16000
        words = (Word(0.1, duration - 0.1, " speech", 0.9),) if options.word_timestamps else ()
        return UtteranceResult(" speech", words, self.language, 0.99, -0.1, 0.01, 1.0, (1,), 0.0)
