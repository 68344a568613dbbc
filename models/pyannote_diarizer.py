"""pyannote.audio speaker diarization, loaded from a local pipeline directory.

The directory has the layout of ``pyannote/speaker-diarization-community-1`` on the hub, which is
what ``pyannote.audio.Pipeline.from_pretrained(<directory>)`` reads in pyannote.audio 4.0.7::

    <dir>/config.yaml                     pipeline: name SpeakerDiarization, params with
                                          segmentation: $model/segmentation,
                                          embedding: $model/embedding, plda: $model/plda
    <dir>/segmentation/pytorch_model.bin  powerset segmentation model (Lightning checkpoint)
    <dir>/embedding/pytorch_model.bin     speaker embedding model (Lightning checkpoint)
    <dir>/plda/xvec_transform.npz         x-vector transform for VBx (mean1, mean2, lda)
    <dir>/plda/plda.npz                   PLDA for VBx (mu, tr, psi)

``$model/<sub>`` resolves inside ``<dir>``; absolute paths are accepted too; anything else (a hub
id) is refused, so loading never reaches the network. A hub id is loaded only with ``allow_hub``
and a token: the repository is downloaded to a local snapshot, then read the same way.
pyannote's telemetry is switched off before it is imported and before every call.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from models.whisper import ModelStatus
from pipelines.core.audio import SAMPLE_RATE, require_sample_rate
from pipelines.core.errors import ModelUnavailableError
from pipelines.core.types import (
    Audio,
    Diarization,
    ModelInfo,
    ProgressHook,
    SpeakerTurn,
    no_progress,
)

logger = logging.getLogger(__name__)

HUB_PIPELINE = "pyannote/speaker-diarization-community-1"
CONFIG_FILE = "config.yaml"
MODEL_FILE = "pytorch_model.bin"
PLDA_FILES = ("xvec_transform.npz", "plda.npz")
_PARTS = ("segmentation", "embedding", "plda")
_ENV_SETTING = "CALLQA_MODELS__PYANNOTE_DIR"


def _remedy(directory: Path | None) -> str:
    where = str(directory) if directory is not None else "a local folder"
    return (
        f"download {HUB_PIPELINE} on a machine with internet (accept its conditions on "
        f"https://hf.co/{HUB_PIPELINE}, then `hf download {HUB_PIPELINE} --local-dir <folder>`), "
        f"copy the folder to {where} and set {_ENV_SETTING}={where}"
    )


def _unavailable(directory: Path | None, problem: str) -> ModelUnavailableError:
    return ModelUnavailableError(HUB_PIPELINE, f"{problem}; {_remedy(directory)}")


def _disable_telemetry() -> None:
    """Call audio is confidential: pyannote.audio must not report usage (read at every call)."""
    os.environ["PYANNOTE_METRICS_ENABLED"] = "0"


def pipeline_files(directory: Path) -> tuple[Path, ...]:
    """Check the layout (no torch needed) and return config and checkpoint files, in order.

    Raises ``ModelUnavailableError`` naming the first missing or unusable file.
    """
    if not directory.is_dir():
        raise _unavailable(directory, f"pipeline directory {directory} does not exist")
    config_path = directory / CONFIG_FILE
    if not config_path.is_file():
        raise _unavailable(directory, f"{config_path} is missing")
    try:
        config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        name = str(config["pipeline"]["name"])
        params = config["pipeline"].get("params") or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError, KeyError, TypeError, AttributeError) as e:
        problem = f"{config_path} is not a pyannote pipeline config ({e})"
        raise _unavailable(directory, problem) from e
    if name.rsplit(".", 1)[-1] != "SpeakerDiarization":
        raise _unavailable(directory, f"{config_path} describes {name}, not SpeakerDiarization")
    files = [config_path]
    for part in _PARTS:
        files.extend(_part_files(directory, part, params.get(part)))
    for path in files:
        if not path.is_file():
            raise _unavailable(directory, f"{path} is missing")
    return tuple(files)


def _part_files(directory: Path, part: str, reference: object) -> list[Path]:
    """The files one ``$model/<sub>`` (or absolute path) reference of config.yaml points to."""
    if not isinstance(reference, str):
        raise _unavailable(
            directory, f"{directory / CONFIG_FILE} must set pipeline.params.{part}: $model/{part}"
        )
    if reference.startswith("$model/"):
        location = directory / reference.removeprefix("$model/").split("@")[0]
    elif Path(reference).is_absolute():
        location = Path(reference)
    else:
        raise _unavailable(
            directory,
            f"{directory / CONFIG_FILE} refers to {part} {reference!r}, which is not a local "
            f"file; put it in {directory / part} and write `{part}: $model/{part}`",
        )
    if part == "plda":
        return [location / name for name in PLDA_FILES]
    return [location if location.suffix == ".bin" else location / MODEL_FILE]


def files_sha256(directory: Path, files: Iterable[Path]) -> str:
    """One SHA-256 over every file's relative name and content hash."""
    combined = hashlib.sha256()
    for path in files:
        with path.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        label = path.relative_to(directory) if path.is_relative_to(directory) else path
        combined.update(f"{label}\t{digest}\n".encode())
    return combined.hexdigest()


