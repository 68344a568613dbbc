"""A stored interaction record as WebVTT, SubRip, plain text and RTTM (pure functions).

Segment text is already redacted in the record; these functions only lay it out. Each line is
labelled by role (``Agent``, ``Customer``), or by speaker when the role is unknown; a role
spoken by more than one speaker also names the speaker, e.g. ``Agent (SPEAKER_02)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pipelines.record.view import RecordView

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


def _seconds(value: float | None) -> float:
    return float(value) if value is not None and value > 0 else 0.0


def _millis(seconds: float) -> int:
    return round(seconds * 1000)


def timestamp(seconds: float, decimal: str = ".") -> str:
    """``HH:MM:SS.mmm`` (``decimal=","`` for SubRip); hours grow past 99 when they must."""
    total = _millis(max(seconds, 0.0))
    hours, rest = divmod(total, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{millis:03d}"


def _one_line(text: str | None) -> str:
    """Text on one line: a blank line would end a cue early."""
    return _SPACE.sub(" ", text or "").strip()


def speaker_labels(record: Mapping[str, Any]) -> dict[str | None, str]:
    """The label of each speaker of ``record`` (``None``: a segment without a speaker)."""
    return _labels(RecordView.from_dict(record))


def _labels(view: RecordView) -> dict[str | None, str]:
    roles: dict[str | None, str] = {}
    for participant in view.participants:
        roles.setdefault(participant.speaker, participant.role or "unknown")
    for segment in view.segments:
        roles.setdefault(segment.speaker, segment.role or "unknown")
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
    view = RecordView.from_dict(record)
    labels = _labels(view)
    out: list[Cue] = []
    for segment in view.segments:
        text = _one_line(segment.text)
        if not text:
            continue
        start = _seconds(segment.start)
        end = max(_seconds(segment.end), start)
        role = ROLE_NAMES.get(str(segment.role))
        label = labels.get(segment.speaker) or role or "Speaker"
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


def _turns(view: RecordView) -> Iterable[tuple[float, float, str]]:
    stored = view.diarization.turns if view.diarization else None
    # no diarization stored: the segments say who spoke when
    turns = stored if stored is not None else view.segments
    for turn in turns:
        start, end = _seconds(turn.start), _seconds(turn.end)
        yield start, end, _LABEL_UNSAFE.sub("_", turn.speaker or "unknown")


def to_rttm(record: Mapping[str, Any]) -> str:
    """NIST RTTM ``SPEAKER`` lines (file id: the call id), as ``callqa analyze --rttm``."""
    from pipelines.core.types import Diarization, SpeakerTurn
    from pipelines.speakers.rttm import rttm_lines

    view = RecordView.from_dict(record)
    method = (view.diarization.method if view.diarization else None) or "segments"
    turns = tuple(SpeakerTurn(start, end, speaker) for start, end, speaker in _turns(view))
    uri = _LABEL_UNSAFE.sub("_", view.id or "call")
    return "".join(line + "\n" for line in rttm_lines(Diarization(method, turns), uri))


RENDERERS = {"vtt": to_vtt, "srt": to_srt, "txt": to_text, "rttm": to_rttm}
