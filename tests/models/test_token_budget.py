"""A decode held to a token budget: cut where the budget ends and marked ``runaway``; the same
segments as without a budget when the decode ends before it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from models.asr import DecodingOptions, SpeechRecognizer
from models.whisper import resolve_whisper
from pipelines.core.audio import SAMPLE_RATE
from voice.decode import load_call_audio

CALLS = Path(__file__).resolve().parents[1] / "data" / "calls"
GREEDY = replace(DecodingOptions(), language="en", vad_filter=False, temperature=(0.0,))


@pytest.fixture(scope="module")
def recognizer() -> SpeechRecognizer:
    return SpeechRecognizer(resolve_whisper("base"), cpu_threads=2)


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    audio = load_call_audio(CALLS / "compliant-return.wav")
    return audio.channels[0].samples[: 8 * SAMPLE_RATE]  # the agent's greeting


def test_a_decode_within_its_budget_is_the_decode_without_one(
    recognizer: SpeechRecognizer, clip: np.ndarray
) -> None:
    free = recognizer.recognize(clip, GREEDY).segments
    held = recognizer.recognize(clip, replace(GREEDY, max_new_tokens=200)).segments
    assert free and held == free
    assert not any(s.runaway for s in held)


def test_a_decode_that_reaches_its_budget_is_cut_and_marked(
    recognizer: SpeechRecognizer, clip: np.ndarray
) -> None:
    free = recognizer.recognize(clip, GREEDY)
    held = recognizer.recognize(clip, replace(GREEDY, max_new_tokens=4))
    assert held.runaway and not free.runaway
    assert len("".join(s.text for s in held.segments)) < len("".join(s.text for s in free.segments))
    assert held.options["max_new_tokens"] == 4
    assert not recognizer.recognize(clip, GREEDY).runaway  # the next decode starts afresh


def test_the_budget_fits_a_long_prompt(recognizer: SpeechRecognizer, clip: np.ndarray) -> None:
    """faster-whisper raises when prompt and budget pass whisper's 448 positions; the
    recognizer keeps the budget within them."""
    hotwords = ", ".join(f"Name{n}" for n in range(60))  # about 180 tokens
    held = recognizer.recognize(clip, replace(GREEDY, hotwords=hotwords, max_new_tokens=440))
    assert held.options["max_new_tokens"] == 440 and held.options["hotwords"] == hotwords
