"""The reference clips in tests/data (real recordings with reference transcripts)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "tests" / "data"


@dataclass(frozen=True, slots=True)
class Clip:
    path: Path
    language: str
    sample_rate: int
    channels: int
    reference: str


def manifest(data_dir: Path = DATA_DIR) -> list[Clip]:
    """Clips with a plain reference transcript (not emotion or RTTM annotations)."""
    clips = []
    with (data_dir / "MANIFEST.tsv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            path = data_dir / row["file"]
            if "*" in row["file"] or not path.is_file() or row["channels"] != "1":
                continue
            if row["reference"].startswith("speaker turns"):
                continue
            clips.append(Clip(path, row["language"], int(row["sample_rate"]), 1, row["reference"]))
    return clips
