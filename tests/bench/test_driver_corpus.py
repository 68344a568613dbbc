"""The driver set of the evaluation corpus (samples/corpus_drivers.py) as data, and the driver
figures of bench/insights.py on small hand-made labels and a hand-made drivers report. No audio,
no model, no server."""

from __future__ import annotations

import importlib
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bench import insights
from pipelines.analytics.topics import DEFAULT_CATEGORIES

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
if str(SAMPLES) not in sys.path:  # the corpus modules import each other as top-level modules
    sys.path.insert(0, str(SAMPLES))
drivers_module: Any = importlib.import_module("corpus_drivers")
calls_module: Any = importlib.import_module("corpus_calls")
build_module: Any = importlib.import_module("build_corpus")
DRIVER_CALLS: tuple[Any, ...] = drivers_module.DRIVER_CALLS
EXPECTED_DRIVERS = {"late-delivery", "damaged-on-arrival", "double-charge", "discount-code"}


def sentences(text: str) -> list[str]:
    """A line's sentences, case and punctuation folded."""
    parts = re.split(r"(?<=[.!?])\s+", text.strip())
    return [" ".join(re.findall(r"[\w']+", part.casefold())) for part in parts if part.strip()]


def test_every_call_has_a_driver_and_each_driver_three_calls() -> None:
    assert len(DRIVER_CALLS) == 14
    assert all(call.driver for call in DRIVER_CALLS)
    counts = Counter(call.driver for call in DRIVER_CALLS)
    assert set(counts) == EXPECTED_DRIVERS
    assert min(counts.values()) >= 3


def test_ids_and_seeds_are_distinct() -> None:
    ids = [call.id for call in DRIVER_CALLS]
    seeds = [call.seed for call in DRIVER_CALLS]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("drv-") for i in ids)
    assert len(set(seeds)) == len(seeds)
    assert 0 not in seeds  # 0 would fall back to the builder's shared seed
    assert not set(ids) & {call.id for call in calls_module.CALLS}


def test_no_customer_sentence_is_said_in_two_calls() -> None:
    said: dict[str, str] = {}
    for call in DRIVER_CALLS:
        for line in call.lines:
            if line.role != "customer":
                continue
            for sentence in sentences(line.text):
                assert said.setdefault(sentence, call.id) == call.id, (
                    f"{sentence!r} in {said[sentence]} and {call.id}"
                )


def test_calls_are_short_scripted_harbor_calls_without_verdicts() -> None:
    topics = {category.label for category in DEFAULT_CATEGORIES}
    for call in DRIVER_CALLS:
        assert call.company == "harbor-home"
        assert 5 <= len(call.lines) <= 7
        assert call.lines[0].role == "agent" and "Harbor Home" in call.lines[0].text
        assert call.lines[1].role == "customer"  # the reason, in the customer's first turn
        assert call.verdicts == {}  # not scored for compliance
        assert call.topic in topics  # Harbor Home's policy keeps the default topics
        assert call.customer.name != call.agent.name  # the two parties never share a voice
        for line in call.lines:
            assert not line.pii and "{" not in line.text  # no personal data
        assert call.condition.rate == 8000 and call.condition.codec in ("ulaw", "alaw")


def test_every_call_has_a_reference_summary() -> None:
    for call in DRIVER_CALLS:
        assert call.summary is not None, call.id
        assert call.summary.reason.strip()
        assert call.summary.text()


def test_labels_leave_compliance_out_of_the_driver_set_only() -> None:
    drv = DRIVER_CALLS[0]
    assert build_module.expected_label(drv) == {"topic": drv.topic}
    main = calls_module.CALLS[0]
    assert build_module.expected_label(main) == {
        "compliance": main.verdicts,
        "passed": main.passed,
        "topic": main.topic,
    }


