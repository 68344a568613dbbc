"""What ``callqa models`` lists: each usable model, where it comes from, and what is missing."""

from __future__ import annotations

from pathlib import Path

from models.pyannote_diarizer import pyannote_status
from models.vad import silero_model_path
from models.whisper import ModelStatus, whisper_statuses
from pipelines.core.errors import ModelUnavailableError


def model_statuses(
    cache_dir: Path | None = None, pyannote_dir: Path | None = None
) -> list[ModelStatus]:
    """Speech recognition, VAD and diarization models: available, or what to install."""
    statuses = whisper_statuses(cache_dir)
    try:
        statuses.append(
            ModelStatus(
                "vad", "silero-vad-v6", True, "package faster-whisper", str(silero_model_path())
            )
        )
    except ModelUnavailableError as exc:
        statuses.append(ModelStatus("vad", "silero-vad-v6", False, "", exc.remedy))
    statuses.append(pyannote_status(pyannote_dir))
    return statuses
