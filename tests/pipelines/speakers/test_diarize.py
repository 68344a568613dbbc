"""Mono diarization on real audio with the real models (GE2E from resemblyzer, Silero VAD).

DER bounds are a little above what was measured (bench/diarization.py), so a regression fails:
sample call 0.111 (naive baseline 0.453), AMI tst00 0.651, AMI tst01 0.826 (collar 0.25 s).
"""

from __future__ import annotations

import importlib.resources
import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from pyannote.core import Annotation, Segment

from models.speaker_embedding import EMBEDDING_DIM, SpeakerEmbedder
from models.vad import SileroVad, silero_info
from pipelines.core.errors import ModelUnavailableError
from pipelines.core.types import Audio, Diarization, SpeakerTurn
from pipelines.speakers.clustering import ClusteringDiarizer
from pipelines.speakers.diarizer import Diarizer, NaiveDiarizer, ordered_turns, speech_windows
from pipelines.speakers.rttm import (
    annotation_to_turns,
    der,
    diarization_to_annotation,
    read_rttm,
    read_uem,
    write_rttm,
)

pytestmark = pytest.mark.slow

SAMPLE = importlib.resources.files("pyannote.audio") / "sample"


def _audio(path: Path, channel: int | None = 0) -> Audio:
    samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    mono = samples.mean(axis=1) if channel is None else samples[:, channel]
    return Audio(np.ascontiguousarray(mono, dtype=np.float32), int(rate))


@pytest.fixture(scope="module")
def embedder() -> SpeakerEmbedder:
    return SpeakerEmbedder()


@pytest.fixture(scope="module")
def ours(embedder: SpeakerEmbedder) -> ClusteringDiarizer:
    return ClusteringDiarizer(embedder=embedder)


@pytest.fixture(scope="module")
def sample_audio() -> Audio:
    return _audio(Path(str(SAMPLE / "sample.wav")))


@pytest.fixture(scope="module")
def sample_reference() -> Annotation:
    return read_rttm(Path(str(SAMPLE / "sample.rttm")))["sample"]


@pytest.fixture(scope="module")
def sample_result(ours: ClusteringDiarizer, sample_audio: Audio) -> Diarization:
    return ours.diarize(sample_audio)


def test_embedder_shapes_and_info(embedder: SpeakerEmbedder, sample_audio: Audio) -> None:
    windows = [(10.0, 11.5), (10.25, 11.75), (20.0, 24.0), (29.5, 30.5)]
    embeddings = embedder.embed_windows(sample_audio.samples, windows)
    assert embeddings.shape == (4, EMBEDDING_DIM)
    assert embeddings.dtype == np.float32
    assert np.allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-4)
    assert float(embeddings[0] @ embeddings[1]) > 0.9  # overlapping windows of one speaker
    assert embedder.embed_windows(sample_audio.samples, []).shape == (0, EMBEDDING_DIM)
    assert embedder.info.stage == "diarize"
    assert len(embedder.info.sha256) == 64


def test_sample_call_der_beats_naive_baseline(
    embedder: SpeakerEmbedder,
    sample_audio: Audio,
    sample_reference: Annotation,
    sample_result: Diarization,
) -> None:
    naive = NaiveDiarizer(embedder, SileroVad(), silero_info()).diarize(sample_audio)
    ours_der = der(sample_reference, diarization_to_annotation(sample_result, "sample"), 0.25)
    naive_der = der(sample_reference, diarization_to_annotation(naive, "sample"), 0.25)
    assert ours_der <= 0.15
    assert ours_der < 0.5 * naive_der
    assert naive.method == "naive-baseline"


def test_sample_call_has_two_speakers(sample_result: Diarization) -> None:
    assert sample_result.speakers == ("SPEAKER_00", "SPEAKER_01")
    assert sample_result.options["estimated_speakers"] == 2
    assert sample_result.method == "callqa-cluster"
    assert [m.name for m in sample_result.models] == ["resemblyzer-ge2e", "silero-vad-v6"]


def test_labels_in_order_of_first_appearance(sample_result: Diarization) -> None:
    first_seen: list[str] = []
    for turn in sorted(sample_result.turns, key=lambda t: t.start):
        if turn.speaker not in first_seen:
            first_seen.append(turn.speaker)
    assert first_seen == [f"SPEAKER_{i:02d}" for i in range(len(first_seen))]
    assert ordered_turns([(2.0, 3.0, 7), (0.0, 1.0, 3), (1.0, 2.0, 7)]) == (
        SpeakerTurn(0.0, 1.0, "SPEAKER_00"),
        SpeakerTurn(1.0, 2.0, "SPEAKER_01"),
        SpeakerTurn(2.0, 3.0, "SPEAKER_01"),
    )


