"""Audio constants every stage shares, and the check that audio comes at that rate."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.core.types import Audio

SAMPLE_RATE = 16_000
"""The rate (Hz) audio is decoded to and every model and stage works at: whisper, Silero,
pyannote, the voice encoders, the live engine."""


def require_sample_rate(audio: Audio, user: str) -> None:
    """``ValueError`` naming ``user`` unless ``audio`` is at ``SAMPLE_RATE`` (a caller bug)."""
    if audio.sample_rate != SAMPLE_RATE:
        raise ValueError(f"{user} needs {SAMPLE_RATE} Hz audio, got {audio.sample_rate}")
