"""pyannote.audio diarization: the real loading and inference path on a tiny random pipeline.

The pretrained checkpoints are not downloadable here, so the test writes a randomly initialised
pipeline in community-1's layout and loads it back exactly as users do. Random weights give
meaningless speakers: these tests check the path (files, hashes, hooks, turns), not accuracy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from models.catalog import model_statuses
from models.pyannote_diarizer import (
    PyannoteDiarizer,
    files_sha256,
    pipeline_files,
    pyannote_status,
    relabel_turns,
)
from pipelines.core.errors import ModelUnavailableError
from pipelines.core.types import Audio
from pipelines.speakers.diarizer import Diarizer
from tests.models.pyannote_fixture import build_random_pipeline

REMEDY = re.compile(r"speaker-diarization-community-1.*CALLQA_MODELS__PYANNOTE_DIR", re.S)


class NetworkAttempt(AssertionError):
    pass


def _refuse_network(patch: pytest.MonkeyPatch) -> list[Any]:
    """Record (and refuse) every attempt to open a network connection."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise NetworkAttempt(f"network access attempted: {args!r}")

    patch.setattr(socket.socket, "connect", refuse)
    patch.setattr(socket.socket, "connect_ex", refuse)
    patch.setattr(socket, "create_connection", refuse)
    patch.setattr(socket, "getaddrinfo", refuse)
    return attempts


@pytest.fixture()
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    return _refuse_network(monkeypatch)


@pytest.fixture(scope="module")
def pipeline_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_random_pipeline(tmp_path_factory.mktemp("pyannote") / "community-random")


@pytest.fixture(scope="module")
def diarizer(pipeline_dir: Path) -> PyannoteDiarizer:
    """Loaded through the users' code path, with the network cut and telemetry asked for."""
    with pytest.MonkeyPatch.context() as patch:
        attempts = _refuse_network(patch)
        patch.setenv("PYANNOTE_METRICS_ENABLED", "1")  # the loader must switch it off
        loaded = PyannoteDiarizer(pipeline_dir)
        assert os.environ["PYANNOTE_METRICS_ENABLED"] == "0"
    assert attempts == []
    return loaded


def _clip(data_dir: Path, name: str = "en/jfk.wav") -> Audio:
    samples, rate = sf.read(data_dir / name, dtype="float32")
    return Audio(samples=samples, sample_rate=rate)


