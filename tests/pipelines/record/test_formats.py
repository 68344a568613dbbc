"""Record -> WebVTT / SubRip / text / RTTM: labels, times and escaping (pure functions)."""

from __future__ import annotations

from typing import Any

from pipelines.record.formats import speaker_labels, timestamp, to_rttm, to_srt, to_text, to_vtt


def segment(start: float, end: float, speaker: str | None, role: str, text: str) -> dict[str, Any]:
    return {"start": start, "end": end, "speaker": speaker, "role": role, "text": text}


RECORD: dict[str, Any] = {
    "id": "0123456789abcdef0123456789abcdef",
    "participants": [
        {"speaker": "S0", "role": "agent"},
        {"speaker": "S1", "role": "agent"},
        {"speaker": "S2", "role": "customer"},
    ],
    "segments": [
        segment(2.0, 1.0, "S2", "customer", "ends before it starts"),
        segment(0.0, 0.5, "S0", "agent", "  hello\n\nthere  "),
        segment(0.6, 0.9, "S1", "agent", "second agent"),
        segment(1.0, 1.5, "S3", "unknown", "who?"),
        segment(1.5, 1.6, None, "unknown", "   "),
    ],
    "diarization": None,
}


def test_labels_name_roles_and_speakers_when_needed() -> None:
    labels = speaker_labels(RECORD)
    assert labels == {"S0": "Agent (S0)", "S1": "Agent (S1)", "S2": "Customer", "S3": "S3",
                      None: "Speaker"}  # fmt: skip


def test_times_round_to_milliseconds_and_grow_past_99_hours() -> None:
    assert timestamp(0.0016) == "00:00:00.002" and timestamp(-1) == "00:00:00.000"
    assert timestamp(3599.9996, ",") == "01:00:00,000"
    assert timestamp(100 * 3600 + 61.25) == "100:01:01.250"


def test_each_format_keeps_one_line_per_cue_in_time_order() -> None:
    vtt = to_vtt(RECORD).splitlines()
    assert vtt[:5] == [
        "WEBVTT",
        "",
        "1",
        "00:00:00.000 --> 00:00:00.500",
        "<v Agent (S0)>hello there",
    ]
    assert "<v S3>who?" in vtt and "00:00:02.000 --> 00:00:02.000" in vtt  # end clamped
    srt = to_srt(RECORD)
    assert srt.count("\n\n") == 3 and "Agent (S1): second agent" in srt
    assert (
        to_text(RECORD).splitlines()[-1]
        == "[00:00:02.000 - 00:00:02.000] Customer: ends before it starts"
    )


def test_rttm_falls_back_to_segments_without_diarization() -> None:
    lines = to_rttm(RECORD).splitlines()
    assert (
        lines[0] == "SPEAKER 0123456789abcdef0123456789abcdef 1 0.000 0.500 <NA> <NA> S0 <NA> <NA>"
    )
    assert [line.split()[7] for line in lines] == ["S0", "S1", "S3", "unknown"]
    with_turns = {**RECORD, "diarization": {"method": "x", "turns": [
        {"start": 1.0, "end": 2.5, "speaker": "A B"}]}}  # fmt: skip
    assert to_rttm(with_turns) == f"SPEAKER {RECORD['id']} 1 1.000 1.500 <NA> <NA> A_B <NA> <NA>\n"
