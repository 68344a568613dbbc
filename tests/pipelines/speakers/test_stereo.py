"""Stereo calls: one party per channel, leakage removed, overtalk kept and counted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pyannote.core import Annotation
from pyannote.core import Segment as Span
from pyannote.metrics.diarization import DiarizationErrorRate

from bench.stereo_calls import PLACEMENTS, two_channel_call
from pipelines.analytics.metrics import overtalk
from pipelines.batch import CallPipeline
from pipelines.core.types import SpeakerTurn
from pipelines.record.schema import InteractionRecord
from pipelines.speakers.stereo import CrosstalkOptions, leakage_mask

RATE = 16000


def annotation(turns: list[tuple[float, float, str]]) -> Annotation:
    result = Annotation()
    for start, end, speaker in turns:
        result[Span(start, end)] = speaker
    return result


def der(
    record: InteractionRecord, reference: list[tuple[float, float, str]], collar: float
) -> float:
    assert record.diarization is not None
    hypothesis = annotation([(t.start, t.end, t.speaker) for t in record.diarization.turns])
    metric = DiarizationErrorRate(collar=collar, skip_overlap=False)
    return float(metric(annotation(reference), hypothesis))


def test_leakage_mask_marks_only_quiet_copies() -> None:
    own = np.array([-20.0, -60.0, -60.0, -22.0, -70.0])
    other = np.array([-80.0, -20.0, -80.0, -20.0, -80.0])
    mask = leakage_mask(own, other, CrosstalkOptions(smooth_frames=1))
    assert mask.tolist() == [False, True, False, False, False]


def test_overtalk_seconds_counts_simultaneous_speech() -> None:
    turns = (SpeakerTurn(0, 5, "A"), SpeakerTurn(4, 8, "B"), SpeakerTurn(7.5, 9, "A"))
    assert overtalk(turns) == pytest.approx(1.5)


@pytest.mark.parametrize("leak_db", [None, -30.0, -20.0])
def test_two_channel_call_with_leakage(
    base_pipeline: CallPipeline, data_dir: Path, leak_db: float | None
) -> None:
    call, reference = two_channel_call(data_dir, PLACEMENTS, leak_db)
    record = base_pipeline.analyze(call, layout="stereo-agent-left")
    agent = " ".join(s.text for s in record.segments if s.role == "agent").casefold()
    customer = " ".join(s.text for s in record.segments if s.role == "customer").casefold()
    assert "quilter" in agent and "thereunder" not in customer and "quilter" not in customer
    assert "americans" in customer and "cotton" in customer
    assert "americans" not in agent and "cotton" not in agent
    reference_speakers = [(a, b, "SPEAKER_0" + s[-1]) for a, b, s in reference]
    assert der(record, reference_speakers, collar=0.25) <= 0.05
    true_overtalk = overtalk(tuple(SpeakerTurn(*t) for t in reference_speakers))
    assert true_overtalk > 1.0
    assert record.metrics["overtalk_s"] == pytest.approx(true_overtalk, abs=0.6)


def test_shared_stereo_clip_diarization(base_pipeline: CallPipeline, data_dir: Path) -> None:
    from pipelines.core.settings import Settings
    from pipelines.registry import analyze_file

    record = analyze_file(
        base_pipeline, data_dir / "stereo" / "two-speakers-stereo.wav", settings=Settings()
    )
    reference = [(0.0, 4.9, "SPEAKER_00"), (0.36, 2.46, "SPEAKER_01")]
    assert der(record, reference, collar=0.25) <= 0.05