def _download(repo_id: str, token: str, cache_dir: Path | None) -> Path:
    """Snapshot a hub pipeline to local files (only called when hub access is allowed)."""
    from huggingface_hub import snapshot_download

    logger.info("downloading %s from the hub", repo_id)
    try:
        path = snapshot_download(
            repo_id,
            token=token,
            cache_dir=str(cache_dir) if cache_dir is not None else None,
            allow_patterns=[CONFIG_FILE, "segmentation/*", "embedding/*", "plda/*"],
        )
    except Exception as e:  # network, auth and gating errors all mean "not available"
        raise ModelUnavailableError(
            repo_id, f"hub download failed ({e}); accept its conditions on https://hf.co/{repo_id}"
        ) from e
    return Path(path)


class PyannoteDiarizer:
    """``Diarizer`` running a pyannote.audio ``SpeakerDiarization`` pipeline on the CPU.

    ``source`` is a pipeline directory (see the module docstring), or a hub id when
    ``allow_hub`` is set and a ``token`` is given. Loads eagerly: construct it once per worker.
    """

    def __init__(
        self,
        source: Path | str,
        *,
        allow_hub: bool = False,
        token: str | None = None,
        cache_dir: Path | None = None,
        device: str = "cpu",
    ) -> None:
        directory = Path(source).expanduser()
        if not directory.is_dir() and _looks_like_hub_id(str(source)):
            if not allow_hub:
                problem = f"{source} is not a local directory and hub access is off"
                raise _unavailable(None, problem)
            if not token:
                raise ModelUnavailableError(
                    str(source), "loading from the hub needs a token (pass token=...)"
                )
            directory = _download(str(source), token, cache_dir)
            self._name = str(source)
        else:
            self._name = directory.name
        self.directory = directory.resolve()
        files = pipeline_files(self.directory)
        self.sha256 = files_sha256(self.directory, files)
        self._pipeline = _load_pipeline(self.directory, files)
        if device != "cpu":
            import torch

            self._pipeline.to(torch.device(device))
        self._version = f"pyannote.audio {importlib.metadata.version('pyannote.audio')}"
        self._lock = threading.Lock()  # one call at a time: warnings capture is process-wide
        logger.info("loaded pyannote pipeline %s from %s", self._name, self.directory)

    @property
    def name(self) -> str:
        return self._name

    @property
    def model_info(self) -> ModelInfo:
        return ModelInfo(
            stage="diarize", name=self._name, version=self._version, sha256=self.sha256
        )

    def diarize(
        self,
        audio: Audio,
        *,
        num_speakers: int | None = None,
        min_speakers: int = 1,
        max_speakers: int = 8,
        hook: ProgressHook = no_progress,
    ) -> Diarization:
        """Who spoke when in ``audio`` (16 kHz); overlapping turns are kept."""
        import torch

        require_sample_rate(audio, "pyannote")
        if num_speakers is not None and num_speakers < 1:
            raise ValueError(f"num_speakers must be at least 1, got {num_speakers}")
        if not 1 <= min_speakers <= max_speakers:
            raise ValueError(
                f"need 1 <= min_speakers <= max_speakers, got {min_speakers}, {max_speakers}"
            )
        options = self._options(num_speakers, min_speakers, max_speakers)
        if len(audio.samples) == 0:
            return Diarization("pyannote", (), (self.model_info,), options)
        waveform = torch.from_numpy(audio.samples.astype("float32", copy=False)).reshape(1, -1)
        speakers: dict[str, int] = (
            {"num_speakers": num_speakers}
            if num_speakers is not None
            else {"min_speakers": min_speakers, "max_speakers": max_speakers}
        )
        _disable_telemetry()
        with self._lock, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            output = self._pipeline(
                {"waveform": waveform, "sample_rate": SAMPLE_RATE, "uri": "call"},
                hook=pyannote_hook(hook),
                **speakers,
            )
        _log_warnings(caught)
        annotation = getattr(output, "speaker_diarization", output)
        tracks = ((seg.start, seg.end, str(label)) for seg, _, label in annotation.itertracks(True))
        turns = relabel_turns(tracks, audio.duration)
        return Diarization("pyannote", turns, (self.model_info,), options)

    def _options(
        self, num_speakers: int | None, min_speakers: int, max_speakers: int
    ) -> dict[str, Any]:
        pipeline = self._pipeline
        return {
            "num_speakers": num_speakers,
            "min_speakers": min_speakers,
            "max_speakers": max_speakers,
            "clustering": str(pipeline.klustering),
            "segmentation_step": float(pipeline.segmentation_step),
            "embedding_exclude_overlap": bool(pipeline.embedding_exclude_overlap),
            "params": _plain(pipeline.parameters(instantiated=True)),
        }


