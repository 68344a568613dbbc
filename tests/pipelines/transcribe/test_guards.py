"""Hallucination guards: unit checks, and real whisper on silence, hold music and loops."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from models.asr import RecognizedSegment
from pipelines.batch import CallPipeline
from pipelines.core.types import Audio, AudioSource, CallAudio, SpeechRegion, Word
from pipelines.transcribe.evaluation import error_rate
from pipelines.transcribe.guards import (
    GuardOptions,
    collapse_repetitions,
    guard_segments,
    snap_stray_edge_words,
)

RATE = 16000


def call_of(samples: np.ndarray) -> CallAudio:
    samples = samples.astype(np.float32)
    source = AudioSource(
        hashlib.sha256(samples.tobytes()).hexdigest(), "wav", RATE, 1, len(samples) / RATE
    )
    return CallAudio(source, (Audio(samples, RATE, 0),))


def clip(data_dir: Path, name: str) -> np.ndarray:
    samples, rate = sf.read(data_dir / name, dtype="float32")
    if rate != RATE:
        samples = soxr.resample(samples, rate, RATE)
    return np.asarray(samples, dtype=np.float32)


def hold_music(seconds: float, seed: int = 7) -> np.ndarray:
    """A synthetic hold tune: chords of harmonic tones with a melody and soft noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    out = np.zeros_like(t)
    notes = [261.6, 293.7, 329.6, 349.2, 392.0, 440.0, 493.9, 523.3]
    beat = 0.5
    for k in range(int(seconds / beat)):
        span = (t >= k * beat) & (t < (k + 1) * beat)
        envelope = np.exp(-3 * (t[span] - k * beat))
        for base in (notes[k % 8], notes[(k + 2) % 8] / 2, notes[(k + 4) % 8] / 2):
            for harmonic in (1, 2, 3):
                out[span] += envelope * np.sin(2 * np.pi * base * harmonic * t[span]) / harmonic
    out += 0.01 * rng.standard_normal(len(t))
    return np.asarray(0.2 * out / np.max(np.abs(out)), dtype=np.float32)


def segment(text: str, words: list[str] | None = None, **kw: float) -> RecognizedSegment:
    tokens = words if words is not None else text.split()
    ws = tuple(Word(i * 0.3, i * 0.3 + 0.25, " " + w, 0.9) for i, w in enumerate(tokens))
    return RecognizedSegment(
        start=0.0,
        end=len(tokens) * 0.3,
        text=" " + " ".join(tokens),
        words=ws,
        language="en",
        avg_logprob=kw.get("avg_logprob", -0.2),
        no_speech_prob=kw.get("no_speech_prob", 0.01),
        compression_ratio=1.5,
    )


def test_repetition_loop_is_cut_to_two() -> None:
    looped = segment("", ["thank", "you", "thank", "you", "thank", "you", "thank", "you", "bye"])
    fixed = collapse_repetitions(looped, max_repeats=2)
    assert fixed.text.split() == ["thank", "you", "thank", "you", "bye"]
    assert len(fixed.words) == 5


def test_ordinary_text_is_untouched() -> None:
    plain = segment("I would like to return the shoes I bought last week")
    assert collapse_repetitions(plain, 2) == plain


def test_guards_drop_inventions_and_keep_speech() -> None:
    options = GuardOptions()
    speech = (SpeechRegion(0.0, 3.0),)
    kept, dropped = guard_segments(
        (
            segment("Thank you for watching", avg_logprob=-0.8),
            segment("♪ ♪"),
            segment("hello there", no_speech_prob=0.9, avg_logprob=-1.5),
            segment("my parcel never arrived"),
            segment("my parcel never arrived"),
            segment("my parcel never arrived"),
        ),
        options,
        speech,
    )
    assert [s.text.strip() for s in kept] == ["my parcel never arrived"] * 2
    assert dropped == {"stock-phrase": 1, "music": 1, "no-speech": 1, "repeated-segment": 1}


def test_text_outside_any_speech_is_dropped() -> None:
    kept, dropped = guard_segments(
        (segment("where is my refund"),), GuardOptions(), (SpeechRegion(10.0, 12.0),)
    )
    assert kept == () and dropped == {"outside-speech": 1}


MOH = ["macroform-cold_day", "manolo_camp-morning_coffee", "reno_project-system"]


