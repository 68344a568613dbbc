"""The pure parts of bench/pipeline.py and bench/pipeline_audio.py: the test calls built from a
small made-up corpus, the figures and the report of made-up results. No model, no child."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from bench import pipeline_audio
from bench.pipeline import Timed, accepted, stage_seconds
from bench.pipeline_audio import (
    build_calls,
    company_calls,
    concatenate,
    median,
    mixdown,
    parties,
    ratio,
    render,
    row_figures,
)

AGENT, CUSTOMER = 0.5, -0.25


def write_call(
    corpus: Path, name: str, company: str, layout: str, seconds: float, rate: int
) -> None:
    """A call whose agent says a constant AGENT and whose customer a constant CUSTOMER."""
    frames = round(seconds * rate)
    agent, customer = np.full(frames, AGENT), np.full(frames, CUSTOMER)
    pair = (customer, agent) if layout == "stereo-agent-right" else (agent, customer)
    sf.write(str(corpus / f"{name}.wav"), np.stack(pair, axis=1), rate, subtype="PCM_16")
    label = {"id": name, "company": company, "layout": layout}
    (corpus / f"{name}.json").write_text(json.dumps(label), encoding="utf-8")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    write_call(folder, "acme-b", "acme", "stereo-agent-right", 2.0, 16000)
    write_call(folder, "acme-a", "acme", "stereo-agent-left", 1.5, 8000)
    write_call(folder, "other-a", "other", "stereo-agent-left", 1.0, 8000)
    sf.write(str(folder / "acme-mono.wav"), np.zeros(8000), 8000)
    mono = {"id": "acme-mono", "company": "acme", "layout": "mono"}
    (folder / "acme-mono.json").write_text(json.dumps(mono), encoding="utf-8")
    return folder


def test_concatenate_loops_the_parts_and_cuts_to_the_exact_length() -> None:
    parts = [np.arange(3.0), np.arange(10.0, 15.0)]
    joined = concatenate(parts, 11)
    assert joined.tolist() == [0, 1, 2, 10, 11, 12, 13, 14, 0, 1, 2]
    assert concatenate(parts, 2).tolist() == [0, 1]
    with pytest.raises(ValueError):
        concatenate([np.zeros(0)], 5)


def test_company_calls_are_sorted_stereo_calls_else_every_company(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls, company = company_calls(corpus, "acme")  # 3.5 s: below MIN_COMPANY_S
    assert company == ""
    assert [c.path.name for c in calls] == ["acme-a.wav", "acme-b.wav", "other-a.wav"]
    monkeypatch.setattr(pipeline_audio, "MIN_COMPANY_S", 3.0)
    calls, company = company_calls(corpus, "acme")
    assert company == "acme"
    assert [(c.path.name, c.agent_right) for c in calls] == [
        ("acme-a.wav", False),
        ("acme-b.wav", True),
    ]


def test_built_calls_have_the_exact_length_agent_left_and_mono_is_the_mixdown(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline_audio, "MIN_COMPANY_S", 3.0)
    calls, company = company_calls(corpus, "acme")
    files = build_calls(calls, company, [0.1, 0.025], tmp_path / "audio")
    assert set(files) == {(0.1, "stereo"), (0.1, "mono"), (0.025, "stereo"), (0.025, "mono")}
    assert files[(0.1, "mono")].name == "acme-0.1min-mono.wav"
    stereo, rate = sf.read(str(files[(0.1, "stereo")]), always_2d=True)
    mono, mono_rate = sf.read(str(files[(0.1, "mono")]))
    assert rate == mono_rate == 8000
    assert stereo.shape == (48000, 2)  # 6 s: both calls (3.5 s) looped, then cut
    assert mono.shape == (48000,)
    # the agent-right call (16 kHz) was swapped and resampled: the agent is always on the left
    assert np.mean(np.abs(stereo[:, 0] - AGENT) < 0.01) > 0.98
    assert np.mean(np.abs(stereo[:, 1] - CUSTOMER) < 0.01) > 0.98
    assert np.allclose(mono, mixdown(stereo), atol=2 / 32768)
    assert sf.info(str(files[(0.025, "stereo")])).frames == 12000


def test_built_calls_are_reused_when_present(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline_audio, "MIN_COMPANY_S", 3.0)
    calls, company = company_calls(corpus, "acme")
    first = build_calls(calls, company, [0.05], tmp_path)
    stamp = first[(0.05, "stereo")].stat().st_mtime_ns
    again = build_calls(calls, company, [0.05], tmp_path)
    assert again == first
    assert again[(0.05, "stereo")].stat().st_mtime_ns == stamp


def test_median_and_ratio_leave_out_what_is_missing() -> None:
    assert median([3.0, None, 1.0, 2.0]) == 2.0
    assert median([None]) is None
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(None, 2.0) is None
    assert ratio(3.0, 0.0) is None


def made_up_row() -> dict[str, Any]:
    def cold(*walls: float, mib: float, exit: int = 0) -> list[dict[str, Any]]:
        return [{"wall_s": w, "peak_mib": mib, "exit": exit} for w in walls]

    pipeline_runs = [
        {"wall_s": 12.0, "stages": {"decode": 1.0, "transcribe": 6.0}, "analytics": {"pii": 1.0}},
        {"wall_s": 10.0, "stages": {"decode": 1.0, "transcribe": 4.0}, "analytics": {}},
    ]
    return {
        "minutes": 1.0,
        "layout": "stereo",
        "audio_s": 60.0,
        "repeats": 2,
        "cold": {
            "bare": cold(4.0, 6.0, mib=400.0),
            "pipeline": [*cold(20.0, mib=2000.0), *cold(99.0, mib=9.0, exit=1)],
        },
        "warm": {
            "bare": {"runs": [{"wall_s": 2.0}, {"wall_s": 4.0}], "peak_mib": 500.0},
            "pipeline": {
                "runs": pipeline_runs,
                "peak_mib": 1500.0,
                "load_s": 7.0,
                "warmup_s": 15.0,
                "warmup": {"stages": {"decode": 0.5, "transcribe": 5.0, "analytics": 8.0}},
            },
        },
        "parties": {"roles": {"agent": 3, "customer": 2}, "languages": ["en"]},
    }


def test_row_figures_are_medians_ratios_and_the_warm_real_time_factor() -> None:
    figures = row_figures(made_up_row())
    assert figures["cold_bare_s"] == 5.0
    assert figures["cold_ours_s"] == 20.0  # the failed run is left out
    assert figures["cold_ratio_s"] == 4.0
    assert figures["warm_ratio_s"] == pytest.approx(11.0 / 3.0)
    assert figures["cold_ratio_mib"] == 5.0
    assert figures["warm_ratio_mib"] == 3.0
    assert figures["rtf"] == pytest.approx(60.0 / 11.0)
    assert figures["stages"] == {"decode": 1.0, "transcribe": 5.0, "analytics/pii": 0.5}
    assert figures["first_stages"] == {"decode": 0.5, "transcribe": 5.0, "analytics": 8.0}
    assert (figures["load_ours_s"], figures["first_ours_s"], figures["load_bare_s"]) == (
        7.0,
        15.0,
        None,
    )


def test_report_renders_times_memory_stages_and_parties() -> None:
    row = made_up_row()
    failed = {**made_up_row(), "layout": "mono", "warm": {"error": "child ended"}}
    rows = [row | {"figures": row_figures(row)}, failed | {"figures": row_figures(failed)}]
    summary = {
        "name": "check",
        "root": "/checkout",
        "company": "acme",
        "sources": ["a.wav", "b.wav"],
        "model_dir": "/models/base",
        "cpu_threads": 0,
        "cpu_count": 2,
        "translate": False,
        "rows": rows,
    }
    report = render(summary)
    assert "| 1 min | stereo | 60 | 2 | 5.0 | 20.0 | 4.00 | 3.0 | 11.0 | 3.67 | 5.45 |" in report
    assert (
        "| 1 min | stereo | 400 | 2000 | 5.00 | 500 | 1500 | 3.00 | - | - | 7.0 | 15.0 |" in report
    )
    assert "| 1 min | stereo | transcribe | 5.00 | 45% | 5.00 |" in report
    assert "| 1 min | stereo | analytics/pii | 0.50 | 5% | - |" in report
    assert "| 1 min | stereo | analytics | - | - | 8.00 |" in report
    assert "| 1 min | mono | 60 | 2 | 5.0 | 20.0 | 4.00 | - | - | - | - |" in report
    assert '{"agent": 3, "customer": 2}' in report
    assert "warm runs failed: child ended" in report


def test_parties_counts_segments_per_role(tmp_path: Path) -> None:
    record = {
        "segments": [{"role": "agent"}, {"role": "customer"}, {"role": "agent"}, {}],
        "languages": ["en", "fr"],
    }
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    assert parties(path) == {
        "roles": {"agent": 2, "customer": 1, "unknown": 1},
        "languages": ["en", "fr"],
    }
    assert parties(tmp_path / "missing.json") == {}


class FakeHook:
    def __init__(self, started: dict[str, float], durations: dict[str, float]) -> None:
        self.started, self._durations = started, durations

    def durations(self) -> dict[str, float]:
        return dict(self._durations)


def test_stage_seconds_count_the_time_before_the_first_report_as_decode() -> None:
    hook = FakeHook({"decode": 10.5, "transcribe": 11.0}, {"decode": 0.5, "transcribe": 3.0})
    assert stage_seconds(hook, 10.0) == {"decode": 1.0, "transcribe": 3.0}
    older = FakeHook({"transcribe": 12.0}, {"transcribe": 3.0})  # no "decode" report
    assert stage_seconds(older, 10.0) == {"transcribe": 3.0, "decode": 2.0}


def test_timed_forwards_and_adds_up_the_seconds_of_calls() -> None:
    class Stage:
        policy = "mask"

        def redact(self, text: str) -> str:
            return text.upper()

    times: dict[str, float] = {}
    timed: Any = Timed(Stage(), "pii", times)
    assert timed.policy == "mask"
    assert timed.redact("a") == "A"
    assert timed.redact("b") == "B"
    assert set(times) == {"pii"}
    assert times["pii"] >= 0.0


def test_accepted_keeps_the_keywords_a_function_takes() -> None:
    def build(settings: object, *, policy: object = None) -> None: ...

    assert accepted(build, policy=1, translate_to="en") == {"policy": 1}
