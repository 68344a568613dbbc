"""Transcript accuracy: normalized word error rate (character error rate for CJK)."""

from __future__ import annotations

import re
import unicodedata
import warnings

import jiwer

CHARACTER_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "my", "yue"})
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'"})


def normalize_text(text: str, language: str = "en") -> str:
    """Case-fold, drop punctuation, unify quotes and Chinese script, squeeze spaces."""
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()
    if language in ("zh", "yue"):
        with warnings.catch_warnings():  # zhconv still imports pkg_resources
            warnings.simplefilter("ignore", UserWarning)
            import zhconv

        text = zhconv.convert(text, "zh-cn")
    text = re.sub(r"(?<=\w)'(?=\w)", "\u0000", text)
    text = "".join(
        ch if unicodedata.category(ch)[0] in "LNZ" or ch == "\u0000" else " " for ch in text
    )
    text = text.replace("\u0000", "'")
    if language in CHARACTER_LANGUAGES:
        return " ".join(ch for ch in text if not ch.isspace())
    return " ".join(text.split())


def error_rate(reference: str, hypothesis: str, language: str = "en") -> float:
    """WER on normalized words, or CER for languages written without spaces."""
    ref = normalize_text(reference, language)
    hyp = normalize_text(hypothesis, language)
    if not ref:
        return 0.0 if not hyp else 1.0
    return float(jiwer.wer(ref, hyp))
