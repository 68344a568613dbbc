"""Fixtures of the live engine's tests: whisper for utterances, the compute thread."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from models.asr import SpeechRecognizer
from models.asr_stream import UtteranceDecoder
from pipelines.core.settings import Settings
from pipelines.live.scheduler import StreamScheduler
from pipelines.registry import build_recognizer


@pytest.fixture(scope="module")
def recognizer(settings: Settings) -> SpeechRecognizer:
    return build_recognizer(settings)


@pytest.fixture(scope="module")
def decoder(recognizer: SpeechRecognizer) -> UtteranceDecoder:
    return UtteranceDecoder(recognizer)


@pytest.fixture
def scheduler() -> Iterator[StreamScheduler]:
    """A compute thread of the test's own, closed after it."""
    shared = StreamScheduler()
    yield shared
    shared.close()
