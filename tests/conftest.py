"""Shared fixtures: real clips from tests/data and real models loaded once per session."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pipelines.pipeline import CallPipeline  # noqa: E402
from pipelines.registry import build_pipeline  # noqa: E402
from pipelines.settings import Settings  # noqa: E402


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def base_pipeline(settings: Settings) -> CallPipeline:
    """The default pipeline: whisper base (multilingual), loaded once."""
    return build_pipeline(settings)
