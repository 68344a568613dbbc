"""Summary and fairness scoring of the accuracy bench (bench/accuracy_metrics.py, bench/accuracy.py)
on small hand-made labels and records. Needs the rouge-score package."""

from __future__ import annotations

from typing import Any

import pytest

from bench.accuracy import group_figures
from bench.accuracy_metrics import Counts, customer_language, rouge_l, score_call, score_summary

REASON = "Charged twice for the same order"
TEXT = "Charged twice for the same order. Second charge refunded."
REFERENCE: dict[str, Any] = {
    "reason": REASON,
    "actions": ["Second charge refunded"],
    "outcome": "resolved",
    "follow_ups": [],
    "text": TEXT,
}


def item(text: str, *segments: int) -> dict[str, Any]:
    return {"text": text, "segments": list(segments)}


def summary(
    reason: str, text: str, outcome: str = "resolved", english: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "reason": item(reason, 1),
        "actions": [item("Second charge refunded", 4)],
        "outcome": outcome,
        "follow_ups": [],
        "text": text,
        "language": "en" if english is None else "es",
        "english": english,
    }


def scored(label: dict[str, Any], record: dict[str, Any]) -> tuple[Counts, dict[str, Any]]:
    counts = Counts()
    detail: dict[str, Any] = {}
    score_summary(counts, detail, label, record)
    return counts, detail


def test_rouge_l_of_identical_text_is_one_and_of_disjoint_text_zero() -> None:
    assert rouge_l(TEXT, TEXT) == pytest.approx(1.0)
    assert rouge_l("Order cancelled.", "Signal restored tonight.") == 0.0
    # stemmed: "refunded" and "refunds" are one word
    assert rouge_l("Charge refunded.", "Charge refunds.") == pytest.approx(1.0)


def test_identical_summary_scores_one_and_the_right_outcome() -> None:
    record = {"summary": summary(REASON, TEXT)}
    counts, detail = scored({"summary": REFERENCE}, record)
    assert counts.values["summary_calls"] == 1
    assert counts.values["rouge_l_sum"] == pytest.approx(1.0)
    assert counts.values["reason_rouge_l_sum"] == pytest.approx(1.0)
    assert counts.values["outcome_right"] == 1
    assert detail["rouge_l"] == 1.0
    assert detail["outcome"] == "resolved/resolved"


def test_a_missing_summary_scores_zero_and_a_wrong_outcome() -> None:
    for record in ({}, {"summary": None}):
        counts, detail = scored({"summary": REFERENCE}, record)
        assert counts.values["summary_calls"] == 1
        assert counts.values["rouge_l_sum"] == 0.0
        assert counts.values["reason_rouge_l_sum"] == 0.0
        assert counts.values["outcome_right"] == 0
        assert detail["summary"] == "missing"
        assert detail["outcome"] == "none/resolved"


def test_a_wrong_outcome_counts_wrong() -> None:
    record = {"summary": summary(REASON, TEXT, outcome="follow_up")}
    counts, detail = scored({"summary": REFERENCE}, record)
    assert counts.values["outcome_right"] == 0
    assert detail["outcome"] == "follow_up/resolved"


def test_the_english_block_is_preferred() -> None:
    english = {
        "reason": item(REASON, 1),
        "actions": [item("Second charge refunded", 4)],
        "follow_ups": [],
        "text": TEXT,
    }
    spanish = summary(
        "Me han cobrado dos veces el mismo pedido",
        "Me han cobrado dos veces el mismo pedido. Cargo devuelto.",
        english=english,
    )
    counts, _ = scored({"summary": REFERENCE}, {"summary": spanish})
    assert counts.values["rouge_l_sum"] == pytest.approx(1.0)
    assert counts.values["reason_rouge_l_sum"] == pytest.approx(1.0)


def test_a_call_without_a_reference_is_not_scored() -> None:
    record = {"summary": summary(REASON, TEXT)}
    for label in ({}, {"summary": None}):
        counts, detail = scored(label, record)
        assert counts.values == {}
        assert detail == {}


def turn(role: str, text: str, start: float, language: str = "en") -> dict[str, Any]:
    return {
        "role": role,
        "start": start,
        "end": start + 2.0,
        "speech": [[start, start + 2.0]],
        "text": text,
        "language": language,
        "english": text,
        "voice": "espeak-ng es (150 wpm, pitch 40)",
        "pii": [],
    }


def segment(channel_speaker: str, text: str, start: float, language: str = "en") -> dict[str, Any]:
    return {
        "speaker": channel_speaker,
        "start": start,
        "end": start + 2.0,
        "text": text,
        "language": language,
        "role": "agent" if channel_speaker == "A" else "customer",
    }


def test_group_keys_count_the_customer_words_and_the_rules() -> None:
    label = {
        "id": "call",
        "split": "tuning",
        "layout": "stereo-agent-left",
        "accent_group": "spanish",
        "turns": [
            turn("agent", "How can I help", 0.0),
            turn("customer", "hello there", 3.0),
            turn("customer", "me han cobrado dos veces", 6.0, "es"),
        ],
        "expected": {"compliance": {"greeting": True, "no_blame": True}, "passed": True},
        "summary": REFERENCE,
    }
    record = {
        "layout": "stereo-agent-left",
        "participants": [{"speaker": "A", "channel": 0}, {"speaker": "B", "channel": 1}],
        "segments": [
            segment("A", "How can I help", 0.0),
            segment("B", "hello", 3.0),
            segment("B", "me han cobrado dos veces", 6.0, "es"),
        ],
        "compliance": {
            "passed": True,
            "checks": [
                {"rule_id": "greeting", "passed": True},
                {"rule_id": "no_blame", "passed": False},
            ],
        },
    }
    counts, detail = score_call(label, record, "")
    values = counts.values
    # the customer's words only: 2 English (1 deleted) and 5 Spanish
    assert values["wer_words.accent.spanish"] == 7
    assert values["wer_errors.accent.spanish"] == 1
    assert values["wer_words.en.accent.spanish"] == 2
    assert values["wer_errors.en.accent.spanish"] == 1
    assert values["wer_words.es.accent.spanish"] == 5
    assert values["wer_errors.es.accent.spanish"] == 0
    assert values["wer_words.en"] == 6  # the existing WER still counts the agent too
    # the rules under the accent group and the customer's main language (Spanish)
    assert values["rules.accent.spanish"] == 2
    assert values["rules_right.accent.spanish"] == 1
    assert values["rules.es"] == 2
    assert values["rules_right.es"] == 1
    assert values["calls.accent.spanish"] == 1
    assert "rules.en" not in values
    assert customer_language(label) == "es"
    # no summary in the record: scored, not skipped
    assert values["summary_calls"] == 1
    assert detail["outcome"] == "none/resolved"

    groups = group_figures(counts)
    spanish = groups["accent"]["spanish"]
    assert spanish["calls"] == 1
    assert spanish["words"] == 7
    assert spanish["wer"] == pytest.approx(1 / 7, abs=1e-4)
    assert spanish["compliance"] == 0.5
    assert spanish["languages"]["es"] == {"words": 5, "wer": 0.0}
    assert groups["language"]["es"]["rules"] == 2
    assert groups["language"]["en"]["words"] == 6
    assert groups["language"]["en"]["rules"] == 0
