"""A stand-in for whisper's utterance decoder that isolates the live engine's policies: it
answers at once (or after ``delay`` seconds) in one language, and records what each decode
was given (the prior language and the switch rule, and the options)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from models.asr_stream import UtteranceOptions, UtteranceResult
from pipelines.core.types import Samples, Word


@dataclass
class ScriptedDecoder:
    """Says ``text`` in ``language`` (sure of it) after ``delay`` seconds per utterance; its
    words share the utterance's audio evenly, 0.1 s in from either end."""

    delay: float = 0.0
    language: str = "en"
    multilingual: bool = True
    text: str = " speech"
    calls: list[tuple[str | None, float]] = field(default_factory=list)
    options: list[UtteranceOptions] = field(default_factory=list)

    def decode(
        self,
        samples: Samples,
        options: UtteranceOptions,
        *,
        language: str | None = None,
        prior_language: str | None = None,
    ) -> UtteranceResult:
        self.calls.append((prior_language, options.switch_min_s))
        self.options.append(options)
        time.sleep(self.delay)
        duration = len(samples) / 16000
        words: tuple[Word, ...] = ()
        said = self.text.split()
        if options.word_timestamps and said:
            step = max(duration - 0.2, 0.01) / len(said)
            words = tuple(
                Word(0.1 + i * step, 0.1 + (i + 1) * step, " " + w, 0.9) for i, w in enumerate(said)
            )
        return UtteranceResult(self.text, words, self.language, 0.99, -0.1, 0.01, 1.0, (1,), 0.0)
