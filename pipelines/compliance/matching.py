"""Matching spoken text against script lines: normalisation, fuzzy similarity, windows.

Used by ``pipelines.compliance.checker``; see its docstring for how scores combine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Protocol

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz
from rapidfuzz.process import cdist

from pipelines.core.types import Evidence, ModelInfo, Role, Segment

Embeddings = npt.NDArray[np.float32]
_PUNCT = re.compile(r"[^\w\s]+")
_SENTENCE = re.compile(r"[^.!?;]+[.!?;]*")
_CONTRACTIONS = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"\bcan't\b", "cannot"),
        (r"\bwon't\b", "will not"),
        (r"\blet's\b", "let us"),
        (r"n't\b", " not"),
        (r"'re\b", " are"),
        (r"'m\b", " am"),
        (r"'ll\b", " will"),
        (r"'ve\b", " have"),
        (r"'d\b", " would"),
        (r"\b(that|it|what|there|here|he|she|who)'s\b", r"\1 is"),
    )
)


class TextEncoder(Protocol):
    """Sentence embeddings (``models.text_embedding.SentenceEmbedder``)."""

    @property
    def info(self) -> ModelInfo: ...

    def encode(self, texts: Sequence[str], *, cache: bool = False) -> Embeddings: ...


@dataclass(frozen=True, slots=True)
class Window:
    """A stretch of one role's speech; ``parts`` are its pieces per segment (score 0)."""

    text: str
    start: float
    end: float
    role: Role
    parts: tuple[Evidence, ...]


def normalize(text: str) -> str:
    """Casefolded words without punctuation, contractions spelled out ("that's" -> "that is")."""
    text = text.casefold().replace("’", "'")
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return " ".join(_PUNCT.sub(" ", text.replace("'", "")).split())


def fuzzy_similarity(phrase: str, text: str, floor: float = 0.5) -> float:
    """How well ``phrase`` appears in ``text`` despite misspellings, 0-1 (normalised inputs)."""
    if not phrase or not text:
        return 0.0
    if len(text) <= len(phrase):
        raw = fuzz.ratio(phrase, text)
    else:
        aligned = fuzz.partial_ratio_alignment(phrase, text)
        assert aligned is not None
        a, b = aligned.dest_start, aligned.dest_end
        while a < b and text[a] == " ":
            a += 1
        while b > a and text[b - 1] == " ":
            b -= 1
        a = text.rfind(" ", 0, a) + 1  # snap the alignment to whole words
        b = len(text) if (space := text.find(" ", b)) < 0 else space
        raw = min(aligned.score, fuzz.ratio(phrase, text[a:b]))
    return max(0.0, (raw / 100 - floor) / (1 - floor))


# letters an 8 kHz line and whisper confuse, folded onto one: voiced/unvoiced pairs, c/k/q/g,
# m/n; vowels, h, w and y drop out
_SOUNDS = str.maketrans("cgqdbvzmx", "kkktpfsnk")


def sound_skeleton(text: str) -> str:
    """A rough phonetic key of squashed text: confusable consonants folded, vowels gone, doubled
    letters single ("the post go to" -> "tpstktt" holds "postcode" -> "pstkt")."""
    out: list[str] = []
    for word in normalize(text).split():
        word = word.replace("ph", "f").replace("ck", "k").translate(_SOUNDS)
        out.append("".join(ch for ch in word if ch not in "aeiouhwy"))
    squashed = "".join(out)
    return "".join(ch for i, ch in enumerate(squashed) if i == 0 or ch != squashed[i - 1])


def has_keyword(text: str, keywords: Sequence[str], ratio: float) -> bool:
    """Whether ``text`` holds one of ``keywords``: as written, spelled a letter or two off, or
    (5+ letters) sounding alike once confusable consonants are folded (`sound_skeleton`)."""
    if not keywords:
        return True
    squashed = normalize(text).replace(" ", "")
    skeleton = sound_skeleton(text)
    for keyword in keywords:
        key = normalize(keyword).replace(" ", "")
        if key in squashed or (len(key) >= 5 and fuzz.partial_ratio(key, squashed) >= ratio * 100):
            return True
        sound = sound_skeleton(keyword)
        if len(key) >= 5 and len(sound) >= 4 and sound in skeleton:
            return True
    return False


def _sentences(seg: Segment) -> list[Evidence]:
    """The sentences of a segment with times interpolated by character position."""
    text = seg.text
    spans = [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.group().strip()]
    scale = (seg.end - seg.start) / max(len(text), 1)
    return [
        Evidence(seg.id, seg.start + a * scale, seg.start + b * scale, text[a:b].strip(), 0.0)
        for a, b in spans
    ]


def _window(parts: Sequence[Evidence], role: Role) -> Window:
    text = " ".join(p.text for p in parts)
    return Window(text, parts[0].start, parts[-1].end, role, tuple(parts))


def candidate_windows(segments: Iterable[Segment], join_gap_s: float = 2.0) -> tuple[Window, ...]:
    """Every window a phrase is compared with, in time order of their segments."""
    segs = sorted((s for s in segments if s.text.strip()), key=lambda s: (s.start, s.end))
    out: list[Window] = []
    sentences: list[list[Evidence]] = []
    previous: dict[Role, int] = {}
    for k, seg in enumerate(segs):
        whole = Evidence(seg.id, seg.start, seg.end, seg.text.strip(), 0.0)
        sents = _sentences(seg) or [whole]
        sentences.append(sents)
        if len(sents) <= 2:  # longer segments are covered by their sentence pairs
            out.append(_window([whole], seg.role))
        if len(sents) > 1:
            out += [_window([s], seg.role) for s in sents]
        if len(sents) > 2:
            out += [_window(pair, seg.role) for pair in pairwise(sents)]
        j = previous.get(seg.role)
        if j is not None and seg.start - segs[j].end <= join_gap_s:
            out.append(_window([sentences[j][-1], sents[0]], seg.role))
        previous[seg.role] = k
    return tuple(out)


def similarity_matrix(
    texts: Sequence[str],
    phrases: Sequence[str],
    embedder: TextEncoder | None,
    floor: float = 0.5,
    eligible: npt.NDArray[np.bool_] | None = None,
) -> npt.NDArray[np.float64]:
    """Scores ``(len(texts), len(phrases))``: max(fuzzy, cosine); -1 where not ``eligible``."""
    shape = (len(texts), len(phrases))
    if not texts or not phrases:
        return np.full(shape, -1.0)
    if embedder is not None:
        phrase_vectors = embedder.encode(phrases, cache=True)
        scores = (embedder.encode(texts) @ phrase_vectors.T).astype(np.float64)
    else:
        scores = np.zeros(shape)
    norm_texts = [normalize(t) for t in texts]
    norm_phrases = [normalize(p) for p in phrases]
    upper = cdist(norm_texts, norm_phrases, scorer=fuzz.partial_ratio) / 100
    upper = np.maximum(0.0, (upper - floor) / (1 - floor))  # fuzzy <= this bound
    mask = eligible if eligible is not None else np.ones(shape, dtype=bool)
    for i, j in zip(*np.nonzero(mask & (upper > scores)), strict=True):
        fuzzy = fuzzy_similarity(norm_phrases[j], norm_texts[i], floor)
        scores[i, j] = max(scores[i, j], fuzzy)
    return np.where(mask, np.clip(scores, -1.0, 1.0), -1.0)
