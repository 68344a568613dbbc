"""Re-scoring a stored record against another policy version, without re-transcribing."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.cli.main import main
from models.text_embedding import SentenceEmbedder
from pipelines.batch import CallPipeline
from pipelines.compliance.checker import ScriptComplianceChecker
from pipelines.compliance.policy import Policy, load_policy, parse_policy
from pipelines.core.errors import InvalidRequestError
from pipelines.record.rescore import rescore
from pipelines.record.schema import record_to_dict
from voice.decode import load_call_audio

ROOT = Path(__file__).resolve().parents[3]
POLICY = ROOT / "samples" / "policies" / "ecommerce-aftersales.yaml"
CALL = ROOT / "tests" / "data" / "calls" / "compliant-return.wav"
RECORDS = ROOT / "tests" / "data" / "records"


def stricter(policy_file: Path) -> str:
    """The sample policy's next version: the same phrases (so the same vocabulary for whisper),
    a disclosure deadline no call meets, identity verification no longer critical, a lower
    pass mark."""
    data: dict[str, Any] = yaml.safe_load(policy_file.read_text())
    data["version"] = "2025.2"
    data["pass_score"] = 60
    for rule in data["rules"]:
        if rule["id"] == "greeting":
            rule["within_s"] = 0.5
        if rule["id"] == "recording_disclosure":
            rule["before_s"] = 1
        if rule["id"] == "identity_verification":
            rule["severity"] = "minor"
    return yaml.safe_dump(data, sort_keys=False)


def verdicts(compliance: Any) -> dict[str, bool]:
    return {check["rule_id"]: check["passed"] for check in compliance["checks"]}


@pytest.fixture(scope="module")
def checker() -> ScriptComplianceChecker:
    return ScriptComplianceChecker(SentenceEmbedder(threads=1))


@pytest.mark.slow
def test_a_rescore_gives_the_verdicts_of_analyzing_with_that_version(
    base_pipeline: CallPipeline, checker: ScriptComplianceChecker
) -> None:
    first, second = load_policy(POLICY), parse_policy(stricter(POLICY), source="v2")
    audio = load_call_audio(CALL)

    def analyzed(policy: Policy) -> dict[str, Any]:
        pipeline = copy.copy(base_pipeline)
        pipeline.analytics = replace(base_pipeline.analytics, policy=policy)
        as_stored = json.dumps(record_to_dict(pipeline.analyze(audio, call_id="c1")))
        return dict(json.loads(as_stored))

    stored, direct = analyzed(first), analyzed(second)
    result = rescore(stored, second, checker).to_dict("c1")
    assert result["policy"] == direct["compliance"]["policy"]
    assert verdicts(result) == verdicts(direct["compliance"])
    assert (result["score"], result["passed"]) == (
        direct["compliance"]["score"],
        direct["compliance"]["passed"],
    )
    changed = {c["rule_id"]: (c["before"], c["after"]) for c in result["changes"]}
    before, after = verdicts(stored["compliance"]), verdicts(result)
    assert changed == {r: (before[r], after[r]) for r in after if before[r] != after[r]}
    assert changed["recording_disclosure"] == (True, False)  # not all said within 1 s


def test_a_record_without_transcript_is_refused(checker: ScriptComplianceChecker) -> None:
    record = json.loads((RECORDS / "angry-customer.json").read_text())
    for erased in ({**record, "segments": []}, {**record, "segments": None}):
        with pytest.raises(InvalidRequestError, match="no transcript"):
            rescore(erased, load_policy(POLICY), checker)
    broken = {**record, "segments": [{"id": 1, "text": "hello"}]}
    with pytest.raises(InvalidRequestError, match="malformed"):
        rescore(broken, load_policy(POLICY), checker)


def test_the_command_prints_the_changes_and_refuses_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = RECORDS / "compliant-return.json"
    policy = tmp_path / "v2.yaml"
    policy.write_text(stricter(POLICY))
    assert main(["rescore", str(record), "--policy", str(policy), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["policy"]["version"] == "2025.2" and answer["call_id"]
    stored = verdicts(json.loads(record.read_text())["compliance"])
    assert {c["rule_id"] for c in answer["changes"]} == {
        rule for rule, passed in verdicts(answer).items() if stored[rule] != passed
    }
    assert main(["rescore", str(record), "--policy", str(policy)]) == 0
    assert "policy ecommerce-aftersales v2025.2: score" in capsys.readouterr().out
    erased = tmp_path / "erased.json"
    erased.write_text(json.dumps({**json.loads(record.read_text()), "segments": []}))
    not_a_record = tmp_path / "x.json"
    not_a_record.write_text('{"hello": 1}')
    for bad in (
        ["rescore", str(tmp_path / "missing.json"), "--policy", str(policy)],
        ["rescore", str(not_a_record), "--policy", str(policy)],
        ["rescore", str(erased), "--policy", str(policy)],
        ["rescore", str(record), "--policy", str(tmp_path / "missing.yaml")],
    ):
        assert main(bad) == 2, bad
        assert capsys.readouterr().err.startswith("callqa: ")
