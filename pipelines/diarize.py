"""Diarization stage: the protocol every diarizer implements."""

from __future__ import annotations

from typing import Protocol

from pipelines.types import Audio, Diarization, ProgressHook, no_progress


class Diarizer(Protocol):
    """Finds who spoke when in one channel of 16 kHz audio.

    Speaker labels are ``SPEAKER_00``, ``SPEAKER_01``, ... in order of first appearance.
    Overlapping turns of different speakers mean both spoke at once.
    """

    @property
    def name(self) -> str: ...

    def diarize(
        self,
        audio: Audio,
        *,
        num_speakers: int | None = None,
        min_speakers: int = 1,
        max_speakers: int = 8,
        hook: ProgressHook = no_progress,
    ) -> Diarization: ...