def _looks_like_hub_id(source: str) -> bool:
    return source.count("/") == 1 and not source.startswith((".", "/", "~"))


def _load_pipeline(directory: Path, files: tuple[Path, ...]) -> Any:
    """``Pipeline.from_pretrained(directory)``; a failure names the file that cannot be read."""
    _disable_telemetry()
    from pyannote.audio import Pipeline

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pipeline = Pipeline.from_pretrained(directory)
        _log_warnings(caught)
    except Exception as e:  # torch/pickle/zip/yaml/lightning errors all mean "cannot load"
        culprit = _unreadable_file(files) or directory / CONFIG_FILE
        raise _unavailable(
            directory, f"{culprit} cannot be loaded ({type(e).__name__}: {e})"
        ) from e
    if pipeline is None:
        raise _unavailable(directory, f"{directory} did not yield a pipeline")
    return pipeline


def _unreadable_file(files: tuple[Path, ...]) -> Path | None:
    """Load each part on its own to find which file broke ``Pipeline.from_pretrained``."""
    from pyannote.audio import Model
    from pyannote.audio.core.plda import PLDA

    for path in files:
        if path.name == MODEL_FILE:
            try:
                Model.from_pretrained(path)
            except Exception:
                return path
    plda_files = [path for path in files if path.name in PLDA_FILES]
    for path, keys in zip(
        plda_files, (("mean1", "mean2", "lda"), ("mu", "tr", "psi")), strict=False
    ):
        if not _npz_has(path, keys):
            return path
    if len(plda_files) == 2:
        try:
            PLDA(plda_files[0], plda_files[1])
        except Exception:
            return plda_files[1]
    return None


def _npz_has(path: Path, keys: tuple[str, ...]) -> bool:
    import numpy as np

    try:
        with np.load(path) as arrays:
            return all(arrays[key].size > 0 for key in keys)
    except Exception:
        return False


def pyannote_hook(hook: ProgressHook) -> Callable[..., None]:
    """Adapt our hook to pyannote's ``hook(step, artifact, file=, total=, completed=)``."""

    def adapter(
        step_name: str,
        step_artifact: object | None = None,
        file: object | None = None,
        total: int | None = None,
        completed: int | None = None,
    ) -> None:
        total = int(total) if total is not None else None
        done = int(completed) if completed is not None else None
        if done is not None and total is not None:
            done = min(done, total)  # pyannote overshoots on its last batch
        hook(f"diarize/{step_name}", step_artifact, total=total, completed=done)

    return adapter


def relabel_turns(
    tracks: Iterable[tuple[float, float, str]], duration: float
) -> tuple[SpeakerTurn, ...]:
    """Clip turns to ``[0, duration]``, sort them and rename speakers by first appearance."""
    clipped = sorted(
        (max(0.0, round(start, 3)), min(duration, round(end, 3)), label)
        for start, end, label in tracks
    )
    names: dict[str, str] = {}
    turns = []
    for start, end, label in clipped:
        if end <= start:
            continue
        speaker = names.setdefault(label, f"SPEAKER_{len(names):02d}")
        turns.append(SpeakerTurn(start, end, speaker))
    return tuple(sorted(turns, key=lambda t: (t.start, t.end, t.speaker)))


def _plain(value: object) -> Any:
    """Nested mappings of numbers as plain JSON-ready Python values."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, bool | int | str) or value is None:
        return value
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)


def _log_warnings(caught: list[warnings.WarningMessage]) -> None:
    """Warnings from pyannote's pipelines (e.g. speaker count out of bounds) as log records."""
    seen: set[str] = set()
    for message in caught:
        text = " ".join(str(message.message).split())
        if text in seen:
            continue
        seen.add(text)
        from_pipeline = "pyannote/audio/pipelines" in message.filename.replace(os.sep, "/")
        logger.log(logging.WARNING if from_pipeline else logging.DEBUG, "pyannote: %s", text)


def pyannote_status(directory: Path | None) -> ModelStatus:
    """One ``callqa models`` line: whether the pipeline directory is complete, else what to get."""
    name = "pyannote-community-1"
    if directory is None:
        return ModelStatus("diarize", name, False, "", _remedy(None))
    try:
        pipeline_files(directory)
    except ModelUnavailableError as e:
        return ModelStatus("diarize", name, False, "", e.remedy)
    return ModelStatus(
        "diarize", name, True, f"directory {directory}", "pyannote.audio SpeakerDiarization"
    )
