"""Whisper's encoder passes saved: a decode after a language check reuses its pass (the cache),
a channel's decode skips a detection its windows redo; what comes out is exactly what comes out
without them (same machine, same run)."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from models.asr import DecodingOptions, Recognition, SpeechRecognizer
from models.encoder_cache import EncoderCache
from models.whisper import resolve_whisper
from pipelines.core.audio import SAMPLE_RATE
from voice.decode import load_call_audio

CALLS = Path(__file__).resolve().parents[1] / "data" / "calls"


class Output:
    """Stands in for a CTranslate2 StorageView: only its shape is read."""

    def __init__(self, frames: int) -> None:
        self.shape = (1, frames, 256)


def test_cache_returns_what_was_put_for_equal_features_only() -> None:
    cache = EncoderCache()
    features = np.random.default_rng(1).standard_normal((80, 3000)).astype(np.float32)
    output = Output(1500)
    with cache.kept():
        cache.put(cache.key(features), output)
        assert cache.get(cache.key(features.copy())) is output
        changed = features.copy()
        changed[3, 2999] += 1e-6
        assert cache.get(cache.key(changed)) is None
    assert (cache.hits, cache.misses) == (1, 1)


def test_outputs_are_kept_only_inside_kept_and_per_thread() -> None:
    cache = EncoderCache()
    cache.put(b"a", Output(1500))
    assert cache.get(b"a") is None and not cache.keeping
    with cache.kept():
        cache.put(b"a", Output(1500))
        other: list[object] = []
        thread = threading.Thread(target=lambda: other.append(cache.get(b"a")))
        thread.start()
        thread.join()
        assert other == [None] and cache.get(b"a") is not None
    assert cache.get(b"a") is None


def test_cache_keeps_to_its_budget_dropping_the_least_recently_used() -> None:
    size = 4 * 1500 * 256
    cache = EncoderCache(budget_bytes=2 * size)
    keys = [bytes([n]) for n in range(3)]
    with cache.kept():
        cache.put(keys[0], Output(1500))
        cache.put(keys[1], Output(1500))
        assert cache.get(keys[0]) is not None  # now the most recent
        cache.put(keys[2], Output(1500))
        assert cache.get(keys[1]) is None
        assert cache.get(keys[0]) is not None and cache.get(keys[2]) is not None
        cache.put(b"big", Output(1500 * 3))  # larger than the budget: not kept, nothing dropped
        assert cache.get(b"big") is None and cache.get(keys[0]) is not None


@pytest.fixture(scope="module")
def recognizer() -> SpeechRecognizer:
    return SpeechRecognizer(resolve_whisper("base"), cpu_threads=2)


def channel(name: str, index: int = 0) -> np.ndarray:
    audio = load_call_audio(CALLS / f"{name}.wav")
    return audio.channels[index].samples


def recognized(recognition: Recognition) -> list[tuple[float, float, str, str, float]]:
    return [
        (s.start, s.end, s.text, s.language, round(s.avg_logprob, 6)) for s in recognition.segments
    ]


def test_a_decode_after_a_language_check_reuses_its_encoder_pass(
    recognizer: SpeechRecognizer,
) -> None:
    # the agent's opening lines: the caller's first 6 s are mostly line noise, whose language
    # whisper guesses differently on different CPUs (Welsh on an AVX2 EPYC, then no segments)
    clip = channel("compliant-return", 0)[: 6 * SAMPLE_RATE]
    with recognizer.encoder_cache.kept():
        language = recognizer.detect_language(clip)[0]
        hits = recognizer.encoder_cache.hits
        options = replace(
            DecodingOptions(), language=language, vad_filter=False, temperature=(0.0,)
        )
        cached = recognizer.recognize(clip, options)
    assert recognizer.encoder_cache.hits > hits
    recognizer.model.encoder_cache = None
    try:
        fresh = recognizer.recognize(clip, options)
    finally:
        recognizer.model.encoder_cache = recognizer.encoder_cache
    assert recognized(cached) == recognized(fresh) and cached.segments


def test_a_channel_decode_skips_the_language_detection_its_windows_redo(
    recognizer: SpeechRecognizer,
) -> None:
    """With every window's language detected (``multilingual``), faster-whisper's first
    detection only picks a language the first window replaces: skipped, same segments."""
    from models.asr import _convert

    samples = channel("greeting-mono")
    options = replace(DecodingOptions(), temperature=(0.0,))  # no sampling: comparable runs
    cache = recognizer.encoder_cache
    asked = cache.misses + cache.hits
    with cache.kept():
        skipped = recognizer.recognize(samples, options)
    windows, asked = cache.misses + cache.hits - asked, cache.misses + cache.hits
    with cache.kept():
        pieces, info = recognizer.model.transcribe(samples, **options.transcribe_kwargs())
        full = [_convert(piece, info.language) for piece in pieces]
    assert cache.misses + cache.hits - asked == windows + 1  # encoder passes asked for
    assert skipped.segments == tuple(full) and full
    assert skipped.language == full[0].language