def test_random_pipeline_runs_on_a_real_clip(
    diarizer: PyannoteDiarizer,
    pipeline_dir: Path,
    data_dir: Path,
    no_network: list[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYANNOTE_METRICS_ENABLED", "true")
    audio = _clip(data_dir)
    calls: list[tuple[str, int | None, int | None]] = []

    def hook(
        step: str,
        artifact: object | None = None,
        *,
        total: int | None = None,
        completed: int | None = None,
    ) -> None:
        calls.append((step, total, completed))

    stage: Diarizer = diarizer
    result = stage.diarize(audio, hook=hook)

    assert no_network == []
    assert os.environ["PYANNOTE_METRICS_ENABLED"] == "0"
    assert result.method == "pyannote"
    assert result.turns, "the fixture's segmentation never predicts silence"
    assert list(result.turns) == sorted(result.turns, key=lambda t: (t.start, t.end, t.speaker))
    for turn in result.turns:
        assert 0.0 <= turn.start < turn.end <= audio.duration
        assert re.fullmatch(r"SPEAKER_\d\d", turn.speaker)
    first_seen = list(dict.fromkeys(t.speaker for t in result.turns))
    assert first_seen == [f"SPEAKER_{i:02d}" for i in range(len(first_seen))]
    (model,) = result.models
    assert model.stage == "diarize" and model.name == "community-random"
    assert model.version == "pyannote.audio 4.0.7"
    assert model.sha256 == files_sha256(pipeline_dir, pipeline_files(pipeline_dir))
    assert re.fullmatch(r"[0-9a-f]{64}", model.sha256)
    json.dumps(dict(result.options))
    assert result.options["max_speakers"] == 8
    assert result.options["clustering"] == "VBxClustering"
    steps = {step for step, _, _ in calls}
    assert {"diarize/segmentation", "diarize/embeddings"} <= steps
    progress = [(t, c) for _, t, c in calls if t is not None and c is not None]
    assert progress and all(0 <= c <= t for t, c in progress)


def test_fixed_speaker_count_empty_audio_and_bad_rate(
    diarizer: PyannoteDiarizer, data_dir: Path
) -> None:
    audio = _clip(data_dir)
    one = diarizer.diarize(audio, num_speakers=1)
    assert {t.speaker for t in one.turns} == {"SPEAKER_00"}
    assert one.options["num_speakers"] == 1
    empty = diarizer.diarize(Audio(np.zeros(0, np.float32), 16000))
    assert empty.turns == () and empty.models
    with pytest.raises(ValueError, match="16000 Hz"):
        diarizer.diarize(Audio(np.zeros(8000, np.float32), 8000))
    with pytest.raises(ValueError, match="min_speakers"):
        diarizer.diarize(audio, min_speakers=3, max_speakers=2)


def test_relabel_keeps_overlap_clips_and_orders_by_first_appearance() -> None:
    turns = relabel_turns(
        [(4.0, 6.0, "B"), (-0.2, 3.0, "A"), (2.5, 5.0, "C"), (9.5, 11.0, "B"), (10.5, 12.0, "A")],
        duration=10.0,
    )
    assert [(t.start, t.end, t.speaker) for t in turns] == [
        (0.0, 3.0, "SPEAKER_00"),
        (2.5, 5.0, "SPEAKER_01"),
        (4.0, 6.0, "SPEAKER_02"),
        (9.5, 10.0, "SPEAKER_02"),
    ]


@pytest.mark.parametrize(
    "missing",
    [
        "config.yaml",
        "segmentation/pytorch_model.bin",
        "embedding/pytorch_model.bin",
        "plda/xvec_transform.npz",
        "plda/plda.npz",
    ],
)
def test_each_missing_file_is_named(pipeline_dir: Path, tmp_path: Path, missing: str) -> None:
    copy = Path(shutil.copytree(pipeline_dir, tmp_path / "pipe"))
    (copy / missing).unlink()
    with pytest.raises(ModelUnavailableError) as info:
        PyannoteDiarizer(copy)
    message = str(info.value)
    assert f"{copy / missing} is missing" in message
    assert REMEDY.search(message) and str(copy) in info.value.remedy


def test_missing_directory_and_non_local_references(pipeline_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="does not exist") as info:
        PyannoteDiarizer(tmp_path / "nowhere")
    assert REMEDY.search(str(info.value))
    copy = Path(shutil.copytree(pipeline_dir, tmp_path / "pipe"))
    config = copy / "config.yaml"
    config.write_text(config.read_text().replace("$model/embedding", "pyannote/wespeaker"))
    with pytest.raises(ModelUnavailableError, match="'pyannote/wespeaker', which is not a local"):
        PyannoteDiarizer(copy)
    config.write_text("pipeline:\n  name: pyannote.audio.pipelines.VoiceActivityDetection\n")
    with pytest.raises(ModelUnavailableError, match="not SpeakerDiarization"):
        PyannoteDiarizer(copy)
    config.write_text(": not yaml : [")
    with pytest.raises(ModelUnavailableError, match="not a pyannote pipeline config"):
        PyannoteDiarizer(copy)


@pytest.mark.parametrize("broken", ["embedding/pytorch_model.bin", "plda/plda.npz"])
def test_unreadable_checkpoint_is_named(
    pipeline_dir: Path, tmp_path: Path, no_network: list[Any], broken: str
) -> None:
    copy = Path(shutil.copytree(pipeline_dir, tmp_path / "pipe"))
    (copy / broken).write_bytes(b"not a checkpoint")
    with pytest.raises(ModelUnavailableError) as info:
        PyannoteDiarizer(copy)
    assert f"{copy / broken} cannot be loaded" in str(info.value)
    assert REMEDY.search(str(info.value))
    assert no_network == []


def test_hub_ids_need_permission_and_a_token(no_network: list[Any]) -> None:
    with pytest.raises(ModelUnavailableError, match="hub access is off"):
        PyannoteDiarizer("pyannote/speaker-diarization-community-1")
    with pytest.raises(ModelUnavailableError, match="needs a token"):
        PyannoteDiarizer("pyannote/speaker-diarization-community-1", allow_hub=True)
    assert no_network == []


def test_catalog_says_what_to_download(pipeline_dir: Path, tmp_path: Path) -> None:
    missing = pyannote_status(None)
    assert missing.stage == "diarize" and not missing.available
    assert REMEDY.search(missing.detail)
    absent = pyannote_status(tmp_path / "absent")
    assert not absent.available and str(tmp_path / "absent") in absent.detail
    ready = pyannote_status(pipeline_dir)
    assert ready.available and str(pipeline_dir) in ready.source
    statuses = model_statuses(None, pyannote_dir=pipeline_dir)
    assert statuses[-1] == ready
    assert model_statuses(None)[-1] == missing
