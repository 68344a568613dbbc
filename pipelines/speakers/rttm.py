"""RTTM in and out, conversions to pyannote.core, and diarization error rate (pure helpers)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from pyannote.core import Annotation, Segment, Timeline

from pipelines.core.types import Diarization, SpeakerTurn


def diarization_to_annotation(d: Diarization, uri: str) -> Annotation:
    """The turns of ``d`` as a pyannote ``Annotation`` (one track per turn)."""
    annotation = Annotation(uri=uri)
    for index, turn in enumerate(d.turns):
        if turn.end > turn.start:
            annotation[Segment(turn.start, turn.end), index] = turn.speaker
    return annotation


def annotation_to_turns(annotation: Annotation) -> tuple[SpeakerTurn, ...]:
    """Speaker turns of an annotation, sorted by start time then speaker."""
    turns = [
        SpeakerTurn(float(segment.start), float(segment.end), str(label))
        for segment, _, label in annotation.itertracks(yield_label=True)
    ]
    return tuple(sorted(turns, key=lambda t: (t.start, t.end, t.speaker)))


def rttm_lines(d: Diarization, uri: str) -> Iterable[str]:
    """One ``SPEAKER`` line per turn (NIST RTTM, channel 1)."""
    for turn in sorted(d.turns, key=lambda t: (t.start, t.speaker)):
        duration = turn.end - turn.start
        if duration > 0:
            fields = f"{turn.start:.3f} {duration:.3f} <NA> <NA> {turn.speaker} <NA> <NA>"
            yield f"SPEAKER {uri} 1 {fields}"


def write_rttm(d: Diarization, uri: str, file: TextIO) -> None:
    """Write ``d`` as RTTM to an open text file."""
    for line in rttm_lines(d, uri):
        file.write(line + "\n")


def read_rttm(path: Path | str) -> dict[str, Annotation]:
    """Annotations by file id (``uri``) from an RTTM file; lines other than SPEAKER are skipped."""
    annotations: dict[str, Annotation] = {}
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields or fields[0] != "SPEAKER":
                continue
            if len(fields) < 8:
                raise ValueError(f"{path}:{number}: RTTM line has {len(fields)} fields, need 8+")
            uri, start, duration, speaker = fields[1], float(fields[3]), float(fields[4]), fields[7]
            annotation = annotations.setdefault(uri, Annotation(uri=uri))
            end = round(start + duration, 6)  # RTTM has millisecond fields: no float residue
            annotation[Segment(start, end), len(annotation)] = speaker
    return annotations


def read_uem(path: Path | str) -> dict[str, Timeline]:
    """Scored regions by file id from a UEM file (``uri channel start end`` per line)."""
    timelines: dict[str, Timeline] = {}
    with Path(path).open(encoding="utf-8") as handle:
        for line in handle:
            fields = line.split()
            if len(fields) >= 4:
                uri = fields[0]
                timeline = timelines.setdefault(uri, Timeline(uri=uri))
                timeline.add(Segment(float(fields[2]), float(fields[3])))
    return timelines


def der(
    reference: Annotation,
    hypothesis: Annotation,
    collar: float = 0.25,
    uem: Timeline | None = None,
) -> float:
    """Diarization error rate with overlapping speech scored (pyannote.metrics).

    ``collar`` is the total width of the no-score zone around each reference boundary, as in
    pyannote.metrics and NIST md-eval (0.25 means +/- 0.125 s).
    """
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=collar, skip_overlap=False)
    return float(metric(reference, hypothesis, uem=uem))
