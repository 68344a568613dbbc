"""A live final keeps only the words whisper placed in its audio (`pipelines.live.segments`)."""

from __future__ import annotations

from models.asr_stream import UtteranceResult
from pipelines.core.types import Word
from pipelines.live.segments import final_segment
from pipelines.transcribe.guards import GuardOptions

SAID = [(0.0, 0.3, " Can"), (0.3, 0.5, " I"), (0.5, 0.8, " have"), (0.8, 1.2, " your"),
        (1.2, 1.6, " order"), (1.6, 2.1, " number,"), (2.2, 2.6, " please?")]  # fmt: skip


def result(words: list[tuple[float, float, str]]) -> UtteranceResult:
    return UtteranceResult(
        text="".join(w for _, _, w in words),
        words=tuple(Word(a, b, w, 0.95) for a, b, w in words),
        language="en",
        language_probability=0.99,
        avg_logprob=-0.2,
        no_speech_prob=0.01,
        compression_ratio=1.2,
        tokens=(),
        temperature=0.0,
    )


def test_a_repeated_sentence_placed_at_the_end_of_the_audio_is_left_out() -> None:
    repeated = [(2.9, 2.9, w) for _, _, w in SAID[:6]]  # no duration, at the audio's end
    segment, dropped = final_segment(3, 10.0, 12.9, result(SAID + repeated), 0, GuardOptions())
    assert segment is not None and not dropped
    assert segment.text == "Can I have your order number, please?"
    assert len(segment.words) == len(SAID) and segment.end == 12.6


def test_words_that_all_take_time_are_kept() -> None:
    segment, _ = final_segment(3, 10.0, 12.9, result(SAID), 0, GuardOptions())
    assert segment is not None and segment.text == "Can I have your order number, please?"
    assert [w.start for w in segment.words] == [10.0 + a for a, _, _ in SAID]
