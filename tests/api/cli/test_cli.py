"""``callqa analyze`` and ``callqa models``: records on real audio, exit code 2 on bad input."""

from __future__ import annotations

import json
import re
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from api.cli.main import main
from pipelines.record.schema import content_sha256

ROOT = Path(__file__).resolve().parents[3]
CALLQA = [sys.executable, "-m", "api.cli"]
SAMPLE = ROOT / "samples" / "call.wav"
POLICY = ROOT / "samples" / "policies" / "ecommerce-aftersales.yaml"
CARD = "4111111111111111"


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [*CALLQA, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


def wav_bytes(samples: np.ndarray, rate: int = 16000) -> bytes:
    import io

    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def words_heard(reference: list[str], heard: str) -> float:
    """Share of the reference's words found in what was transcribed (a margin, not one decode)."""
    said = set(re.findall(r"[a-z]+", heard.lower()))
    words = [w for text in reference for w in re.findall(r"[a-z]+", text.lower())]
    return sum(w in said for w in words) / len(words)


def test_analyze_json_prints_the_record_and_writes_no_file(tmp_path: Path) -> None:
    result = run_cli("analyze", str(SAMPLE), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert list(tmp_path.iterdir()) == [], "--json without --out writes nothing but stdout"
    assert record["schema"] == "callqa.record/v1"
    assert record["layout"] == "stereo-agent-left"
    audio = record["audio"]
    assert audio["channels"] == 2 and audio["format"] == "wav" and audio["sample_rate"] == 8000
    assert record["languages"][0] == "en"
    assert {p["role"] for p in record["participants"]} == {"agent", "customer"}
    truth = json.loads(SAMPLE.with_suffix(".json").read_text())["turns"]
    for role, least in (("agent", 0.8), ("customer", 0.6)):  # measured 0.98 and 0.94
        heard = " ".join(s["text"] for s in record["segments"] if s["role"] == role)
        assert words_heard([t["text"] for t in truth if t["role"] == role], heard) >= least
    starts = [s["start"] for s in record["segments"]]
    assert starts == sorted(starts)
    assert record["integrity"]["content_sha256"] == content_sha256(record)
    stages = {m["stage"] for m in record["provenance"]["models"]}
    assert stages == {"transcribe", "vad", "emotion", "topics", "summary"}
    assert record["provenance"]["models"][0]["sha256"]
    assert "Traceback" not in result.stderr


def test_analyze_several_files_into_a_directory(tmp_path: Path, data_dir: Path) -> None:
    bad = tmp_path / "notes.wav"
    bad.write_text("this is not audio\n")
    out = tmp_path / "records"
    status = main(
        [
            "analyze",
            str(data_dir / "telephony" / "es_queue-periodic-announce.wav"),
            str(bad),
            "--out",
            str(out),
            "--model",
            "base",
            "--plot",
            str(tmp_path / "plots"),
        ]
    )
    assert status == 2, "one bad input among several still reports bad input"
    record = json.loads((out / "es_queue-periodic-announce.json").read_text())
    assert record["languages"] == ["es"] and record["audio"]["sample_rate"] == 8000
    assert not (out / "notes.json").exists()
    plots = sorted(path.name for path in (tmp_path / "plots").iterdir())
    assert plots == ["es_queue-periodic-announce.png"]


def test_tiny_en_model_and_forced_language(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "jfk.json"
    assert (
        main(
            [
                "analyze",
                str(data_dir / "en" / "jfk.wav"),
                "--model",
                "tiny.en",
                "--language",
                "en",
                "--out",
                str(out),
                "--plot",
                str(tmp_path / "jfk.png"),
            ]
        )
        == 0
    )
    record = json.loads(out.read_text())
    assert record["provenance"]["models"][0]["name"] == "whisper-tiny.en"
    assert "fellow Americans" in record["segments"][0]["text"]
    png = (tmp_path / "jfk.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[16:24] == struct.pack(">II", 1200, 450)


@pytest.mark.parametrize(
    ("plot", "inputs", "reason"),
    [
        ("timeline.pdf", 1, "must end in .png or .svg"),
        ("timeline", 1, "must end in .png or .svg"),
        ("timeline.svg", 2, "must be a directory when several inputs"),
    ],
)
def test_plot_needs_a_png_or_svg_name_before_any_audio_is_read(
    plot: str, inputs: int, reason: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = [str(tmp_path / f"nowhere-{i}.wav") for i in range(inputs)]  # never opened
    assert main(["analyze", *missing, "--plot", str(tmp_path / plot)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and reason in err[0] and "nowhere" not in err[0]
    assert list(tmp_path.iterdir()) == []


def test_models_lists_what_is_available(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "base" in out and "tiny.en" in out and "silero" in out


def _truncated_wav(tmp: Path) -> bytes:
    full = wav_bytes(np.random.default_rng(0).uniform(-0.3, 0.3, 32000).astype(np.float32))
    return full[: len(full) // 3]


def _many_channels_wav(tmp: Path) -> bytes:
    header = wav_bytes(np.zeros(16, dtype=np.float32))
    # channel count field of the fmt chunk (offset 22) set to 65535
    return header[:22] + struct.pack("<H", 65535) + header[24:]


BAD_INPUTS: dict[str, Callable[[Path], bytes]] = {
    "empty.wav": lambda tmp: b"",
    "notes.wav": lambda tmp: b"Dear customer, thank you for your order.\n" * 20,
    "picture.mp3": lambda tmp: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
    "random.flac": lambda tmp: np.random.default_rng(1).bytes(50_000),
    "truncated.wav": _truncated_wav,
    "silent.wav": lambda tmp: wav_bytes(np.zeros(16000 * 3, dtype=np.float32)),
    "hostile.wav": _many_channels_wav,
    "slow.wav": lambda tmp: wav_bytes(
        np.random.default_rng(2).uniform(-0.3, 0.3, 3000).astype(np.float32), rate=1000
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_exits_2_with_one_line(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / name
    path.write_bytes(BAD_INPUTS[name](tmp_path))
    assert main(["analyze", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("callqa: ") and "Traceback" not in lines[0]


def test_missing_file_and_wrong_layout(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", str(tmp_path / "nowhere.wav")]) == 2
    assert main(["analyze", str(data_dir / "en" / "jfk.wav"), "--layout", "stereo-agent-left"]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "needs 2 channels" in err


def test_over_long_input_is_refused_by_setting(tmp_path: Path, data_dir: Path) -> None:
    result = run_cli(
        "analyze", str(data_dir / "en" / "jfk.wav"), env={"CALLQA_AUDIO__MAX_DURATION_S": "5"}
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "long" in result.stderr


@pytest.mark.parametrize(
    ("model", "language", "words"),
    [("base", "zz", "'zz' is not one model base knows"), ("tiny.en", "es", "(en)")],
)
def test_language_the_model_does_not_know(
    model: str, language: str, words: str, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["analyze", str(data_dir / "en" / "jfk.wav"), "--model", model, "--language", language]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1


def test_invalid_setting_and_unwritable_output(tmp_path: Path, data_dir: Path) -> None:
    bad = run_cli(
        "analyze", str(data_dir / "en" / "jfk.wav"), env={"CALLQA_AUDIO__MAX_DURATION_S": "-3"}
    )
    assert bad.returncode == 2 and "invalid setting audio.max_duration_s" in bad.stderr
    blocker = tmp_path / "file"
    blocker.write_text("")
    out = run_cli(
        "analyze",
        str(data_dir / "en" / "jfk.wav"),
        "--model",
        "tiny.en",
        "--out",
        str(blocker / "x.json"),
    )
    assert out.returncode == 1 and len(out.stderr.strip().splitlines()) == 1
    assert "Traceback" not in out.stderr


def test_bad_usage_exits_2() -> None:
    result = run_cli("analyze", "samples/call.wav", "--layout", "sideways")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_rttm_is_written_beside_the_record(tmp_path: Path) -> None:
    from pipelines.speakers.rttm import read_rttm

    rttm = tmp_path / "call.rttm"
    status = main(
        [
            "analyze",
            str(SAMPLE),
            "--out",
            str(tmp_path / "call.json"),
            "--rttm",
            str(rttm),
        ]
    )
    assert status == 0
    annotation = read_rttm(rttm)["call"]
    record = json.loads((tmp_path / "call.json").read_text())
    assert sorted(annotation.labels()) == ["SPEAKER_00", "SPEAKER_01"]
    assert len(list(annotation.itertracks())) == len(record["diarization"]["turns"])
    assert record["diarization"]["method"] == "channel"
    assert (tmp_path / "call.timeline.png").exists(), "the report's picture sits by the record"


def test_progress_bar_follows_the_stages(base_pipeline: object, data_dir: Path) -> None:
    import io

    from api.cli.main import TqdmHook
    from pipelines.batch import CallPipeline
    from pipelines.core.settings import Settings
    from pipelines.registry import analyze_file

    assert isinstance(base_pipeline, CallPipeline)
    stream = io.StringIO()
    hook = TqdmHook("jfk", file=stream)
    analyze_file(base_pipeline, data_dir / "en" / "jfk.wav", settings=Settings(), hook=hook)
    hook.close()
    shown = stream.getvalue()
    assert "jfk: decode" in shown and "jfk: transcribe" in shown and "11/11" in shown


# the readable report: `make run`'s command, run once on the sample call
@pytest.fixture(scope="module")
def sample_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    here = tmp_path_factory.mktemp("report")
    args = ("analyze", str(SAMPLE), "--policy", str(POLICY), "--layout", "stereo-agent-left")
    result = run_cli(*args, cwd=here)
    assert result.returncode == 0, result.stderr
    return result.stdout, here


def card_runs(text: str) -> list[str]:
    """Runs of 4+ digits (spaces or hyphens between) that are a piece of the card number."""
    runs = (re.sub(r"\D", "", m.group()) for m in re.finditer(r"\d(?:[ -]?\d)*", text))
    return [run for run in runs if any(run[i : i + 4] in CARD for i in range(len(run) - 3))]


def record_strings(value: object, key: str = "") -> list[str]:
    """Every string of a record but its hashes, ids and signature (hex that may hold '1111')."""
    if key in {"id", "created_at", "signature", "key_id"} or key.endswith("sha256"):
        return []
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in record_strings(v, str(k))]
    if isinstance(value, list):
        return [s for v in value for s in record_strings(v, key)]
    return [value] if isinstance(value, str) else []


def test_report_names_the_record_and_the_timeline_it_wrote(
    sample_report: tuple[str, Path],
) -> None:
    report, here = sample_report
    assert not report.lstrip().startswith("{"), "a report, not the JSON dump"
    files = dict(re.findall(r"^\s+(record|timeline)\s+(\S+)$", report, re.M))
    assert files == {"record": "call.record.json", "timeline": "call.timeline.png"}
    record = json.loads((here / files["record"]).read_text())
    assert record["schema"] == "callqa.record/v1"
    assert record["integrity"]["content_sha256"] == content_sha256(record)
    assert (here / files["timeline"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_digits_of_the_card_in_the_report_or_the_record(
    sample_report: tuple[str, Path],
) -> None:
    report, here = sample_report
    record = json.loads((here / "call.record.json").read_text())
    assert card_runs(report) == []
    assert [s for s in record_strings(record) if card_runs(s)] == []
    assert {e["type"] for e in record["pii"]["entities"]} & {"CARD", "CVV"}
    for kind in {e["type"] for e in record["pii"]["entities"]}:  # shown where they were said
        assert f"[{kind}]" in report.split("Scorecard")[0]
        assert re.search(rf"^\s+\[{kind}\]\s+\d+ x\s+at \d+:\d\d\.\d", report, re.M)


def test_report_shows_the_failed_checks_by_rule_id(sample_report: tuple[str, Path]) -> None:
    report, here = sample_report
    compliance = json.loads((here / "call.record.json").read_text())["compliance"]
    failed = {c["rule_id"] for c in compliance["checks"] if not c["passed"]}
    expected = json.loads(SAMPLE.with_suffix(".json").read_text())["expected"]["compliance"]
    assert failed & {rule for rule, passes in expected.items() if not passes}, failed
    for check in compliance["checks"]:
        mark = "PASS" if check["passed"] else "FAIL"
        assert re.search(rf"^\s+{mark}\s+{check['rule_id']}\s+{check['severity']}\s", report, re.M)
    policy = compliance["policy"]
    assert f"{policy['id']} version {policy['version']}" in report and "FAILED" in report


def test_report_transcript_emotion_escalation_and_topic(sample_report: tuple[str, Path]) -> None:
    report, here = sample_report
    record = json.loads((here / "call.record.json").read_text())
    roles = re.findall(r"^\s+\d+:\d\d\.\d\s+(agent|customer)\s+\S", report, re.M)
    assert {"agent", "customer"} <= set(roles)
    assert len(roles) >= len(record["segments"]) - 1  # evidence lines hold times and roles too
    emotion = report.split("Emotion and escalation")[1].split("Topics")[0]
    assert "dominant emotion" in emotion and "escalation" in emotion
    if record["metrics"]["escalation"]["detected"]:
        assert "DETECTED at" in emotion
    topics = report.split("Topics")[1].split("Personal data")[0]
    assert record["topics"][0]["label"] in topics


def test_report_renders_a_stored_record(data_dir: Path) -> None:
    from api.cli.report import WIDTH, render_report

    record = json.loads((data_dir / "records" / "angry-customer.json").read_text())
    written = {"record": "angry.record.json", "timeline": "angry.timeline.png"}
    lines = render_report(record, source="angry-customer.wav", written=written)
    text = "\n".join(lines)
    assert all(len(line) <= WIDTH for line in lines)
    assert "score 60.0 / 100, FAILED" in text and "6 of 11 checks passed" in text
    for check in record["compliance"]["checks"]:
        mark = "PASS" if check["passed"] else "FAIL"
        assert re.search(rf"^\s+{mark}\s+{check['rule_id']}\s", text, re.M)
    assert '0:02.5  agent     "My name is Anna."' not in text, "a closest miss is no evidence"
    assert "  0:05.9  customer  Der Lappen liegt auf dem Eisschrank.  (neutral)" in lines
    assert "  talk time       agent 12.2 s (44%), customer 9.4 s (34%)" in lines
    assert "escalation        DETECTED at 0:15.8 (anger)" in text
    assert "  other (1.00)" in lines and "  record    angry.record.json" in lines
    bare = render_report({**record, "compliance": None}, source="x.wav", written={})
    assert "  no policy checked (callqa analyze --policy FILE)" in bare


def test_report_summarizes_the_sample_call(sample_report: tuple[str, Path]) -> None:
    report, here = sample_report
    record = json.loads((here / "call.record.json").read_text())
    summary = record["summary"]
    assert summary["outcome"] in {"resolved", "follow_up", "transferred", "unresolved"}
    reason = summary["reason"]
    assert reason is not None and reason["segments"]
    said = {s["id"]: s["text"] for s in record["segments"]}
    assert all(reason["text"] in said[i] or said[i] in reason["text"] for i in reason["segments"])
    assert re.search(r"coffee machine|late|damaged", reason["text"])
    shown = report.split("\nSummary\n")[1].split("Topics")[0]
    assert f"outcome           {summary['outcome']}" in shown
    assert reason["text"][:40] in " ".join(shown.split())
