"""Text sentiment from VADER's bundled lexicon (English; other languages via translation)."""

from __future__ import annotations

import importlib.metadata
import importlib.resources
from functools import cached_property
from pathlib import Path
from typing import Any

from models.weights import file_sha256
from pipelines.core.errors import ModelUnavailableError
from pipelines.core.types import ModelInfo


class TextSentiment:
    """VADER compound polarity in [-1, 1] of a piece of English text."""

    @cached_property
    def _analyzer(self) -> Any:
        try:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
        except ImportError as exc:
            raise ModelUnavailableError("vader", "pip install vaderSentiment==3.3.2") from exc
        return SentimentIntensityAnalyzer()

    def polarity(self, text: str) -> float:
        return float(self._analyzer.polarity_scores(text)["compound"])

    @cached_property
    def info(self) -> ModelInfo:
        lexicon = Path(
            str(importlib.resources.files("vaderSentiment").joinpath("vader_lexicon.txt"))
        )
        digest = file_sha256(lexicon) if lexicon.is_file() else ""
        version = importlib.metadata.version("vaderSentiment")
        return ModelInfo("emotion", "vader-lexicon", f"vaderSentiment {version}", digest)
