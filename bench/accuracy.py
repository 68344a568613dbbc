"""Accuracy on the evaluation corpus (``make corpus``), through ``callqa analyze`` as users run it.

Each call of ``var/corpus`` (samples/build_corpus.py) is analyzed by ``callqa analyze --json
--translate-to en`` with its company's policy and its layout (one process per policy and layout,
as a QA team would run a batch), and its record is scored against the label
(bench/accuracy_metrics.py). Printed per call, per split (tuning, held-out, real) and per line
condition: WER, DER, role accuracy, language ID per segment, translations present and adequate,
compliance agreement per rule and per call, PII recall and false redactions, topic accuracy,
the share of each party's speech that reached the record and the summary (ROUGE-L of its text and
of its reason against the reference, outcome accuracy); then the issue's targets, per split.
A last table, "per accent group and language" (all splits), gives the WER of the customer's words
per accent group (the label's ``accent_group``) and per language of the turn within it, the WER
of every turn per language, and compliance agreement per accent group and per the language most
of the customer's words are in; ``summary.json`` holds the same figures under ``groups``.

    .venv/bin/python bench/accuracy.py [--root CHECKOUT] [--name NAME] [--reuse] [--only ID...]
        [--vocabulary]

``--root`` runs another checkout's code (``python -m api.cli`` with ``PYTHONPATH=root``) on the
same corpus, so a before/after pair comes from one script; ``--drop-policy-topics`` strips the
policies' ``topics:`` sections for checkouts older than per-policy topics. Records, RTTM and a
``summary.json`` go to ``var/accuracy/NAME``; ``--reuse`` scores records already there.
``--vocabulary`` gives each company's words (``samples/corpus/vocabulary/<company>.yaml``, when
there is one) to its ``callqa analyze`` runs (``--vocabulary FILE``: whisper's hotwords, spoken
forms in the policy's lines). With it or without, "WER on the company's terms" scores the words
of those terms in the reference (bench/accuracy_metrics.py), so both runs count the same words.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.accuracy_metrics import Counts, score_call  # noqa: E402
from pipelines.compliance.vocabulary import load_vocabulary  # noqa: E402

logger = logging.getLogger("bench.accuracy")
SPLITS = ("tuning", "held-out", "real")
VOCABULARIES = ROOT / "samples" / "corpus" / "vocabulary"
# (label, how to compute from Counts, target, higher is better)
FIGURES: tuple[tuple[str, str, str, float | None, bool], ...] = (
    ("WER en", "wer_errors.en", "wer_words.en", 0.15, False),
    ("WER en, piper voice", "wer_errors.en.piper", "wer_words.en.piper", 0.15, False),
    ("WER en, espeak voices", "wer_errors.en.espeak", "wer_words.en.espeak", 0.15, False),
    ("WER es", "wer_errors.es", "wer_words.es", None, False),
    ("WER fr", "wer_errors.fr", "wer_words.fr", None, False),
    ("WER on the company's terms", "term_errors.en", "term_words.en", None, False),
    ("DER stereo (mean)", "der_sum.stereo", "der_calls.stereo", 0.10, False),
    ("DER mono (mean)", "der_sum.mono", "der_calls.mono", 0.15, False),
    ("roles", "role_right", "role_turns", 0.98, True),
    ("language ID / segment", "lang_right", "lang_segments", 0.95, True),
    ("foreign turns translated", "translated_turns", "foreign_turns", 1.0, True),
    ("translations adequate", "adequate_turns", "foreign_turns", None, True),
    ("compliance rules", "rules_right", "rules", 0.97, True),
    ("call verdicts", "verdicts_right", "calls_scored", 1.0, True),
    ("PII recall", "pii_caught", "pii_items", 1.0, True),
    ("false redactions / word", "false_redacted", "words", 0.02, False),
    ("topics", "topic_right", "topic_calls", 0.90, True),
    ("agent speech reached", "reached_s.agent", "speech_s.agent", None, True),
    ("customer speech reached", "reached_s.customer", "speech_s.customer", None, True),
    ("customer turns present", "turns_present.customer", "turns.customer", 1.0, True),
    ("summary ROUGE-L (mean)", "rouge_l_sum", "summary_calls", None, True),
    ("reason ROUGE-L (mean)", "reason_rouge_l_sum", "summary_calls", None, True),
    ("summary outcome", "outcome_right", "summary_calls", None, True),
)


def vocabulary_file(company: str) -> Path | None:
    """The company's words (product, plan and company names), if it has a file of them."""
    path = VOCABULARIES / f"{company}.yaml"
    return path if company and path.is_file() else None


def company_terms(company: str) -> tuple[str, ...]:
    path = vocabulary_file(company)
    return load_vocabulary(path).words if path is not None else ()


