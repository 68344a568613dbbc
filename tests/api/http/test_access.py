"""Roles and tenants on the upload, job, export, audit and key routes (the record, analytics
and policy routes have theirs in test_records_routes.py and test_analytics_policies.py)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from sqlalchemy import select

from api.store.schema import Call, Job
from tests.api.routes_fixtures import ADMIN, ROLES, Env, env, error_of

__all__ = ["env"]  # fixture, imported for pytest

WAV = (
    Path(__file__).resolve().parents[2] / "data" / "stereo" / "two-speakers-stereo.wav"
).read_bytes()


def upload(
    env: Env, role: str, tenant: str = "acme", data: bytes = WAV
) -> tuple[int, dict[str, object]]:
    answer = env.client.post(
        "/v1/calls", files={"file": ("call.wav", data)}, headers=env.as_(role, tenant)
    )
    return answer.status_code, answer.json()


def test_upload_roles_and_durability(env: Env) -> None:
    for role in ROLES:
        status, body = upload(env, role)
        if role in ("ingest", "qa_analyst"):
            assert status == 202, body
            with env.services.store.session() as session:
                call = session.get(Call, body["call_id"])
                job = session.get(Job, body["job_id"])
                assert call is not None and job is not None
                assert call.tenant == "acme" and job.status == "queued"
                assert Path(call.audio_path or "").read_bytes() == WAV  # on disk before the 202
        else:
            assert status == 403, body
    assert env.client.post("/v1/calls", files={"file": ("a.wav", WAV)}).status_code == 401


def test_upload_rejects_what_is_not_audio(env: Env) -> None:
    cases = {
        b"": 422,
        b"just some text, not a recording\n" * 20: 415,
        b"\x89PNG\r\n\x1a\n" + bytes(200): 415,
        bytes(range(256)) * 8: 415,
    }
    for data, status in cases.items():
        code, body = upload(env, "ingest", data=data)
        assert code == status, (data[:20], body)
    answer = env.client.post(
        "/v1/calls",
        content=b"{}",
        headers={**env.as_("ingest"), "Content-Type": "application/json"},
    )
    assert error_of(answer) == (415, "unsupported_media_type")
    answer = env.client.post(
        "/v1/calls",
        files={"file": ("a.wav", WAV)},
        data={"metadata": "[1, 2]", "layout": "sideways"},
        headers=env.as_("ingest"),
    )
    assert answer.status_code == 422
    with env.services.store.session() as session:  # nothing half-stored
        assert session.scalars(select(Call)).all() == []
    assert not [p for p in (env.audio_root / "acme").glob("*") if p.is_file()]


def test_upload_size_limit(tmp_path: Path) -> None:
    from tests.api.routes_fixtures import make_env

    for small in make_env(tmp_path, max_upload_bytes=10_000):
        code, body = upload(small, "ingest")
        assert code == 413, body
        assert not [p for p in (small.audio_root / "acme").glob("*") if p.is_file()]


def test_metadata_is_redacted_before_it_is_stored(env: Env) -> None:
    answer = env.client.post(
        "/v1/calls",
        files={"file": ("call.wav", WAV)},
        data={"metadata": '{"agent": "agent-9", "note": "customer card 4111 1111 1111 1111"}'},
        headers=env.as_("ingest"),
    )
    assert answer.status_code == 202, answer.text
    with env.services.store.session() as session:
        call = session.get(Call, answer.json()["call_id"])
        assert call is not None and call.agent == "agent-9"
        assert "4111" not in str(call.metadata_json) and "[CARD]" in str(call.metadata_json)


def test_jobs_are_seen_by_their_tenant_only(env: Env) -> None:
    _, body = upload(env, "ingest")
    for role in ROLES:
        answer = env.client.get(f"/v1/jobs/{body['job_id']}", headers=env.as_(role))
        assert answer.status_code == 200 and answer.json()["status"] == "queued", role
        other = env.client.get(f"/v1/jobs/{body['job_id']}", headers=env.as_(role, "globex"))
        assert error_of(other) == (404, "not_found"), role
    assert error_of(env.client.get("/v1/jobs/not-an-id", headers=env.as_("ingest")))[0] == 422


def test_export_is_for_auditors_and_holds_their_tenant_only(env: Env) -> None:
    ours, theirs = env.store_call(tenant="acme"), env.store_call(tenant="globex")
    for role in ROLES:
        answer = env.client.get("/v1/export", headers=env.as_(role))
        if role != "auditor":
            assert error_of(answer) == (403, "forbidden"), role
            continue
        assert answer.status_code == 200
        with zipfile.ZipFile(io.BytesIO(answer.content)) as bundle:
            names = bundle.namelist()
            records = bundle.read(next(n for n in names if n.startswith("records"))).decode()
        assert ours in records and theirs not in records
    assert (
        error_of(
            env.client.get("/v1/export", params={"format": "xml"}, headers=env.as_("auditor"))
        )[0]
        == 422
    )


def test_audit_log_roles_and_tenants(env: Env) -> None:
    call_id = env.store_call(tenant="acme")
    assert env.client.get(f"/v1/calls/{call_id}", headers=env.as_("qa_analyst")).status_code == 200
    for role in ROLES:
        answer = env.client.get("/v1/audit", headers=env.as_(role))
        if role not in ("auditor", "admin"):
            assert error_of(answer) == (403, "forbidden"), role
            continue
        items = answer.json()["items"]
        assert any(i["action"] == "call.read" and i["target"] == call_id for i in items), items
        assert all(i["integrity"]["signature"] for i in items)
    globex = env.client.get("/v1/audit", headers=env.as_("auditor", "globex")).json()["items"]
    assert all(i["target"] != call_id for i in globex)


def test_audit_and_export_windows_out_of_range_are_422(env: Env) -> None:
    # found by the OpenAPI fuzzer: 0001-01-01 at UTC+14 has no UTC time (it was a 500)
    headers = env.as_("auditor")
    for path in ("/v1/audit", "/v1/export"):
        for params in (
            {"from": "0001-01-01T00:00:00+14:00"},
            {"to": "9999-12-31T23:59:59-14:00"},
            {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00"},
        ):
            assert env.client.get(path, params=params, headers=headers).status_code == 422, params
    mixed = {"from": "2026-01-01T00:00:00", "to": "2026-02-01T00:00:00+01:00"}
    assert env.client.get("/v1/audit", params=mixed, headers=headers).status_code == 200


def test_keys_are_for_admins_within_their_tenant(env: Env) -> None:
    body = {"name": "new-analyst", "roles": ["qa_analyst"]}
    for role in ("qa_analyst", "auditor", "ingest"):
        assert error_of(env.client.post("/v1/keys", json=body, headers=env.as_(role)))[0] == 403
    made = env.client.post("/v1/keys", json=body, headers=env.as_("admin"))
    assert made.status_code == 201 and made.json()["tenant"] == "acme"
    key = {"Authorization": f"Bearer {made.json()['key']}"}
    assert env.client.get("/v1/calls", headers=key).status_code == 200
    # a tenant's admin cannot mint keys for another tenant; the operator's admin can
    hostile = {"name": "sneaky", "roles": ["auditor"], "tenant": "globex"}
    assert error_of(env.client.post("/v1/keys", json=hostile, headers=env.as_("admin")))[0] == 403
    operator = {"Authorization": f"Bearer {ADMIN}"}
    assert env.client.post("/v1/keys", json=hostile, headers=operator).status_code == 201
    assert error_of(env.client.post("/v1/keys", json=body, headers=env.as_("admin")))[0] == 409
    bad_role = {"name": "x", "roles": ["root"]}
    assert error_of(env.client.post("/v1/keys", json=bad_role, headers=env.as_("admin")))[0] == 422
    # revocation: only within the admin's tenant, and the key stops working at once
    assert (
        error_of(env.client.delete("/v1/keys/new-analyst", headers=env.as_("admin", "globex")))[0]
        == 404
    )
    assert env.client.delete("/v1/keys/new-analyst", headers=env.as_("admin")).status_code == 204
    assert error_of(env.client.get("/v1/calls", headers=key)) == (401, "unauthorized")


def test_admins_list_their_tenants_keys_without_the_keys(env: Env) -> None:
    for role in ("qa_analyst", "auditor", "ingest"):
        assert error_of(env.client.get("/v1/keys", headers=env.as_(role)))[0] == 403
    assert error_of(env.client.get("/v1/keys")) == (401, "unauthorized")
    made = env.client.post(
        "/v1/keys", json={"name": "listed", "roles": ["auditor"]}, headers=env.as_("admin")
    ).json()
    env.client.delete("/v1/keys/listed", headers=env.as_("admin"))
    answer = env.client.get("/v1/keys", headers=env.as_("admin"))
    items = answer.json()["items"]
    assert (
        items[0]["name"] == "listed" and items[0]["revoked_at"] and items[0]["roles"] == ["auditor"]
    )
    assert {item["name"] for item in items} == {"listed", *(f"acme-{role}" for role in ROLES)}
    assert made["key"] not in answer.text and "sha256" not in answer.text
    globex = env.client.get("/v1/keys", headers=env.as_("admin", "globex")).json()["items"]
    assert {item["name"] for item in globex} == {f"globex-{role}" for role in ROLES}


def test_failed_sign_ins_are_rate_limited(env: Env) -> None:
    codes = [
        env.client.get("/v1/calls", headers={"Authorization": f"Bearer wrong-{n}"}).status_code
        for n in range(40)
    ]
    assert codes[0] == 401 and codes[-1] == 429
