"""A stored record's fairness groups and figures: the customer's spoken language (translated or
not), the declared accent group and channel, ASR confidence, escalation, the stated reason."""

from __future__ import annotations

import json
from pathlib import Path

from api.jobs.insights import group_columns, reason_text

RECORDS = Path(__file__).resolve().parents[2] / "data" / "records"


def record(name: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((RECORDS / f"{name}.json").read_text(encoding="utf-8"))
    return data


def test_groups_of_an_english_and_a_spanish_call() -> None:
    english = group_columns(record("compliant-return"), {"accent_group": "us"}, "upload")
    assert english["language"] == "en" and english["accent_group"] == "us"
    assert english["channel"] == "upload" and english["escalated"] is False
    assert 0.0 < english["asr_confidence"] <= 1.0
    spanish = group_columns(
        record("spanish-announcement-translated"), {"channel": "phone"}, "stream"
    )
    assert spanish["language"] == "es" and spanish["channel"] == "phone"
    assert spanish["accent_group"] is None and spanish["outcome"] is None  # no summary then


def test_the_reason_is_the_summary_s_english_one() -> None:
    summary = {
        "reason": {"text": "Me cobraron dos veces."},
        "english": {"reason": {"text": "Charged twice."}},
    }
    assert reason_text({"summary": summary}) == "Charged twice."
    assert (
        reason_text({"summary": {"reason": {"text": "Late parcel."}, "english": None}})
        == "Late parcel."
    )
    assert reason_text({"summary": None}) is None and reason_text({}) is None
