"""Fixtures of the PII room's tests."""

from __future__ import annotations

import pytest

from pipelines.pii.redactor import PatternPiiRedactor, default_redactor


@pytest.fixture(scope="module")
def redactor() -> PatternPiiRedactor:
    """The redactor the pipeline uses, with its default options."""
    return default_redactor()