def run_analyze(
    root: Path,
    corpus: Path,
    out: Path,
    labels: list[dict[str, Any]],
    drop_topics: bool,
    vocabulary: bool = False,
) -> float:
    """``callqa analyze`` per (policy, layout) group, with the company's vocabulary when asked;
    the wall time of all of them."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for label in labels:
        groups[(label["policy"], label["layout"])].append(label)
    env = os.environ | {"PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1"}
    env["PYANNOTE_METRICS_ENABLED"] = "0"
    started = time.monotonic()
    for (policy, layout), members in sorted(groups.items()):
        command = [sys.executable, "-m", "api.cli", "analyze"]
        command += [str(corpus / m["file"]) for m in members]
        command += ["--json", "--out", str(out), "--rttm", str(out), "--translate-to", "en"]
        command += ["--layout", layout]
        if policy:
            command += ["--policy", str(policy_copy(ROOT / policy, out, drop_topics))]
        words = vocabulary_file(members[0].get("company", "")) if vocabulary else None
        if words is not None:
            command += ["--vocabulary", str(words)]
        logger.info("analyze %s (%s, %s)", [m["id"] for m in members], policy or "-", layout)
        done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            logger.error("callqa analyze exit %d: %s", done.returncode, done.stderr[-2000:])
    return time.monotonic() - started


def policy_copy(policy: Path, out: Path, drop_topics: bool) -> Path:
    if not drop_topics:
        return policy
    import yaml

    body = yaml.safe_load(policy.read_text(encoding="utf-8"))
    body.pop("topics", None)
    target = out / f"policy-{policy.name}"
    target.write_text(yaml.safe_dump(body), encoding="utf-8")
    return target


def figure(counts: Counts, numerator: str, denominator: str) -> str:
    value = counts.ratio(numerator, denominator)
    if value is None:
        return "-"
    whole = counts.values.get(denominator, 0)
    if denominator.startswith(("wer_", "der_", "words", "speech_s")) or numerator.endswith("_sum"):
        return f"{value:.3f}"
    return f"{value:.3f} ({counts.values.get(numerator, 0):g}/{whole:g})"


def meets(counts: Counts, item: tuple[str, str, str, float | None, bool]) -> str:
    _, numerator, denominator, target, higher = item
    value = counts.ratio(numerator, denominator)
    if target is None or value is None:
        return ""
    ok = value >= target - 1e-9 if higher else value <= target + 1e-9
    return ("meets " if ok else "MISSES ") + ("≥" if higher else "≤") + f" {target:g}"


def _ratio(counts: Counts, numerator: str, denominator: str) -> float | None:
    value = counts.ratio(numerator, denominator)
    return None if value is None else round(value, 4)


def group_figures(counts: Counts) -> dict[str, dict[str, dict[str, Any]]]:
    """Per accent group: calls, the customer's words and their WER (and per language of the
    turn), compliance rules and agreement; per language: the calls whose customer speaks mostly
    in it and their rules and agreement, and every turn's words in it and their WER."""
    values = counts.values
    accents = sorted(
        k.removeprefix("calls.accent.") for k in values if k.startswith("calls.accent.")
    )
    languages = sorted(
        {k.split(".")[1] for k in values if k.startswith("wer_words.") and k.count(".") == 1}
        | {k.split(".")[1] for k in values if k.startswith("calls.") and k.count(".") == 1}
    )

    def rules(suffix: str) -> dict[str, Any]:
        return {
            "rules": values.get(f"rules.{suffix}", 0.0),
            "rules_right": values.get(f"rules_right.{suffix}", 0.0),
            "compliance": _ratio(counts, f"rules_right.{suffix}", f"rules.{suffix}"),
        }

    def words(suffix: str) -> dict[str, Any]:
        return {
            "words": values.get(f"wer_words.{suffix}", 0.0),
            "wer": _ratio(counts, f"wer_errors.{suffix}", f"wer_words.{suffix}"),
        }

    by_accent = {
        group: {"calls": values.get(f"calls.accent.{group}", 0.0)}
        | words(f"accent.{group}")
        | rules(f"accent.{group}")
        | {
            "languages": {
                language: words(f"{language}.accent.{group}")
                for language in languages
                if f"wer_words.{language}.accent.{group}" in values
            }
        }
        for group in accents
    }
    by_language = {
        language: {"calls": values.get(f"calls.{language}", 0.0)}
        | words(language)
        | rules(language)
        for language in languages
    }
    return {"accent": by_accent, "language": by_language}


def group_report(counts: Counts) -> list[str]:
    """The fairness table: per accent group (and language within it) and per language."""
    lines = ["", "## Per accent group and language (all splits)", ""]
    lines.append(
        "Accent group: the customer's voice (the label's accent_group), the customer's words "
        "(everyone's when roles are unknown); language: every turn in it for WER, the calls "
        "whose customer speaks mostly in it for the rules."
    )
    lines += ["", "| group | calls | words | WER | compliance rules |", "|---|---|---|---|---|"]
    figures = group_figures(counts)
    for group, row in figures["accent"].items():
        suffix = f"accent.{group}"
        lines.append(
            f"| accent {group} | {row['calls']:g} | {row['words']:g} "
            f"| {figure(counts, f'wer_errors.{suffix}', f'wer_words.{suffix}')} "
            f"| {figure(counts, f'rules_right.{suffix}', f'rules.{suffix}')} |"
        )
        for language, sub in row["languages"].items():
            key = f"{language}.accent.{group}"
            lines.append(
                f"| accent {group}, {language} turns | | {sub['words']:g} "
                f"| {figure(counts, f'wer_errors.{key}', f'wer_words.{key}')} | |"
            )
    for language, row in figures["language"].items():
        lines.append(
            f"| language {language} | {row['calls']:g} | {row['words']:g} "
            f"| {figure(counts, f'wer_errors.{language}', f'wer_words.{language}')} "
            f"| {figure(counts, f'rules_right.{language}', f'rules.{language}')} |"
        )
    return lines


