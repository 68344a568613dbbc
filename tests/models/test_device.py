"""CALLQA_DEVICE: the CPU by default; cuda where there is no GPU is a clear error (exit 2), and
the batched decoding used for long calls on a GPU works (run here on the CPU)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from models.asr import DecodingOptions, SpeechRecognizer
from models.device import check_device
from models.whisper import resolve_whisper
from pipelines.core.errors import ConfigError
from pipelines.core.settings import CUDA_BATCH_FROM_S, Settings

CALLQA = str(Path(sys.executable).with_name("callqa"))


def test_cpu_is_the_default_and_needs_nothing() -> None:
    settings = Settings()
    assert settings.device == "cpu" and check_device("cpu") == "cpu"
    assert settings.models.whisper_compute_type("cpu") == "int8"
    assert settings.models.batched_from_s("cpu") is None
    assert settings.models.whisper_compute_type("cuda") == "float16"
    assert settings.models.batched_from_s("cuda") == CUDA_BATCH_FROM_S


def test_device_comes_from_callqa_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLQA_DEVICE", "cuda")
    assert Settings().device == "cuda"
    monkeypatch.setenv("CALLQA_DEVICE", "tpu")
    with pytest.raises(ValueError, match="cpu"):
        Settings()


def test_analyze_on_cuda_without_a_gpu_exits_2(data_dir: Path) -> None:
    """CUDA_VISIBLE_DEVICES="" hides any GPU, so this holds on every machine."""
    done = subprocess.run(
        [CALLQA, "analyze", str(data_dir / "en" / "jfk.wav"), "--json"],
        env={**os.environ, "CALLQA_DEVICE": "cuda", "CUDA_VISIBLE_DEVICES": ""},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    assert "no CUDA GPU is visible" in done.stderr and "unset CALLQA_DEVICE" in done.stderr
    assert done.stdout == ""


def test_unknown_device_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cpu or cuda"):
        check_device("tpu")


def test_batched_decoding_of_long_audio_transcribes(data_dir: Path) -> None:
    from faster_whisper import decode_audio

    recognizer = SpeechRecognizer(resolve_whisper("base"), cpu_threads=2, batch_from_s=5.0)
    samples = decode_audio(str(data_dir / "en" / "jfk.wav"))
    recognition = recognizer.recognize(samples, DecodingOptions(language="en"))
    text = " ".join(s.text for s in recognition.segments).lower()
    assert "ask not what your country can do for you" in text
    assert all(s.words for s in recognition.segments) and recognition.language == "en"


def test_cpu_threads_holds_the_numeric_libraries_too() -> None:
    """CALLQA_MODELS__CPU_THREADS=1 (one worker per core): numpy's BLAS runs one thread, as
    whisper does; 0 leaves every core (a fresh process: thread pools are process-wide)."""
    script = (
        "import numpy, threadpoolctl, sys\n"
        "from models.device import limit_threads\n"
        "limit_threads(int(sys.argv[1]))\n"
        "print(max(p['num_threads'] for p in threadpoolctl.threadpool_info()))\n"
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "", "OMP_NUM_THREADS": ""}
    held = subprocess.run(
        [sys.executable, "-c", script, "1"], capture_output=True, text=True, env=env, check=True
    )
    assert held.stdout.strip() == "1"
    free = subprocess.run(
        [sys.executable, "-c", script, "0"], capture_output=True, text=True, env=env, check=True
    )
    if len(os.sched_getaffinity(0)) > 1:
        assert int(free.stdout.strip()) > 1
