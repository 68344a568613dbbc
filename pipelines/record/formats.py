"""A stored interaction record as WebVTT, SubRip, plain text and RTTM (pure functions).

Segment text is already redacted in the record; these functions only lay it out. Each line is
labelled by role (``Agent``, ``Customer``), or by speaker when the role is unknown; a role
spoken by more than one speaker also names the speaker, e.g. ``Agent (SPEAKER_02)``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MEDIA_TYPES = {
    "vtt": "text/vtt; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
    "rttm": "text/plain; charset=utf-8",
}
ROLE_NAMES = {"agent": "Agent", "customer": "Customer"}
_SPACE = re.compile(r"\s+")
_LABEL_UNSAFE = re.compile(r"[<>&\s]+")


@dataclass(frozen=True, slots=True)
class Cue:
    """One transcript line: when, who and what was said (one line of text)."""

    start: float
    end: float
    label: str
    text: str


def _seconds(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) and number > 0 else 0.0


def _millis(seconds: float) -> int:
    return round(seconds * 1000)


def timestamp(seconds: float, decimal: str = ".") -> str:
    """``HH:MM:SS.mmm`` (``decimal=","`` for SubRip); hours grow past 99 when they must."""
    total = _millis(max(seconds, 0.0))
    hours, rest = divmod(total, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{millis:03d}"


def _one_line(text: Any) -> str:
    """Text on one line: a blank line would end a cue early."""
    return _SPACE.sub(" ", str(text or "")).strip()


def speaker_labels(record: Mapping[str, Any]) -> dict[str | None, str]:
    """The label of each speaker of ``record`` (``None``: a segment without a speaker)."""
    roles: dict[str | None, str] = {}
    for item in record.get("participants") or []:
        roles.setdefault(item.get("speaker"), str(item.get("role") or "unknown"))
    for segment in record.get("segments") or []:
        roles.setdefault(segment.get("speaker"), str(segment.get("role") or "unknown"))
    per_role: dict[str, int] = {}
    for role in roles.values():
        per_role[role] = per_role.get(role, 0) + 1
    labels: dict[str | None, str] = {}
    for speaker, role in roles.items():
        name = ROLE_NAMES.get(role)
        if name is None:
            labels[speaker] = str(speaker) if speaker else "Speaker"
        elif per_role[role] > 1 and speaker:
            labels[speaker] = f"{name} ({speaker})"
        else:
            labels[speaker] = name
    return labels


def cues(record: Mapping[str, Any]) -> list[Cue]:
    """The record's segments with text, in time order, as labelled cues."""
    labels = speaker_labels(record)
    out: list[Cue] = []
    for segment in record.get("segments") or []:
        text = _one_line(segment.get("text"))
        if not text:
            continue
        start = _seconds(segment.get("start"))
        end = max(_seconds(segment.get("end")), start)
        speaker = segment.get("speaker")
        role = ROLE_NAMES.get(str(segment.get("role")))
        label = labels.get(speaker) or role or "Speaker"
        out.append(Cue(start, end, label, text))
    out.sort(key=lambda cue: (cue.start, cue.end))
    return out


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _numbered(record: Mapping[str, Any], decimal: str, line: Callable[[Cue], str]) -> list[str]:
    """Numbered cues with their times, as WebVTT and SubRip both lay them out."""
    lines: list[str] = []
    for index, cue in enumerate(cues(record), start=1):
        times = f"{timestamp(cue.start, decimal)} --> {timestamp(cue.end, decimal)}"
        lines += [str(index), times, line(cue), ""]
    return lines


def _vtt_line(cue: Cue) -> str:
    voice = _LABEL_UNSAFE.sub(" ", cue.label).strip() or "Speaker"
    return f"<v {voice}>{_vtt_escape(cue.text)}"


def to_vtt(record: Mapping[str, Any]) -> str:
    """WebVTT with a voice tag per cue (``<v Agent>``) and the text escaped."""
    return "\n".join(["WEBVTT", "", *_numbered(record, ".", _vtt_line)])


def to_srt(record: Mapping[str, Any]) -> str:
    """SubRip: numbered cues, ``HH:MM:SS,mmm`` times, ``Label: text``."""
    return "\n".join(_numbered(record, ",", lambda cue: f"{cue.label}: {cue.text}"))


def to_text(record: Mapping[str, Any]) -> str:
    """Plain text, a line per segment: ``[start - end] Label: text``."""
    return "".join(
        f"[{timestamp(cue.start)} - {timestamp(cue.end)}] {cue.label}: {cue.text}\n"
        for cue in cues(record)
    )


def _turns(record: Mapping[str, Any]) -> Iterable[tuple[float, float, str]]:
    diarization = record.get("diarization") or {}
    turns = diarization.get("turns")
    if turns is None:  # no diarization stored: the segments say who spoke when
        turns = record.get("segments") or []
    for turn in turns:
        start, end = _seconds(turn.get("start")), _seconds(turn.get("end"))
        yield start, end, _LABEL_UNSAFE.sub("_", str(turn.get("speaker") or "unknown"))


def to_rttm(record: Mapping[str, Any]) -> str:
    """NIST RTTM ``SPEAKER`` lines (file id: the call id), as ``callqa analyze --rttm``."""
    from pipelines.core.types import Diarization, SpeakerTurn
    from pipelines.speakers.rttm import rttm_lines

    method = str((record.get("diarization") or {}).get("method") or "segments")
    turns = tuple(SpeakerTurn(start, end, speaker) for start, end, speaker in _turns(record))
    uri = _LABEL_UNSAFE.sub("_", str(record.get("id") or "call"))
    return "".join(line + "\n" for line in rttm_lines(Diarization(method, turns), uri))


RENDERERS = {"vtt": to_vtt, "srt": to_srt, "txt": to_text, "rttm": to_rttm}
