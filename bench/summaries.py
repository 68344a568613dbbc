"""Summaries re-made from an accuracy run's stored records, scored against the corpus references.

``bench/accuracy.py --name RUN`` keeps each corpus call's record in ``var/accuracy/RUN``; its
segments (redacted, with translations) are exactly what the summary stage reads. This script
summarizes them again with ``EmbeddingSummarizer`` and options given as ``name=value``, and
scores ROUGE-L of the summary and of the reason, and the outcome (bench/accuracy_metrics.py
``score_summary``), per split. It is how ``SummaryOptions`` were tuned without transcribing
again: tune on the tuning split (the default) and look at the held-out split once (``--all``).

    .venv/bin/python bench/summaries.py RUN [--all] [-v] [reason_span=0.4 item_min=0.4 ...]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.accuracy_metrics import Counts, score_summary  # noqa: E402
from bench.overrides import with_overrides  # noqa: E402
from models.text_embedding import SentenceEmbedder  # noqa: E402
from pipelines.analytics.summary import EmbeddingSummarizer, SummaryOptions  # noqa: E402
from pipelines.record.schema import segment_from_dict  # noqa: E402

logger = logging.getLogger("bench.summaries")
CORPUS = ROOT / "var" / "corpus"


def options_from(pairs: list[str]) -> SummaryOptions:
    """``SummaryOptions`` with ``name=value`` overrides."""
    return with_overrides(SummaryOptions(), pairs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="the accuracy run's name (var/accuracy/RUN)")
    parser.add_argument("--all", action="store_true", help="the held-out split too")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("options", nargs="*", help="SummaryOptions overrides: name=value")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    summarizer = EmbeddingSummarizer(SentenceEmbedder(threads=1), options_from(args.options))
    run = ROOT / "var" / "accuracy" / args.run
    per_split: dict[str, Counts] = {}
    for path in sorted(CORPUS.glob("*.json")):
        label = json.loads(path.read_text(encoding="utf-8"))
        stored = run / f"{label.get('id')}.json"
        if not label.get("summary") or not stored.exists():
            continue
        if label["split"] != "tuning" and not args.all:
            continue
        record = json.loads(stored.read_text(encoding="utf-8"))
        segments = tuple(segment_from_dict(s) for s in record["segments"])
        record["summary"] = summarizer.summarize(segments).to_dict()
        detail: dict[str, object] = {}
        score_summary(per_split.setdefault(label["split"], Counts()), detail, label, record)
        if args.verbose:
            logger.info("%s %s", label["id"], detail)
    for split, counts in sorted(per_split.items()):
        figures = {
            name: counts.ratio(numerator, "summary_calls")
            for name, numerator in (
                ("summary ROUGE-L", "rouge_l_sum"),
                ("reason ROUGE-L", "reason_rouge_l_sum"),
                ("outcome", "outcome_right"),
            )
        }
        shown = ", ".join(f"{k} {v:.3f}" for k, v in figures.items() if v is not None)
        logger.info("%s (%d calls): %s", split, counts.values.get("summary_calls", 0), shown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
