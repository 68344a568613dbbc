"""Analytics (on SQLite and PostgreSQL) and versioned compliance policies through HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from api.store.schema import AuditEntry, Call
from tests.api.routes_fixtures import Env, any_db_env, env, error_of

__all__ = ["any_db_env", "env"]  # fixtures, imported for pytest

POLICY = Path(__file__).resolve().parents[3] / "samples" / "policies" / "ecommerce-aftersales.yaml"
YAML = {"Content-Type": "application/yaml"}
JSON = {"Content-Type": "application/json"}


def analytics(env: Env, role: str = "qa_analyst", **params: Any) -> Any:
    return env.client.get("/v1/analytics", params=params, headers=env.as_(role))


def test_analytics_groups_and_metrics(any_db_env: Env) -> None:
    env = any_db_env
    day1 = datetime(2025, 3, 1, 23, 30, tzinfo=UTC)  # late: a UTC day, whatever the server zone
    day2 = day1 + timedelta(days=1)
    good1 = env.store_call("compliant-return", agent="agent-7", created_at=day1)
    env.store_call("compliant-return", agent="agent-7", created_at=day2)
    env.store_call("angry-customer", agent="agent-9", created_at=day2)
    env.store_call("angry-customer", tenant="globex", created_at=day2)
    env.pending_call("running")  # no record yet: not counted

    answer = analytics(env, group_by="day")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["metrics"] == ["volume", "pass_rate", "negative_emotion_rate", "handle_time"]
    groups = body["groups"]
    assert [
        (g["key"], g["volume"], g["pass_rate"], g["negative_emotion_rate"]) for g in groups
    ] == [
        ("2025-03-01", 1, 1.0, 0.0),
        ("2025-03-02", 2, 0.5, 0.5),
    ]
    with env.services.store.session() as session:
        call = session.get(Call, good1)
        assert call is not None and groups[0]["handle_time"] == pytest.approx(call.duration_s)

    by_agent = analytics(env, group_by="agent", metric="volume,pass_rate").json()["groups"]
    assert by_agent == [
        {"key": "agent-7", "volume": 2, "pass_rate": 1.0},
        {"key": "agent-9", "volume": 1, "pass_rate": 0.0},
    ]
    by_topic = analytics(env, group_by="topic", metric="volume").json()["groups"]
    assert by_topic == [{"key": "returns", "volume": 2}, {"key": "other", "volume": 1}]
    window = analytics(env, group_by="day", metric="volume", **{"from": "2025-03-02"}).json()
    assert window["groups"] == [{"key": "2025-03-02", "volume": 2}]
    assert window["from"] == "2025-03-02T00:00:00.000000Z" and window["to"] is None
    until = analytics(env, metric="volume", to="2025-03-01").json()["groups"]
    assert until == [{"key": "2025-03-01", "volume": 1}]
    globex = env.client.get("/v1/analytics", headers=env.as_("qa_analyst", "globex")).json()
    assert [(g["key"], g["volume"], g["pass_rate"]) for g in globex["groups"]] == [
        ("2025-03-02", 1, 0.0)
    ]


def test_analytics_rejects_bad_input_and_checks_roles(env: Env) -> None:
    for params in (
        {"group_by": "week"},
        {"metric": "volume,revenue"},
        {"from": "tomorrow"},
        {"from": "2025-01-02", "to": "2025-01-01"},
        {"limit": 0},
    ):
        assert error_of(analytics(env, **params)) == (422, "invalid"), params
    for role in ("auditor", "ingest", "admin"):
        assert error_of(analytics(env, role=role)) == (403, "forbidden")
    assert error_of(env.client.get("/v1/analytics")) == (401, "unauthorized")
    assert analytics(env).json()["groups"] == []


def put(
    env: Env, policy_id: str, body: bytes | str, role: str = "qa_analyst", **headers: str
) -> Any:
    return env.client.put(
        f"/v1/policies/{policy_id}",
        content=body,
        headers={**env.as_(role), **(headers or YAML)},
    )


def sample_policy(policy_id: str = "aftersales", **changes: Any) -> str:
    document = yaml.safe_load(POLICY.read_text(encoding="utf-8"))
    document.update(id=policy_id, **changes)
    return yaml.safe_dump(document, sort_keys=False)


def test_policies_are_versioned_never_overwritten(env: Env) -> None:
    first = put(env, "aftersales", sample_policy())
    assert first.status_code == 201, first.text
    created = first.json()
    assert created["id"] == "aftersales" and created["version"] == 1 and created["created"]
    assert len(created["sha256"]) == 64 and created["policy_version"] == "2025.1"
    same = put(env, "aftersales", sample_policy())
    assert same.status_code == 200 and same.json()["version"] == 1
    second = put(env, "aftersales", sample_policy(pass_score=70), role="admin")
    assert second.status_code == 201 and second.json()["version"] == 2
    as_json = env.client.put(
        "/v1/policies/other",
        json=yaml.safe_load(sample_policy("other")),
        headers=env.as_("qa_analyst"),
    )
    assert as_json.status_code == 201, as_json.text

    listed = env.client.get("/v1/policies", headers=env.as_("qa_analyst")).json()["items"]
    assert [(p["id"], p["version"]) for p in listed] == [("aftersales", 2), ("other", 1)]
    history = env.client.get(
        "/v1/policies", params={"id": "aftersales"}, headers=env.as_("admin")
    ).json()["items"]
    assert [p["version"] for p in history] == [2, 1]
    assert history[1]["created_by"] == "acme-qa_analyst"
    newest = env.client.get("/v1/policies/aftersales", headers=env.as_("qa_analyst")).json()
    assert newest["version"] == 2 and newest["document"]["pass_score"] == 70
    old = env.client.get(
        "/v1/policies/aftersales", params={"version": 1}, headers=env.as_("qa_analyst")
    ).json()
    assert old["source"] == sample_policy() and old["sha256"] == created["sha256"]
    with env.services.store.session() as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.tenant == "acme"))
        assert list(actions).count("policy.write") == 4


def test_policy_input_is_checked(env: Env) -> None:
    invalid = put(env, "aftersales", "id: aftersales\nversion: 1\npass_score: 200\nrules: []\n")
    assert error_of(invalid) == (422, "invalid")
    message = invalid.json()["error"]["message"]
    assert "\n" not in message and "pass_score" in message
    cases: list[tuple[str, bytes | str, dict[str, str], tuple[int, str]]] = [
        ("aftersales", sample_policy("different"), YAML, (422, "invalid")),
        ("aftersales", "rules: [unclosed", YAML, (422, "invalid")),
        ("aftersales", b"\xff\xfe not utf-8", YAML, (422, "invalid")),
        ("aftersales", "a: &x [1, 2]\nb: [*x, *x]\n", YAML, (422, "invalid")),
        ("aftersales", "a: " + "[" * 5000 + "]" * 5000, YAML, (422, "invalid")),
        ("aftersales", "[" * 5000 + "]" * 5000, JSON, (422, "invalid")),
        ("aftersales", "{}", {"Content-Type": "text/plain"}, (415, "unsupported_media_type")),
        ("aftersales", "x: " + "y" * (256 * 1024), YAML, (413, "too_large")),
    ]  # fmt: skip
    for policy_id, body, headers, expected in cases:
        assert error_of(put(env, policy_id, body, **headers)) == expected, str(body)[:40]
    for bad_id in ("a b", "x" * 65, "%2E%2E"):
        assert put(env, bad_id, sample_policy()).status_code in (404, 422)
    assert env.client.get("/v1/policies", headers=env.as_("qa_analyst")).json()["items"] == []


def test_policy_roles_and_tenants(env: Env) -> None:
    assert put(env, "aftersales", sample_policy()).status_code == 201
    for role in ("auditor", "ingest"):
        assert error_of(put(env, "aftersales", sample_policy(), role=role)) == (403, "forbidden")
        for url in ("/v1/policies", "/v1/policies/aftersales"):
            assert error_of(env.client.get(url, headers=env.as_(role))) == (403, "forbidden")
    other = env.as_("qa_analyst", "globex")
    assert env.client.get("/v1/policies", headers=other).json()["items"] == []
    answer = env.client.get("/v1/policies/aftersales", headers=other)
    assert error_of(answer) == (404, "not_found")
    answer = env.client.get("/v1/policies", params={"id": "aftersales"}, headers=other)
    assert error_of(answer) == (404, "not_found")
    same_id = put(env, "aftersales", sample_policy(pass_score=10), role="admin", **YAML)
    assert same_id.status_code == 201  # acme's own next version; globex stays empty
    assert env.client.get("/v1/policies", headers=other).json()["items"] == []
    assert error_of(env.client.put("/v1/policies/x", content=sample_policy("x"), headers=YAML)) == (
        401,
        "unauthorized",
    )
