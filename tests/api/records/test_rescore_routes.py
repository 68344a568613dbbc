"""Re-scoring stored calls through the API, on real stored records and the real MiniLM
checker: one call (a chain entry; lists show the newest verdict; reviews still win) and every
call of a policy (a durable job with a dry run); roles, tenants and bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from api.store.integrity import keyring
from api.store.ledger import verify_ledger
from api.store.schema import AuditEntry, Call, LedgerEntry
from tests.api.routes_fixtures import Env, any_db_env, env, error_of

__all__ = ["any_db_env", "env"]  # fixtures, imported for pytest

POLICY = Path(__file__).resolve().parents[3] / "samples/policies/ecommerce-aftersales.yaml"
NEW_RULE = """
  - id: no_store_credit_push
    kind: forbidden_phrase
    severity: minor
    weight: 5
    role: agent
    phrases:
      - you must take store credit instead of a refund
"""
PID = "ecommerce-aftersales"


def second_version() -> str:
    """The sample policy as version "2025.2", with one more rule (``no_store_credit_push``)."""
    text = POLICY.read_text(encoding="utf-8")
    return text.replace('version: "2025.1"', 'version: "2025.2"') + NEW_RULE


def put_versions(env: Env, tenant: str = "acme") -> None:
    """Version 1: the sample policy; version 2: the same with one more rule."""
    text, second = POLICY.read_text(encoding="utf-8"), second_version()
    headers = {**env.as_("qa_analyst", tenant), "Content-Type": "application/yaml"}
    for body, version in ((text, 1), (second, 2)):
        put = env.client.put(f"/v1/policies/{PID}", content=body.encode(), headers=headers)
        assert put.status_code in (200, 201) and put.json()["version"] == version, put.text


def scored_call(env: Env, name: str = "angry-customer", **kwargs: Any) -> str:
    """A stored call analysed with version 1 of the policy."""
    call_id = env.store_call(name, **kwargs)
    with env.services.store.session() as session:
        session.execute(
            update(Call)
            .where(Call.id == call_id)
            .values(policy_id=PID, policy_version=1, verdict_policy_version=1)
        )
    return call_id


def kinds_of(env: Env, call_id: str) -> list[str]:
    with env.services.store.session() as session:
        query = select(LedgerEntry.kind).where(LedgerEntry.call_id == call_id)
        return list(session.scalars(query.order_by(LedgerEntry.seq)))


def listed(env: Env, call_id: str) -> dict[str, Any]:
    items = env.client.get("/v1/calls", headers=env.as_("qa_analyst")).json()["items"]
    row: dict[str, Any] = next(item for item in items if item["id"] == call_id)
    return row


def test_a_rescore_is_a_chain_entry_and_lists_show_the_newest_verdict(any_db_env: Env) -> None:
    env = any_db_env
    put_versions(env)
    call_id = scored_call(env)
    headers = env.as_("qa_analyst")
    before = env.client.get(f"/v1/calls/{call_id}", headers=headers).json()
    assert before["rescores"] == [] and before["verdict"]["source"] == "analysis"

    answer = env.client.post(
        f"/v1/calls/{call_id}/rescore", json={"policy_id": PID, "version": 2}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    result = answer.json()
    assert result["call_id"] == call_id
    assert result["policy"]["id"] == PID and result["policy"]["version"] == "2025.2"
    assert result["policy_version"] == 2 and len(result["policy"]["sha256"]) == 64
    rules = [check["rule_id"] for check in result["checks"]]
    assert rules[-1] == "no_store_credit_push"
    was = {c["rule_id"]: c["passed"] for c in before["compliance"]["checks"]}
    now = {c["rule_id"]: c["passed"] for c in result["checks"]}
    expected = [
        {"rule_id": rule, "before": was.get(rule), "after": now.get(rule)}
        for rule in dict.fromkeys([*was, *now])
        if was.get(rule) != now.get(rule)
    ]
    assert result["changes"] == expected
    assert {"rule_id": "no_store_credit_push", "before": None, "after": True} in expected
    assert all({"score", "threshold", "close_call"} <= set(check) for check in result["checks"])

    record = env.client.get(f"/v1/calls/{call_id}", headers=headers).json()
    assert record["compliance"] == before["compliance"]  # the analysis is kept as it was
    assert [r["seq"] for r in record["rescores"]] == [result["seq"]]
    assert record["rescores"][0]["changes"] == expected
    assert record["verdict"]["source"] == "rescore" and record["verdict"]["policy_version"] == 2
    row = listed(env, call_id)
    assert (row["score"], row["passed"]) == (result["score"], result["passed"])
    assert (row["verdict_policy_id"], row["verdict_policy_version"]) == (PID, 2)

    # a review override still wins over the newest verdict, and is about its checks
    review = env.client.post(
        f"/v1/calls/{call_id}/review",
        json={"rule_id": "no_store_credit_push", "value": False, "reason": "heard it"},
        headers=headers,
    )
    assert review.status_code == 201, review.text
    assert review.json()["overrides"][-1]["previous"] is True
    assert listed(env, call_id)["score"] == review.json()["score"] < result["score"]

    again = env.client.post(  # the newest version by default; newest last
        f"/v1/calls/{call_id}/rescore", json={"policy_id": PID}, headers=headers
    )
    assert again.status_code == 201 and again.json()["changes"] == []
    record = env.client.get(f"/v1/calls/{call_id}", headers=headers).json()
    assert [r["seq"] for r in record["rescores"]] == [result["seq"], again.json()["seq"]]
    assert record["verdict"]["source"] == "review"
    assert kinds_of(env, call_id) == ["record", "rescore", "review", "rescore"]
    with env.services.store.session() as session:
        assert verify_ledger(session, "acme", keyring([env.services.signer])).ok
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "call.rescore")).all()
    assert [(a.target, a.result) for a in audit] == [(call_id, "ok")] * 2
    assert audit[0].detail is not None and audit[0].detail["version"] == 2


def test_bad_rescores_answer_4xx_json_and_change_nothing(env: Env) -> None:
    put_versions(env)
    call_id = scored_call(env)
    silent = scored_call(env, edit={"segments": []})
    erased = scored_call(env)
    headers = env.as_("qa_analyst")
    gone = env.client.delete(f"/v1/calls/{erased}?reason=asked", headers=env.as_("admin"))
    assert gone.status_code == 200, gone.text
    theirs = env.store_call("angry-customer", tenant="globex")
    cases: list[tuple[str, dict[str, Any], tuple[int, str]]] = [
        (call_id, {"policy_id": "no-such-policy"}, (404, "not_found")),
        (call_id, {"policy_id": PID, "version": 9}, (404, "not_found")),
        (call_id, {"policy_id": PID, "version": 0}, (422, "invalid")),
        (call_id, {"policy_id": "bad id!"}, (422, "invalid")),
        (call_id, {"policy_id": PID, "extra": 1}, (422, "invalid")),
        (call_id, {}, (422, "invalid")),
        (silent, {"policy_id": PID}, (422, "invalid")),
        (erased, {"policy_id": PID}, (410, "erased")),
        (theirs, {"policy_id": PID}, (404, "not_found")),
        ("f" * 32, {"policy_id": PID}, (404, "not_found")),
    ]
    rows_before = listed(env, call_id)
    for target, body, expected in cases:
        answer = env.client.post(f"/v1/calls/{target}/rescore", json=body, headers=headers)
        assert error_of(answer) == expected, (target, body, answer.text)
    assert kinds_of(env, call_id) == ["record"] and kinds_of(env, silent) == ["record"]
    assert listed(env, call_id) == rows_before
    record = env.client.get(f"/v1/calls/{call_id}", headers=headers).json()
    assert record["rescores"] == []


@pytest.mark.parametrize("role", ["admin", "auditor", "ingest"])
def test_only_qa_analysts_rescore(env: Env, role: str) -> None:
    put_versions(env)
    call_id = scored_call(env)
    for path, body in (
        (f"/v1/calls/{call_id}/rescore", {"policy_id": PID}),
        (f"/v1/policies/{PID}/rescore", {"dry_run": True}),
    ):
        answer = env.client.post(path, json=body, headers=env.as_(role))
        assert error_of(answer) == (403, "forbidden"), (path, answer.text)
    assert kinds_of(env, call_id) == ["record"]


def run_policy_job(env: Env, body: dict[str, Any]) -> dict[str, Any]:
    answer = env.client.post(
        f"/v1/policies/{PID}/rescore", json=body, headers=env.as_("qa_analyst")
    )
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["job_id"]
    env.services.queue.analyze_job(job_id)  # what a worker runs for the queued message
    status = env.client.get(f"/v1/jobs/{job_id}", headers=env.as_("qa_analyst")).json()
    assert status["kind"] == "rescore" and status["status"] == "done", status
    report: dict[str, Any] = status["result"]
    return report


def test_a_policy_rescore_job_dry_runs_then_rescores_once(any_db_env: Env) -> None:
    env = any_db_env
    put_versions(env)
    put_versions(env, "globex")
    calls = [scored_call(env, "angry-customer"), scored_call(env, "compliant-return")]
    silent = scored_call(env, edit={"segments": []})
    theirs = scored_call(env, tenant="globex")

    dry = run_policy_job(env, {"version": 2, "dry_run": True})
    assert dry["dry_run"] is True and dry["calls"] == 3 and dry["would_rescore"] == 2
    assert dry["skipped"] == 1 and dry["skipped_calls"][0]["call_id"] == silent
    added = dry["rules"]["no_store_credit_push"]
    assert added["changed"] == 2 and added["to_pass"] == 2
    assert {e["call_id"] for e in added["examples"]} == set(calls)
    assert all(kinds_of(env, c) == ["record"] for c in [*calls, theirs])  # nothing stored

    done = run_policy_job(env, {"version": 2, "dry_run": False})
    assert done["rescored"] == 2 and done["rules"] == dry["rules"]
    assert all(kinds_of(env, c) == ["record", "rescore"] for c in calls)
    assert kinds_of(env, theirs) == ["record"]  # another tenant's calls are never touched
    assert all(listed(env, c)["verdict_policy_version"] == 2 for c in calls)

    again = run_policy_job(env, {"dry_run": False})  # a retried or repeated job: nothing twice
    assert again["rescored"] == 0 and again["already_current"] == 2
    assert all(kinds_of(env, c) == ["record", "rescore"] for c in calls)

    window = run_policy_job(env, {"version": 1, "dry_run": True, "to": "2000-01-01T00:00:00Z"})
    assert window["calls"] == 0


def test_policy_rescore_bad_requests(env: Env) -> None:
    put_versions(env)
    headers = env.as_("qa_analyst")
    cases: list[tuple[str, dict[str, Any], tuple[int, str]]] = [
        ("no-such-policy", {"dry_run": True}, (404, "not_found")),
        (PID, {"version": 7, "dry_run": True}, (404, "not_found")),
        (PID, {"version": 2}, (422, "invalid")),
        (PID, {"dry_run": True, "from": "yesterday"}, (422, "invalid")),
        (PID, {"dry_run": True, "from": "2026-02-01", "to": "2026-01-01"}, (422, "invalid")),
    ]
    for policy_id, body, expected in cases:
        answer = env.client.post(f"/v1/policies/{policy_id}/rescore", json=body, headers=headers)
        assert error_of(answer) == expected, (policy_id, body, answer.text)


def test_erasing_a_rescored_call_erases_its_rescores(env: Env) -> None:
    put_versions(env)
    call_id = scored_call(env)
    headers = env.as_("qa_analyst")
    body = {"policy_id": PID, "version": 2}
    assert env.client.post(f"/v1/calls/{call_id}/rescore", json=body, headers=headers).is_success
    gone = env.client.delete(f"/v1/calls/{call_id}?reason=asked", headers=env.as_("admin"))
    assert gone.status_code == 200, gone.text
    with env.services.store.session() as session:
        entries = session.scalars(
            select(LedgerEntry).where(LedgerEntry.call_id == call_id).order_by(LedgerEntry.seq)
        ).all()
        assert [(e.kind, e.body is None) for e in entries] == [
            ("record", True), ("rescore", True), ("erasure", False),
        ]  # fmt: skip
        assert verify_ledger(session, "acme", keyring([env.services.signer])).ok
    again = env.client.post(f"/v1/calls/{call_id}/rescore", json=body, headers=headers)
    assert error_of(again) == (410, "erased")
