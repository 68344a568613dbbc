"""The call timeline picture drawn from the stored records of real calls (tests/data/records)."""

from __future__ import annotations

import json
import re
import struct
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from pipelines.core.errors import StageError
from pipelines.record.timeline import X0, X1, Bar, overtalk_spans, read_timeline, render_timeline

RECORDS = Path(__file__).resolve().parents[2] / "data" / "records"
NAMES = sorted(path.stem for path in RECORDS.glob("*.json"))
SVG = "{http://www.w3.org/2000/svg}"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def load(name: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((RECORDS / f"{name}.json").read_text(encoding="utf-8"))
    return record


def ids(svg: bytes, prefix: str) -> list[str]:
    """The SVG ids that start with ``prefix`` followed by a number (artists' gids)."""
    return re.findall(rf'id="({re.escape(prefix)}\d+)"', svg.decode("utf-8"))


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == PNG_MAGIC and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def busy_call() -> dict[str, Any]:
    """The angry-customer record with what the stored records lack: the customer cutting in,
    a 6 s silence, redacted spans (one in an unknown segment), a failed check without evidence,
    a segment without emotion and one without a speaker."""
    record = load("angry-customer")
    segments = record["segments"]
    segments[1]["start"] = 4.2  # the customer cuts in while the agent ends (5.1 s)
    for segment in segments[3:]:
        segment["start"] += 6.0
        segment["end"] += 6.0
    segments[2]["emotion"] = None
    segments.append({"id": 8, "start": 32.5, "end": 33.6, "speaker": None, "role": "unknown",
                     "text": "[NAME]", "emotion": None})  # fmt: skip
    record["audio"]["duration_s"] = 36.0
    record["pii"]["entities"] = [
        {"type": "CARD", "segment_id": 3, "start": 18.0, "end": 19.6},
        {"type": "PHONE", "segment_id": 1, "start": 6.0, "end": 7.1},
        {"type": "NAME", "segment_id": 42, "start": 30.0, "end": 30.5},
    ]
    record["compliance"]["checks"].append(
        {"rule_id": "pci_pause", "kind": "required_line", "passed": False,
         "severity": "critical", "evidence": []}
    )  # fmt: skip
    return record


@pytest.mark.parametrize("name", NAMES)
def test_svg_maps_x_to_time_and_marks_each_element(name: str) -> None:
    record = load(name)
    svg = render_timeline(record, "svg")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert float(root.attrib["data-t0"]) == 0.0
    assert float(root.attrib["data-t1"]) == record["audio"]["duration_s"]
    assert (float(root.attrib["data-x0"]), float(root.attrib["data-x1"])) == (X0, X1)
    title = root.find(f"{SVG}title")
    assert title is not None and title.text is not None
    assert title.text.startswith(f"Call timeline: {len(record['segments'])} turns by ")
    lanes = ids(svg, "lane-label-")
    assert len(lanes) == len(record["participants"])
    for participant in record["participants"]:  # matplotlib keeps each text as a comment
        assert f"<!-- {participant['role']} ({participant['speaker']}) -->" in svg.decode()
    checks = (record.get("compliance") or {}).get("checks", [])
    assert len(ids(svg, "compliance-mark-")) == sum(bool(c["evidence"]) for c in checks)
    assert len(ids(svg, "pii-")) == len(record["pii"]["entities"])
    customer = [s for s in record["segments"] if s["role"] == "customer" and s["emotion"]]
    assert len(ids(svg, "emotion-point-")) == len(customer)
    for segment in record["segments"]:  # no transcript text, not even in comments
        assert segment["text"].strip()[:20] not in svg.decode()


@pytest.mark.parametrize("name", NAMES)
def test_data_attributes_map_the_time_axis_ticks_back_to_their_times(name: str) -> None:
    svg = render_timeline(load(name), "svg")
    root = ET.fromstring(svg, ET.XMLParser(target=ET.TreeBuilder(insert_comments=True)))
    width = float(root.attrib["viewBox"].split()[2])
    t0, t1, x0, x1 = (float(root.attrib[f"data-{key}"]) for key in ("t0", "t1", "x0", "x1"))
    checked = 0
    for tick in root.iter(f"{SVG}g"):  # the labelled ticks of the time axis (bottom panel)
        labels = [str(node.text).strip() for node in tick.iter() if callable(node.tag)]  # comments
        if not tick.get("id", "").startswith("xtick_") or not labels:
            continue
        x = float(next(use.attrib["x"] for use in tick.iter(f"{SVG}use") if "x" in use.attrib))
        assert t0 + (x / width - x0) / (x1 - x0) * (t1 - t0) == pytest.approx(
            float(labels[0]), abs=0.01
        )
        checked += 1
    assert checked >= 4


@pytest.mark.parametrize("name", NAMES)
def test_png_is_laptop_sized_and_both_formats_are_deterministic(name: str) -> None:
    record = load(name)
    png = render_timeline(record, "png")
    assert png_size(png) == (1200, 450)
    assert render_timeline(record, "png") == png
    assert render_timeline(record, "svg") == render_timeline(record, "svg")


def test_overtalk_silence_pii_and_failures_without_evidence() -> None:
    record = busy_call()
    timeline = read_timeline(record)
    overtalk = [t for span in timeline.overtalk for t in span]
    assert overtalk == pytest.approx([4.2, 5.1, 32.5, 32.82])  # the unknown speaker over seg 7
    assert timeline.silences[0] == pytest.approx((10.28, 17.18))
    assert all(end - start >= 2 for start, end in timeline.silences)
    assert [lane.label for lane in timeline.lanes] == [
        "agent (SPEAKER_00)", "customer (SPEAKER_01)", "unknown"]  # fmt: skip
    assert [p[3] for p in timeline.pii] == ["SPEAKER_01", "SPEAKER_00", None]
    assert timeline.unevidenced_failures == ("pci_pause",)
    assert len(timeline.emotions) == 4  # one customer segment has no emotion
    svg = render_timeline(record, "svg")
    assert len(ids(svg, "pii-")) == 3 and len(ids(svg, "overtalk-")) == 2
    assert len(ids(svg, "silence-")) == len(timeline.silences) >= 1
    assert b'id="unevidenced-failures"' in svg and b"<!-- failed, no evidence: pci_pause" in svg
    title = ET.fromstring(svg).find(f"{SVG}title")
    assert title is not None and title.text is not None
    assert "2 overtalk spans" in title.text and "3 redacted spans" in title.text
    assert "compliance 60 (failed): 6 checks passed, 6 failed" in title.text


def test_turns_stand_in_for_segments_and_an_empty_call_still_draws() -> None:
    record = load("greeting-mono")
    record["segments"] = []
    timeline = read_timeline(record)
    assert len(timeline.bars) == len(record["diarization"]["turns"]) and not timeline.emotions
    record.update(diarization=None, participants=[], compliance=None, pii=None)
    svg = render_timeline(record, "svg")
    assert ids(svg, "lane-label-") == [] and b"<!-- no speech in this record -->" in svg
    assert ids(svg, "silence-") == ["silence-0"]  # the whole call
    assert png_size(render_timeline(record, "png")) == (1200, 450)


def test_a_call_without_duration_is_a_stage_error() -> None:
    record = load("greeting-mono")
    record.update(segments=[], diarization=None)
    record["audio"]["duration_s"] = 0
    record["metrics"]["duration_s"] = None
    with pytest.raises(StageError, match="no duration to draw"):
        render_timeline(record, "svg")
    record["audio"]["duration_s"] = None  # with segments, the last one ends the call
    record["segments"] = load("greeting-mono")["segments"]
    root = ET.fromstring(render_timeline(record, "svg"))
    assert float(root.attrib["data-t1"]) == record["segments"][-1]["end"]


def test_overtalk_counts_two_speakers_not_one_speaker_twice() -> None:
    bars = [Bar(0, 4, "a"), Bar(3, 5, "a"), Bar(2, 3.5, "b"), Bar(6, 7, "b"), Bar(6.5, 8, "c")]
    assert overtalk_spans(bars) == [(2.0, 3.5), (6.5, 7.0)]
    assert overtalk_spans([Bar(0, 1, "a"), Bar(1, 2, "b")]) == []  # touching is not overtalk


def test_threads_draw_the_same_pictures() -> None:
    records = [load(name) for name in NAMES] * 3
    alone = [render_timeline(record, "svg") for record in records]
    with ThreadPoolExecutor(max_workers=6) as pool:
        together = list(pool.map(lambda record: render_timeline(record, "svg"), records))
    assert together == alone