def report(
    details: list[dict[str, Any]], totals: dict[str, Counts], tags: dict[str, Counts]
) -> list[str]:
    lines = ["", "## Per call", ""]
    for detail in details:
        items = [
            f"{k}={v}"
            for k, v in detail.items()
            if k not in ("id", "split") and v not in ([], None)
        ]
        lines.append(f"- {detail['id']} [{detail['split']}]: " + ", ".join(items))
    lines += ["", "## Per split", ""]
    header = "| figure | " + " | ".join(s for s in SPLITS if s in totals) + " | target |"
    lines += [header, "|" + "---|" * (header.count("|") - 1)]
    for item in FIGURES:
        name, numerator, denominator, target, higher = item
        cells = [
            f"{figure(totals[s], numerator, denominator)} {meets(totals[s], item)}".strip()
            for s in SPLITS
            if s in totals
        ]
        goal = "" if target is None else ("≥ " if higher else "≤ ") + f"{target:g}"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {goal} |")
    lines += ["", "## Per condition (all splits)", ""]
    lines.append(
        "| condition | calls | WER en | DER stereo | DER mono | customer speech reached "
        "| PII recall | rules |"
    )
    lines.append("|---|---|---|---|---|---|---|---|")
    for tag in sorted(tags):
        c = tags[tag]
        cells = [
            f"{c.values.get('calls', 0):g}",
            figure(c, "wer_errors.en", "wer_words.en"),
            figure(c, "der_sum.stereo", "der_calls.stereo"),
            figure(c, "der_sum.mono", "der_calls.mono"),
            figure(c, "reached_s.customer", "speech_s.customer"),
            figure(c, "pii_caught", "pii_items"),
            figure(c, "rules_right", "rules"),
        ]
        lines.append(f"| {tag} | " + " | ".join(cells) + " |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "var" / "corpus")
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose callqa runs")
    parser.add_argument("--name", default="current", help="results folder under var/accuracy")
    parser.add_argument("--reuse", action="store_true", help="score the records already there")
    parser.add_argument("--only", nargs="*", help="call ids (default all)")
    parser.add_argument("--drop-policy-topics", action="store_true")
    parser.add_argument(
        "--vocabulary", action="store_true", help="analyze with samples/corpus/vocabulary/*.yaml"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    labels = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(args.corpus.glob("*.json"))]
    labels = [label for label in labels if not args.only or label["id"] in args.only]
    if not labels:
        raise SystemExit(f"no calls in {args.corpus}: run `make corpus` first")
    out = ROOT / "var" / "accuracy" / args.name
    out.mkdir(parents=True, exist_ok=True)
    wall = None
    if not args.reuse:
        wall = run_analyze(
            args.root.resolve(), args.corpus, out, labels, args.drop_policy_topics, args.vocabulary
        )
    totals: dict[str, Counts] = defaultdict(Counts)
    tags: dict[str, Counts] = defaultdict(Counts)
    overall = Counts()
    details = []
    for label in labels:
        record_path = out / f"{Path(label['file']).stem}.json"
        if not record_path.exists():
            logger.error("%s: no record (analyze failed)", label["id"])
            continue
        record = json.loads(record_path.read_text(encoding="utf-8"))
        rttm = (args.corpus / f"{label['id']}.rttm").read_text(encoding="utf-8")
        counts, detail = score_call(label, record, rttm, company_terms(label.get("company", "")))
        details.append(detail)
        totals[label["split"]].merge(counts)
        overall.merge(counts)
        counts.add("calls", 1)
        for tag in [label["layout"], *label.get("tags", [])]:
            tags[tag].merge(counts)
    lines = [f"# Accuracy of {args.root.resolve()} ({args.name}) on {len(labels)} calls"]
    if args.vocabulary:
        lines.append("with the companies' vocabularies (callqa analyze --vocabulary)")
    if wall is not None:
        lines.append(f"callqa analyze wall time: {wall:.0f} s")
    lines += report(details, totals, tags)
    lines += group_report(overall)
    text = "\n".join(lines)
    print(text)
    (out / "report.md").write_text(text + "\n", encoding="utf-8")
    summary = {
        "details": details,
        "splits": {s: c.values for s, c in totals.items()},
        "groups": group_figures(overall),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