@pytest.mark.parametrize("track", MOH)
def test_no_text_on_real_hold_music(
    base_pipeline: CallPipeline, data_dir: Path, track: str
) -> None:
    """Asterisk's music on hold (real recordings), alone and before a caller speaks."""
    music = clip(data_dir, f"moh/{track}-excerpt.wav")
    assert base_pipeline.analyze(call_of(music)).segments == ()
    rng = np.random.default_rng(0)
    quiet_line = (0.001 * rng.standard_normal(5 * RATE)).astype(np.float32)
    speech = clip(data_dir, "en/jfk.wav")
    record = base_pipeline.analyze(call_of(np.concatenate([quiet_line, music, speech])))
    speech_start = (len(quiet_line) + len(music)) / RATE
    assert record.segments
    for seg in record.segments:
        assert seg.start >= speech_start - 0.5, seg
    text = " ".join(s.text for s in record.segments)
    reference = (
        "And so my fellow Americans, ask not what your country can do for you, "
        "ask what you can do for your country."
    )
    assert error_rate(reference, text) <= 0.2


def test_synthetic_tune_gives_no_segments(base_pipeline: CallPipeline) -> None:
    record = base_pipeline.analyze(call_of(hold_music(30.0, seed=3)))
    assert record.segments == ()
    assert record.languages == ()


def test_silence_padding_gets_no_text(base_pipeline: CallPipeline, data_dir: Path) -> None:
    rng = np.random.default_rng(1)
    line_noise = (0.002 * rng.standard_normal(8 * RATE)).astype(np.float32)
    speech = clip(data_dir, "en/librispeech-1272-128104-0000.wav")
    record = base_pipeline.analyze(call_of(np.concatenate([line_noise, speech, line_noise])))
    assert record.segments
    assert all(
        s.start >= 8.0 - 0.5 and s.end <= 8.0 + len(speech) / RATE + 0.5 for s in record.segments
    )


def test_language_switch_mid_window(base_pipeline: CallPipeline, data_dir: Path) -> None:
    """A caller who switches to Spanish, then French, inside one 30 s window."""
    gap = np.zeros(RATE, dtype=np.float32)
    names = [
        "en/jfk.wav",
        "en/librispeech-1995-1837-0001.wav",
        "en/librispeech-1272-128104-0000.wav",
        "en/ljspeech-LJ050-0131.wav",
        "telephony/es_queue-periodic-announce.wav",
        "telephony/fr_queue-periodic-announce.wav",
        "en/jfk.wav",
    ]
    pieces, spans, at = [], [], 0.0
    for name in names:
        samples = clip(data_dir, name)
        spans.append(
            (name.split("/")[1][:2] if "telephony" in name else "en", at, at + len(samples) / RATE)
        )
        pieces += [samples, gap]
        at += len(samples) / RATE + 1.0
    record = base_pipeline.analyze(call_of(np.concatenate(pieces)))
    for seg in record.segments:
        middle = (seg.start + seg.end) / 2
        expected = next(lang for lang, a, b in spans if a - 0.5 <= middle <= b + 0.5)
        assert seg.language == expected, (seg.start, seg.language, seg.text)
    assert record.languages[0] == "en" and set(record.languages) == {"en", "es", "fr"}
    spanish = " ".join(s.text for s in record.segments if s.language == "es").lower()
    assert "representantes" in spanish and "ocupados" in spanish


@pytest.mark.parametrize("length_s", [0.4])
def test_very_short_speech_does_not_crash(
    base_pipeline: CallPipeline, data_dir: Path, length_s: float
) -> None:
    short = clip(data_dir, "en/jfk.wav")[: int(length_s * RATE)]
    record = base_pipeline.analyze(call_of(short))
    assert record.audio.duration_s == pytest.approx(length_s, abs=0.01)


def test_stray_first_word_is_moved_next_to_the_speech() -> None:
    words = (
        Word(4.6, 5.7, " And", 0.5),
        Word(30.5, 30.8, " so", 0.9),
        Word(30.8, 31.2, " my", 0.9),
    )
    stray = RecognizedSegment(4.6, 31.2, " And so my", words, "en", -0.2, 0.01, 1.2)
    fixed = snap_stray_edge_words(stray, max_gap_s=1.5)
    assert fixed.start == pytest.approx(30.0) and fixed.words[0].end == pytest.approx(30.5)
    assert fixed.end == pytest.approx(31.2)


def test_long_pause_splits_a_segment() -> None:
    from pipelines.transcribe.stage import split_at_pauses

    words = (
        Word(18.4, 18.8, " Yeah,", 0.9),
        Word(18.9, 19.2, " hi.", 0.9),
        Word(26.0, 26.4, " Calm", 0.9),
        Word(26.4, 26.8, " down.", 0.9),
    )
    segment = RecognizedSegment(18.4, 26.8, " Yeah, hi. Calm down.", words, "en", -0.2, 0.01, 1.2)
    parts = split_at_pauses(segment, 1.2)
    assert [p.text for p in parts] == [" Yeah, hi.", " Calm down."]
    assert (parts[0].start, parts[0].end, parts[1].start) == (18.4, 19.2, 26.0)
    assert split_at_pauses(parts[0], 1.2) == [parts[0]]
