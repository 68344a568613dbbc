"""The evaluation corpus: its calls in order (see ``corpus_types`` for what a call holds and the
splits; one module per company: ``corpus_harbor``, ``corpus_brightline``, ``corpus_alder``)."""

from __future__ import annotations

from corpus_alder import A1, A2, A3, A4, A5
from corpus_brightline import B1, B2, B3, B4, B5
from corpus_harbor import H1, H2, H3, H4, H5, H6
from corpus_types import PIPER, SPLITS, Call, Condition, Line, Pii, Summary, Voice, accent_group

__all__ = [
    "CALLS",
    "PIPER",
    "SPLITS",
    "Call",
    "Condition",
    "Line",
    "Pii",
    "Summary",
    "Voice",
    "accent_group",
]

# the product-term calls come last: piper draws from one seeded generator in call order, so the
# calls before them sound exactly as they did
CALLS = (H1, H2, H3, H4, H5, B1, B2, B3, B4, A1, A2, A3, A4, H6, B5, A5)