def label(call_id: str, topic: str, driver: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {"id": call_id, "turns": [], "expected": {"topic": topic}}
    return found | ({"driver": driver, "split": "drivers"} if driver else {"split": "tuning"})


def test_reference_is_the_driver_else_the_expected_topic() -> None:
    assert insights.reference_of(label("a", "delivery", "late-delivery")) == "late-delivery"
    assert insights.reference_of(label("b", "delivery")) == "delivery"
    assert insights.reference_of({"id": "c"}) == "?"


def test_driver_purity_is_measured_against_the_driver_labels() -> None:
    labels = [
        label("m1", "delivery"),
        label("m2", "returns"),
        # both driver-set topics are payment_billing: only the driver labels tell them apart
        label("d1", "payment_billing", "double-charge"),
        label("d2", "payment_billing", "double-charge"),
        label("d3", "payment_billing", "double-charge"),
        label("d4", "payment_billing", "discount-code"),
        label("d5", "payment_billing", "discount-code"),
        label("d6", "payment_billing", "discount-code"),
    ]
    served = {item["id"]: f"call-{item['id']}" for item in labels}  # served ids differ
    topic_of = {served[item["id"]]: insights.reference_of(item) for item in labels}
    driver_set = {served[item["id"]] for item in labels if item.get("driver")}
    placed = {"d1": "x", "d2": "x", "d3": "x", "d4": "x", "d5": "y", "m1": "y", "m2": None}
    driver_of: dict[str, str | None] = {
        served[item["id"]]: placed.get(item["id"]) for item in labels
    }
    report = {
        "calls": 8,
        "unplaced": 2,
        "without_reason": 0,
        "drivers": [
            {"id": "x", "label": "charged twice", "terms": ["twice"], "calls": 4, "examples": []},
            {"id": "y", "label": "code", "terms": ["code"], "calls": 2, "examples": []},
        ],
    }
    figures = insights.driver_figures(report, topic_of, driver_of, driver_set)
    # x: 3 double-charge of 4; y: discount-code and delivery, 1 of 2
    assert figures["purity"] == round(4 / 6, 3)
    assert figures["driver_set"] == {
        "calls": 6,
        "placed": 5,
        "drivers_found": 2,
        "expected_drivers": 2,
        "purity": round(4 / 5, 3),  # x: 3 of 4 driver-set calls; y: its one driver-set call
    }
    assert figures["list"][0]["topics"] == {"double-charge": 3, "discount-code": 1}
    json.dumps(figures)  # written to summary.json as it is


def test_driver_figures_without_a_driver_set_or_a_report() -> None:
    assert insights.driver_figures(None, {}, {}) == {"drivers": None}
    report = {"calls": 1, "unplaced": 1, "without_reason": 0, "drivers": []}
    figures = insights.driver_figures(report, {"a": "delivery"}, {"a": None})
    assert figures["purity"] is None
    assert figures["driver_set"] == {
        "calls": 0,
        "placed": 0,
        "drivers_found": 0,
        "expected_drivers": 0,
        "purity": None,
    }


def test_labels_read_both_folders_with_each_call_s_audio(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drivers = tmp_path / "drivers"
    drivers.mkdir()
    first = insights.REPEATS[0][0]
    for folder, item in [
        (tmp_path, label("zz-main", "delivery")),
        (tmp_path, label(first, "delivery")),
        (drivers, label("drv-a", "delivery", "late-delivery")),
    ]:
        (folder / f"{item['id']}.json").write_text(json.dumps(item), encoding="utf-8")
    (tmp_path / "notes.json").write_text("{}", encoding="utf-8")  # no turns: not a call label
    monkeypatch.setattr(insights, "CORPUS", tmp_path)
    monkeypatch.setattr(insights, "DRIVER_SET", drivers)
    found = insights.labels(None)
    assert [item["id"] for item in found] == [first, "zz-main", "drv-a"]
    assert found[2]["_audio"] == str(drivers / "drv-a.wav")
    assert found[1]["_audio"] == str(tmp_path / "zz-main.wav")
    assert [item["id"] for item in insights.labels(["drv-a"])] == ["drv-a"]