@pytest.mark.parametrize(("name", "bound"), [("ami-tst00", 0.70), ("ami-tst01", 0.87)])
def test_ami_meeting_der_bound(
    ours: ClusteringDiarizer, data_dir: Path, name: str, bound: float
) -> None:
    reference = read_rttm(data_dir / "meeting" / "ami.rttm")[name]
    uem = read_uem(data_dir / "meeting" / "ami.uem")[name]
    result = ours.diarize(_audio(data_dir / "meeting" / f"{name}.wav"))
    value = der(reference, diarization_to_annotation(result, name), 0.25, uem)
    assert value <= bound, f"{name}: DER {value:.3f}, {len(result.speakers)} speakers (4 true)"


@pytest.mark.parametrize(
    ("path", "channel"),
    [
        ("en/librispeech-1995-1837-0001.wav", 0),
        ("telephony/en_queue-periodic-announce.wav", 0),
        ("stereo/two-speakers-stereo.wav", 0),
    ],
)
def test_one_speaker_clip_gives_one_speaker(
    ours: ClusteringDiarizer, data_dir: Path, path: str, channel: int
) -> None:
    audio = _audio(data_dir / path, channel)
    if audio.sample_rate != 16000:
        import soxr

        audio = Audio(soxr.resample(audio.samples, audio.sample_rate, 16000), 16000)
    result = ours.diarize(audio)
    assert result.speakers == ("SPEAKER_00",)


def test_long_call_keeps_its_two_speakers(ours: ClusteringDiarizer, sample_audio: Audio) -> None:
    """Ten minutes (the sample call repeated): stray clusters grow with length, speakers don't."""
    long_call = Audio(np.tile(sample_audio.samples, 20), 16000)
    result = ours.diarize(long_call)
    assert result.speakers == ("SPEAKER_00", "SPEAKER_01")
    assert result.turns[-1].end == pytest.approx(600.0, abs=0.1)


def test_missing_resemblyzer_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelUnavailableError, match=r"pip install resemblyzer==0\.1\.4"):
        SpeakerEmbedder()


def test_stereo_downmix_finds_both_speakers(ours: ClusteringDiarizer, data_dir: Path) -> None:
    result = ours.diarize(_audio(data_dir / "stereo" / "two-speakers-stereo.wav", None))
    assert len(result.speakers) == 2


@pytest.mark.parametrize(
    "samples",
    [
        np.zeros(0, dtype=np.float32),
        np.zeros(800, dtype=np.float32),
        np.zeros(16000 * 5, dtype=np.float32),
        (np.random.default_rng(0).standard_normal(16000 * 2) * 1e-3).astype(np.float32),
    ],
    ids=["empty", "50ms", "silence", "faint-noise"],
)
def test_bad_input_gives_empty_diarization(
    ours: ClusteringDiarizer, embedder: SpeakerEmbedder, samples: np.ndarray
) -> None:
    diarizers: list[Diarizer] = [ours, NaiveDiarizer(embedder, SileroVad())]
    for diarizer in diarizers:
        result = diarizer.diarize(Audio(samples, 16000))
        assert result.turns == ()
        assert result.speakers == ()


def test_wrong_sample_rate_is_refused(ours: ClusteringDiarizer) -> None:
    with pytest.raises(ValueError, match="16000"):
        ours.diarize(Audio(np.zeros(8000, dtype=np.float32), 8000))


def test_rttm_round_trip(sample_result: Diarization, tmp_path: Path) -> None:
    path = tmp_path / "sample.rttm"
    with path.open("w", encoding="utf-8") as handle:
        write_rttm(sample_result, "sample", handle)
    loaded = read_rttm(path)["sample"]
    assert annotation_to_turns(loaded) == tuple(
        sorted(sample_result.turns, key=lambda t: (t.start, t.end, t.speaker))
    )
    assert der(diarization_to_annotation(sample_result, "sample"), loaded, 0.0) == 0.0
    buffer = io.StringIO()
    write_rttm(sample_result, "sample", buffer)
    assert buffer.getvalue().splitlines()[0].startswith("SPEAKER sample 1 ")


def test_der_scores_overlap_and_collar() -> None:
    reference = Annotation(uri="x")
    reference[Segment(0, 10), "a"] = "A"
    reference[Segment(5, 10), "b"] = "B"
    hypothesis = Annotation(uri="x")
    hypothesis[Segment(0, 10), "a"] = "S0"
    assert der(reference, hypothesis, 0.0) == pytest.approx(5 / 15)  # overlap is scored
    hypothesis[Segment(5.2, 10), "b"] = "S1"
    assert der(reference, hypothesis, 0.0) == pytest.approx(0.2 / 15)
    assert der(reference, hypothesis, 0.5) == 0.0  # +/- 0.25 s around 5.0 is not scored


def test_speech_windows_cover_regions() -> None:
    windows = speech_windows([(0.0, 3.0), (5.0, 5.4)], 10.0, 1.5, 0.25, 1.0)
    assert windows[0] == (0.0, 1.5)
    assert windows[-2][1] == pytest.approx(3.0)
    assert windows[-1] == pytest.approx((4.7, 5.7))
