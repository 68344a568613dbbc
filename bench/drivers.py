"""Call drivers re-discovered offline from the driver set's records: how the driver text and
``DriverOptions`` were chosen without serving the calls again.

``--analyze`` first runs ``callqa analyze`` (the batch path as users run it, each call with its
label's layout and its company's policy and vocabulary) on the driver set's calls
(``make corpus``: var/corpus/drivers) that have no record in ``var/drivers/records`` yet. Then,
from those records, it prints

- the separation of what the calls' drivers are judged on (``api.jobs.insights.reason_context``:
  the summary's reason with the caller's next turns, MiniLM; a call without a reason has none):
  mean cosine similarity of two calls of one driver and of two calls of different drivers, the
  95th percentile of the latter, and the share of (same, different) pairs ranked right (AUC);
- the drivers the store's rule (``pipelines.analytics.drivers.place``) forms when the calls
  arrive one by one in label order: drivers found, calls placed, purity, members.

By default only the tuning drivers (late delivery, damaged on arrival) are read; ``--all`` adds
the held-out ones (double charge, discount code): look at those once, after choosing.
``bench/insights.py`` measures the product as served, with the main corpus's calls mixed in.

    .venv/bin/python bench/drivers.py [--analyze] [--all] [-v] [join=0.35 link=0.4 ...]
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.jobs.insights import reason_context  # noqa: E402
from bench.insights import driver_set_figures  # noqa: E402
from bench.overrides import with_overrides  # noqa: E402
from pipelines.analytics.drivers import (  # noqa: E402
    DriverOptions,
    Matrix,
    joined_centroid,
    place,
)

logger = logging.getLogger("bench.drivers")
DRIVER_SET = ROOT / "var" / "corpus" / "drivers"
RECORDS = ROOT / "var" / "drivers" / "records"
TUNING = ("late-delivery", "damaged-on-arrival")
CALLQA = str(Path(sys.executable).with_name("callqa"))


def options_from(pairs: list[str]) -> DriverOptions:
    """``DriverOptions`` with ``name=value`` overrides."""
    return with_overrides(DriverOptions(), pairs)


def driver_labels(with_held_out: bool) -> list[dict[str, Any]]:
    labels = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(DRIVER_SET.glob("*.json"))]
    return [lb for lb in labels if with_held_out or lb.get("driver") in TUNING]


def analyze(labels: list[dict[str, Any]]) -> None:
    """``callqa analyze`` each call without a record yet, as its label says it was recorded."""
    RECORDS.mkdir(parents=True, exist_ok=True)
    for label in labels:
        out = RECORDS / f"{label['id']}.json"
        if out.exists():
            continue
        company = label["company"]
        command = [
            CALLQA, "analyze", str(DRIVER_SET / f"{label['id']}.wav"), "--json", "--out", str(out),
            "--layout", label.get("layout") or "stereo-agent-left",
            "--policy", str(ROOT / f"samples/corpus/policies/{company}.yaml"),
            "--vocabulary", str(ROOT / f"samples/corpus/vocabulary/{company}.yaml"),
        ]  # fmt: skip
        logger.info("analyzing %s", label["id"])
        subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


def separation(vectors: Matrix, refs: list[str]) -> dict[str, float]:
    """Mean similarity within and across drivers, the 95th percentile across, and the AUC."""
    sims = vectors @ vectors.T
    pairs = list(itertools.combinations(range(len(refs)), 2))
    same = [float(sims[i, j]) for i, j in pairs if refs[i] == refs[j]]
    other = [float(sims[i, j]) for i, j in pairs if refs[i] != refs[j]]
    if not same or not other:
        return {}
    auc = float(np.mean([a > b for a in same for b in other]))
    return {
        "same": round(float(np.mean(same)), 3),
        "different": round(float(np.mean(other)), 3),
        "different_p95": round(float(np.percentile(other, 95)), 3),
        "auc": round(auc, 3),
    }


def arrive(vectors: Matrix, options: DriverOptions) -> list[int | None]:
    """Each call's driver (index) when the calls arrive in order, as the store places them."""
    driver_of: list[int | None] = [None] * len(vectors)
    centroids: list[Matrix] = []
    sizes: list[int] = []
    for row, vector in enumerate(vectors):
        pool = [i for i in range(row) if driver_of[i] is None]
        placement = place(
            vector,
            np.array(centroids, dtype=np.float64),
            vectors[pool] if pool else np.empty((0, vectors.shape[1])),
            options,
        )
        if placement.joined is not None:
            index = placement.joined
            centroids[index] = joined_centroid(centroids[index], sizes[index], vector)
            sizes[index] += 1
            driver_of[row] = index
        elif placement.founded:
            members = [row if i == 0 else pool[i - 1] for i in placement.founded]
            mean = vectors[members].mean(axis=0)
            centroids.append(mean / np.linalg.norm(mean))
            sizes.append(len(members))
            for member in members:
                driver_of[member] = len(centroids) - 1
    return driver_of


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--analyze", action="store_true", help="make the missing records first")
    parser.add_argument("--all", action="store_true", help="the held-out drivers too")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each call's text")
    parser.add_argument("options", nargs="*", help="DriverOptions overrides: name=value")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    labels = driver_labels(args.all)
    if args.analyze:
        analyze(labels)
    from models.text_embedding import SentenceEmbedder

    stored = [lb for lb in labels if (RECORDS / f"{lb['id']}.json").exists()]
    said = {
        str(lb["id"]): reason_context(json.loads((RECORDS / f"{lb['id']}.json").read_text()))
        for lb in stored
    }
    found = [lb for lb in stored if said[str(lb["id"])]]
    texts = [str(said[str(lb["id"])]) for lb in found]
    refs = [str(lb["driver"]) for lb in found]
    embedded = np.asarray(SentenceEmbedder(threads=2).encode(texts), dtype=np.float64)
    vectors = embedded / np.maximum(np.linalg.norm(embedded, axis=1, keepdims=True), 1e-12)
    options = options_from(args.options)
    placed = arrive(vectors, options)
    ids = [str(lb["id"]) for lb in found]
    figures = driver_set_figures(
        dict(zip(ids, refs, strict=True)),
        {i: (f"d{p + 1}" if p is not None else None) for i, p in zip(ids, placed, strict=True)},
        set(ids),
    )
    logger.info(
        "%d calls with a reason of %d (%s), %s",
        len(found), len(stored), ", ".join(sorted(set(refs))), options,
    )  # fmt: skip
    logger.info("separation: %s", separation(vectors, refs))
    logger.info("arrival: %s", figures)
    for index in sorted({p for p in placed if p is not None}):
        members = Counter(r for r, p in zip(refs, placed, strict=True) if p == index)
        logger.info("  d%d: %s", index + 1, dict(members))
    if args.verbose:
        for ref, text in zip(refs, texts, strict=True):
            logger.info("  %-20s %s", ref, text[:160])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
