"""``callqa analyze`` and ``callqa models``: records on real audio, exit code 2 on bad input."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from api.cli import main
from pipelines.record import content_sha256

ROOT = Path(__file__).resolve().parents[2]
CALLQA = [sys.executable, "-m", "api.cli"]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [*CALLQA, *args],
        cwd=ROOT,
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


def test_analyze_sample_call_prints_a_record() -> None:
    result = run_cli("analyze", "samples/call.wav")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["schema"] == "callqa.record/v1"
    assert record["layout"] == "stereo-agent-left"
    assert record["audio"]["channels"] == 2 and record["audio"]["format"] == "wav"
    assert record["languages"] == ["en"]
    assert {p["role"] for p in record["participants"]} == {"agent", "customer"}
    agent = " ".join(s["text"] for s in record["segments"] if s["role"] == "agent")
    customer = " ".join(s["text"] for s in record["segments"] if s["role"] == "customer")
    assert "Quilter" in agent and "fellow Americans" in customer
    starts = [s["start"] for s in record["segments"]]
    assert starts == sorted(starts)
    assert record["integrity"]["content_sha256"] == content_sha256(record)
    assert {m["stage"] for m in record["provenance"]["models"]} == {"transcribe", "vad", "emotion"}
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
    from pipelines.rttm import read_rttm

    rttm = tmp_path / "call.rttm"
    status = main(
        [
            "analyze",
            str(ROOT / "samples" / "call.wav"),
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


def test_progress_bar_follows_the_stages(base_pipeline: object, data_dir: Path) -> None:
    import io

    from api.cli import TqdmHook
    from pipelines.pipeline import CallPipeline
    from pipelines.registry import analyze_file
    from pipelines.settings import Settings

    assert isinstance(base_pipeline, CallPipeline)
    stream = io.StringIO()
    hook = TqdmHook("jfk", file=stream)
    analyze_file(base_pipeline, data_dir / "en" / "jfk.wav", settings=Settings(), hook=hook)
    hook.close()
    shown = stream.getvalue()
    assert "jfk: decode" in shown and "jfk: transcribe" in shown and "11/11" in shown
