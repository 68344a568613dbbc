"""``callqa rescore RECORD.json --policy FILE``: a record's transcript scored against another
policy or version, offline, without re-transcribing. Nothing is written; the new score and the
verdicts that changed are printed (``--json``: the object ``POST /v1/calls/{id}/rescore`` answers).
Exit 2 when the record or the policy cannot be used."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.core.errors import ConfigError

if TYPE_CHECKING:
    from pipelines.record.rescore import Rescore

    Commands = argparse._SubParsersAction[argparse.ArgumentParser]

MAX_RECORD_BYTES = 64 * 1024 * 1024


def add_rescore_parser(commands: Commands) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "rescore", help="score a record's transcript against another policy (nothing is written)"
    )
    parser.add_argument("record", type=Path, help="an interaction record (JSON)")
    parser.add_argument("--policy", type=Path, required=True, help="policy file (YAML or JSON)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def run_rescore(args: argparse.Namespace) -> int:
    from models.text_embedding import SentenceEmbedder
    from pipelines.compliance.checker import ScriptComplianceChecker
    from pipelines.compliance.policy import load_policy
    from pipelines.record.rescore import rescore

    record = read_record(args.record)
    policy = load_policy(args.policy)
    result = rescore(record, policy, ScriptComplianceChecker(SentenceEmbedder(threads=1)))
    call_id = record.get("id") if isinstance(record.get("id"), str) else None
    if args.json:
        sys.stdout.write(json.dumps(result.to_dict(call_id), indent=2) + "\n")
    else:
        sys.stdout.write("\n".join(summary_lines(result)) + "\n")
    return 0


def read_record(path: Path) -> dict[str, Any]:
    """An interaction record from a file; `ConfigError` for anything else."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    if path.stat().st_size > MAX_RECORD_BYTES:
        raise ConfigError(f"{path}: larger than any record ({MAX_RECORD_BYTES} bytes)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a JSON record ({exc})") from exc
    if not isinstance(data, dict) or data.get("schema") != "callqa.record/v1":
        raise ConfigError(f"{path}: not a callqa record (schema callqa.record/v1)")
    return data


def summary_lines(result: Rescore) -> list[str]:
    """The new verdict and the changed rules, for people."""
    compliance = result.compliance
    policy = compliance["policy"]
    verdict = "passed" if compliance["passed"] else "failed"
    lines = [f"policy {policy['id']} v{policy['version']}: score {compliance['score']}, {verdict}"]
    if not result.changes:
        return [*lines, "no verdict changed"]
    word = {True: "passed", False: "failed", None: "not checked"}
    lines.append("changed verdicts:")
    lines += [f"  {c.rule_id}: {word[c.before]} -> {word[c.after]}" for c in result.changes]
    return lines
