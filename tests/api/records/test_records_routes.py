"""Record routes on a real store with real records: read, formats, audio, search, review,
erasure and retention; every route's roles and tenant isolation."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from api.records.retention import RetentionSweeper, purge_expired
from api.store.integrity import keyring
from api.store.ledger import verify_ledger
from api.store.schema import AuditEntry, Call, LedgerEntry, Tenant
from tests.api.routes_fixtures import REDACTED_WAV, Env, any_db_env, env, error_of

__all__ = ["any_db_env", "env"]  # fixtures, imported for pytest


def audit_actions(env: Env, tenant: str = "acme") -> list[tuple[str, str | None, str]]:
    with env.services.store.session() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.tenant == tenant).order_by(AuditEntry.seq)
        )
        return [(row.action, row.target, row.result) for row in rows]


def test_record_is_served_with_integrity_and_review_block(env: Env) -> None:
    call_id = env.store_call()
    answer = env.client.get(f"/v1/calls/{call_id}", headers=env.as_("qa_analyst"))
    assert answer.status_code == 200, answer.text
    record = answer.json()
    assert record["id"] == call_id and record["schema"] == "callqa.record/v1"
    assert record["integrity"]["signature"] and record["integrity"]["key_id"]
    assert record["compliance"]["passed"] is True
    assert record["review"] == {"status": "unreviewed", "overrides": []}
    assert ("call.read", call_id, "ok") in audit_actions(env)


def test_transcripts_and_rttm_in_their_formats(env: Env) -> None:
    call_id = env.store_call(
        "angry-customer",
        edit={"segments": [
            {"id": 0, "start": 0.5, "end": 3.25, "speaker": "SPEAKER_00", "role": "agent",
             "text": "Card <b>[CARD]</b> & done --> ok\n\nnext"},
            {"id": 1, "start": 3661.0, "end": 3662.5, "speaker": "SPEAKER_01",
             "role": "customer", "text": "Fine."},
        ]},
    )  # fmt: skip
    headers = env.as_("auditor")
    vtt = env.client.get(f"/v1/calls/{call_id}/transcript.vtt", headers=headers)
    assert vtt.status_code == 200 and vtt.headers["content-type"] == "text/vtt; charset=utf-8"
    assert vtt.text.splitlines()[:6] == [
        "WEBVTT",
        "",
        "1",
        "00:00:00.500 --> 00:00:03.250",
        "<v Agent>Card &lt;b&gt;[CARD]&lt;/b&gt; &amp; done --&gt; ok next",
        "",
    ]
    assert "01:01:01.000 --> 01:01:02.500\n<v Customer>Fine." in vtt.text
    srt = env.client.get(f"/v1/calls/{call_id}/transcript.srt", headers=headers)
    assert srt.headers["content-type"].startswith("application/x-subrip")
    assert srt.text.startswith("1\n00:00:00,500 --> 00:00:03,250\nAgent: Card <b>")
    txt = env.client.get(f"/v1/calls/{call_id}/transcript.txt", headers=headers)
    assert txt.headers["content-type"] == "text/plain; charset=utf-8"
    assert txt.text.splitlines()[1] == "[01:01:01.000 - 01:01:02.500] Customer: Fine."
    rttm = env.client.get(f"/v1/calls/{call_id}/diarization.rttm", headers=headers)
    assert rttm.status_code == 200
    lines = rttm.text.splitlines()
    assert lines and all(line.startswith(f"SPEAKER {call_id} 1 ") for line in lines)
    assert {line.split()[7] for line in lines} == {"SPEAKER_00", "SPEAKER_01"}
    bad = env.client.get(f"/v1/calls/{call_id}/transcript.pdf", headers=headers)
    assert error_of(bad) == (422, "invalid")


def test_audio_is_the_redacted_file_never_the_upload(env: Env) -> None:
    call_id = env.store_call()
    answer = env.client.get(f"/v1/calls/{call_id}/audio", headers=env.as_("qa_analyst"))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "audio/wav" and answer.content == REDACTED_WAV
    with env.services.store.session() as session:  # a path outside the audio folder is refused
        session.execute(update(Call).values(redacted_audio_path=str(Path(__file__))))
    answer = env.client.get(f"/v1/calls/{call_id}/audio", headers=env.as_("qa_analyst"))
    assert error_of(answer) == (404, "not_found")


def test_unknown_pending_and_failed_calls(env: Env) -> None:
    headers = env.as_("qa_analyst")
    assert error_of(env.client.get(f"/v1/calls/{'0' * 32}", headers=headers)) == (404, "not_found")
    running = env.pending_call("running", step="transcribe", progress=0.4)
    answer = env.client.get(f"/v1/calls/{running}", headers=headers)
    assert error_of(answer) == (409, "processing")
    assert "still processing" in answer.json()["error"]["message"]
    assert "transcribe" in answer.json()["error"]["message"]
    failed = env.pending_call("failed", error="not audio")
    answer = env.client.get(f"/v1/calls/{failed}/transcript.vtt", headers=headers)
    assert error_of(answer) == (409, "failed") and "not audio" in answer.text
    for bad in ("xyz", "0" * 31, "G" * 32, "0" * 33, "..%2F..%2Fetc"):
        assert env.client.get(f"/v1/calls/{bad}", headers=headers).status_code in (404, 422)
    assert ("call.read", "0" * 32, "not_found") in audit_actions(env)


def test_search_filters_and_pagination(any_db_env: Env) -> None:
    env = any_db_env
    now = datetime.now(UTC)
    good = env.store_call("compliant-return", agent="agent-7", created_at=now - timedelta(days=2))
    angry = env.store_call("angry-customer", agent="agent-9", created_at=now - timedelta(days=1))
    env.store_call("compliant-return", tenant="globex", agent="agent-7")

    def ids(**params: Any) -> list[str]:
        answer = env.client.get("/v1/calls", params=params, headers=env.as_("auditor"))
        assert answer.status_code == 200, answer.text
        return [item["id"] for item in answer.json()["items"]]

    assert ids() == [angry, good]  # newest first, the other tenant's call never
    assert ids(agent="agent-7") == [good]
    assert ids(passed="true") == [good] and ids(passed="false") == [angry]
    assert ids(topic="returns") == [good]
    assert ids(emotion="anger") == [angry] and ids(emotion="negative") == [angry]
    assert ids(q="SORRY TO HEAR") == [good]  # case-insensitive, redacted transcript
    assert ids(q="%") == [] and ids(q="_") == []  # LIKE wildcards are literal
    yesterday = (now - timedelta(days=1)).date().isoformat()
    assert ids(**{"from": yesterday}) == [angry]
    assert ids(to=(now - timedelta(days=2)).date().isoformat()) == [good]
    stamp = (now - timedelta(days=1, hours=12)).isoformat()
    assert ids(**{"from": stamp}) == [angry] and ids(to=stamp) == [good]
    first = env.client.get("/v1/calls", params={"limit": 1}, headers=env.as_("auditor")).json()
    assert [i["id"] for i in first["items"]] == [angry] and first["next"]
    item = first["items"][0]
    assert item["agent"] == "agent-9" and item["passed"] is False and "search_text" not in item
    second = ids(limit=1, cursor=first["next"])
    assert second == [good] and ids(offset=1) == [good]
    last = env.client.get("/v1/calls", params={"cursor": first["next"]}, headers=env.as_("auditor"))
    assert last.json()["next"] is None
    for params in (
        {"cursor": "bm90LWEtY3Vyc29y"},
        {"cursor": "%%%"},
        {"from": "yesterday"},
        {"from": "2025-02-30"},
        {"from": "2025-03-02", "to": "2025-03-01"},
        {"emotion": "NOT A LABEL"},
        {"passed": "maybe"},
        {"limit": 0},
        {"q": "x" * 201},
    ):
        answer = env.client.get("/v1/calls", params=params, headers=env.as_("auditor"))
        assert error_of(answer) == (422, "invalid"), params


def test_page_size_caps_the_limit(tmp_path: Path) -> None:
    from tests.api.routes_fixtures import make_env

    for small in make_env(tmp_path, page_size=2):
        for _ in range(3):
            small.store_call()
        answer = small.client.get("/v1/calls", params={"limit": 500}, headers=small.as_("auditor"))
        assert len(answer.json()["items"]) == 2 and answer.json()["next"]


def test_review_overrides_are_appended_with_reasons(any_db_env: Env) -> None:
    env = any_db_env
    call_id = env.store_call("angry-customer")
    url, headers = f"/v1/calls/{call_id}/review", env.as_("qa_analyst")
    first = env.client.post(
        url, json={"rule_id": "recording_disclosure", "value": True, "reason": "said it"},
        headers=headers,
    )  # fmt: skip
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "reviewed"
    again = env.client.post(
        url, json={"rule_id": "recording_disclosure", "value": False, "reason": "misheard"},
        headers=headers,
    )  # fmt: skip
    reason = "fair; customer called back on 415-555-0100"
    score = env.client.post(url, json={"score": 75, "reason": reason}, headers=headers)
    assert again.status_code == 201 and score.status_code == 201
    overrides = env.client.get(f"/v1/calls/{call_id}", headers=headers).json()["review"]
    assert [(o.get("rule_id"), o["value"], o["previous"]) for o in overrides["overrides"]] == [
        ("recording_disclosure", True, False),
        ("recording_disclosure", False, True),
        (None, 75.0, 60.0),
    ]
    assert all(o["by"] == "acme-qa_analyst" and o["at"] for o in overrides["overrides"])
    assert overrides["overrides"][2]["reason"] == "fair; customer called back on [PHONE]"
    bad_bodies: list[tuple[dict[str, Any], tuple[int, str]]] = [
        ({"rule_id": "no_such_rule", "value": True, "reason": "x"}, (404, "not_found")),
        ({"rule_id": "greeting", "value": True, "reason": "   "}, (422, "invalid")),
        ({"rule_id": "greeting", "value": True, "reason": "x" * 2001}, (422, "invalid")),
        ({"rule_id": "greeting", "value": True}, (422, "invalid")),
        ({"rule_id": "greeting", "value": 3, "reason": "x"}, (422, "invalid")),
        ({"rule_id": "greeting", "score": True, "value": 3, "reason": "x"}, (422, "invalid")),
        ({"score": True, "value": 101, "reason": "x"}, (422, "invalid")),
        ({"value": 50, "reason": "x"}, (422, "invalid")),
        ({"rule_id": "greeting", "value": True, "reason": "x", "extra": 1}, (422, "invalid")),
    ]
    for body, expected in bad_bodies:
        assert error_of(env.client.post(url, json=body, headers=headers)) == expected, body
    answer = env.client.post(url, content=b"{not json", headers=headers)
    assert error_of(answer) == (422, "invalid")
    with env.services.store.session() as session:
        kinds = session.scalars(
            select(LedgerEntry.kind).where(LedgerEntry.call_id == call_id).order_by(LedgerEntry.seq)
        ).all()
        assert kinds == ["record", "review", "review", "review"]
        assert verify_ledger(session, "acme", keyring([env.services.signer])).ok
    assert audit_actions(env).count(("call.review", call_id, "ok")) == 3


def test_reviews_change_the_listed_score_and_verdict(env: Env) -> None:
    """Check overrides re-score the call with the policy's weights and pass score; a score
    override wins; lists and analytics show the outcome, the record keeps the analysis'."""
    policy = Path(__file__).resolve().parents[3] / "samples/policies/ecommerce-aftersales.yaml"
    put = env.client.put(
        "/v1/policies/ecommerce-aftersales",
        content=policy.read_bytes(),
        headers={**env.as_("qa_analyst"), "Content-Type": "application/yaml"},
    )
    assert put.status_code in (200, 201), put.text
    call_id = env.store_call("angry-customer")  # 60, failed: identity_verification is critical
    with env.services.store.session() as session:
        session.execute(
            update(Call)
            .where(Call.id == call_id)
            .values(policy_id="ecommerce-aftersales", policy_version=put.json()["version"])
        )
    url, headers = f"/v1/calls/{call_id}", env.as_("qa_analyst")

    def listed() -> tuple[float, bool]:
        items = env.client.get("/v1/calls", headers=headers).json()["items"]
        row = next(item for item in items if item["id"] == call_id)
        return row["score"], row["passed"]

    def override(body: dict[str, Any]) -> dict[str, Any]:
        answer = env.client.post(f"{url}/review", json={**body, "reason": "r"}, headers=headers)
        assert answer.status_code == 201, answer.text
        block: dict[str, Any] = answer.json()
        return block

    assert listed() == (60.0, False)
    block = override({"rule_id": "identity_verification", "value": True})  # +15 -> 75 < 80
    assert (block["score"], block["passed"]) == (75.0, False) and listed() == (75.0, False)
    block = override({"rule_id": "recording_disclosure", "value": True})  # +10 -> 85
    assert (block["score"], block["passed"]) == (85.0, True) and listed() == (85.0, True)
    rate = env.client.get("/v1/analytics", params={"metric": "pass_rate"}, headers=headers)
    assert rate.json()["groups"][0]["pass_rate"] == 1.0
    assert override({"score": True, "value": 70})["passed"] is False and listed() == (70.0, False)
    assert override({"rule_id": "identity_verification", "value": False})["score"] == 70.0
    record = env.client.get(url, headers=headers).json()
    assert (record["compliance"]["score"], record["compliance"]["passed"]) == (60.0, False)
    assert (record["review"]["score"], record["review"]["passed"]) == (70.0, False)


def test_without_its_policy_a_review_rescoring_keeps_the_analysis_verdict() -> None:
    from pipelines.record.verdicts import reviewed_outcome
    from tests.api.routes_fixtures import real_record

    record = real_record("angry-customer", "0" * 32, "acme")
    overrides = [{"rule_id": "identity_verification", "value": True}]
    assert reviewed_outcome(record, overrides, None) == (75.0, False)
    assert reviewed_outcome(record, overrides, 70.0) == (75.0, True)
    assert reviewed_outcome({"compliance": None}, overrides, 80.0) == (None, None)


def test_erasure_removes_content_and_keeps_a_tombstone(any_db_env: Env) -> None:
    env = any_db_env
    call_id = env.store_call()
    kept = env.store_call()
    folder = env.audio_root / "acme"
    assert len(list(folder.glob(f"{call_id}.*"))) == 2
    url, admin = f"/v1/calls/{call_id}", env.as_("admin")
    assert error_of(env.client.delete(url, headers=admin)) == (422, "invalid")
    answer = env.client.request("DELETE", url, json={"reason": "customer request"}, headers=admin)
    assert answer.status_code == 200, answer.text
    assert answer.json()["entries"] == 1 and answer.json()["files"] == 2
    assert not list(folder.glob(f"*{call_id}*")) and len(list(folder.glob(f"{kept}.*"))) == 2
    gone = env.client.get(url, headers=env.as_("qa_analyst"))
    assert error_of(gone) == (410, "erased") and "customer request" in gone.text
    for path in ("audio", "transcript.vtt", "diarization.rttm"):
        assert env.client.get(f"{url}/{path}", headers=env.as_("auditor")).status_code == 410
    review = {"score": 10, "reason": "x"}
    answer = env.client.post(f"{url}/review", json=review, headers=env.as_("qa_analyst"))
    assert error_of(answer) == (410, "erased")
    listed = env.client.get("/v1/calls", headers=env.as_("auditor")).json()["items"]
    assert [item["id"] for item in listed] == [kept]
    with env.services.store.session() as session:
        call = session.get(Call, call_id)
        assert call is not None and call.status == "erased" and call.erased_at is not None
        assert call.search_text is None and call.agent is None and call.audio_path is None
        assert verify_ledger(session, "acme", keyring([env.services.signer])).ok
    again = env.client.delete(url, params={"reason": "twice"}, headers=admin)
    assert again.status_code == 200 and again.json()["already_erased"] is True
    unknown = env.client.delete(f"/v1/calls/{'a' * 32}", params={"reason": "x"}, headers=admin)
    assert error_of(unknown) == (404, "not_found")
    assert ("call.erase", call_id, "ok") in audit_actions(env)


def test_running_call_is_not_erased_and_queued_job_is_stopped(env: Env) -> None:
    admin = env.as_("admin")
    running = env.pending_call("running")
    answer = env.client.delete(f"/v1/calls/{running}", params={"reason": "x"}, headers=admin)
    assert error_of(answer) == (409, "conflict")
    queued = env.pending_call("queued")
    answer = env.client.delete(f"/v1/calls/{queued}", params={"reason": "x"}, headers=admin)
    assert answer.status_code == 200
    status = env.client.get(f"/v1/calls/{queued}", headers=env.as_("qa_analyst"))
    assert error_of(status) == (410, "erased")


def test_retention_erases_old_calls_and_purges_old_audit(any_db_env: Env) -> None:
    env = any_db_env
    now = datetime.now(UTC)
    old = env.store_call(created_at=now - timedelta(days=40))
    recent = env.store_call(created_at=now - timedelta(days=5))
    other = env.store_call(tenant="globex", created_at=now - timedelta(days=40))
    with env.services.store.session() as session:
        tenant = session.get(Tenant, "acme")
        assert tenant is not None
        tenant.retention_days = 30
    report = purge_expired(env.services, now)
    assert (report.calls_erased, report.audit_purged) == (1, 0)
    with env.services.store.session() as session:
        assert {c.id: c.status for c in session.scalars(select(Call))} == {
            old: "erased", recent: "done", other: "done"  # globex keeps calls forever
        }  # fmt: skip
        assert verify_ledger(session, "acme", keyring([env.services.signer])).ok
    assert ("call.erase", old, "ok") in audit_actions(env)
    later = purge_expired(env.services, now + timedelta(days=400))
    assert later.calls_erased == 1 and later.audit_purged > 0  # the recent call, then the log
    assert audit_actions(env)[0][0] == "purge"


def test_tenants_never_see_each_other(env: Env) -> None:
    call_id = env.store_call(tenant="acme")
    other = env.as_("qa_analyst", "globex")
    for path in ("", "/audio", "/transcript.vtt", "/transcript.srt", "/transcript.txt",
                 "/diarization.rttm"):  # fmt: skip
        answer = env.client.get(f"/v1/calls/{call_id}{path}", headers=other)
        assert error_of(answer) == (404, "not_found"), path
    review = {"rule_id": "greeting", "value": False, "reason": "x"}
    answer = env.client.post(
        f"/v1/calls/{call_id}/review", json=review, headers=env.as_("qa_analyst", "globex")
    )
    assert error_of(answer) == (404, "not_found")
    answer = env.client.delete(
        f"/v1/calls/{call_id}", params={"reason": "x"}, headers=env.as_("admin", "globex")
    )
    assert error_of(answer) == (404, "not_found")
    listed = env.client.get("/v1/calls", headers=env.as_("auditor", "globex")).json()
    assert listed == {"items": [], "next": None}
    assert env.client.get(f"/v1/calls/{call_id}", headers=env.as_("auditor")).status_code == 200


ROUTES: list[tuple[str, str, set[str]]] = [
    ("GET", "/v1/calls", {"qa_analyst", "auditor"}),
    ("GET", "/v1/calls/{id}", {"qa_analyst", "auditor"}),
    ("GET", "/v1/calls/{id}/audio", {"qa_analyst", "auditor"}),
    ("GET", "/v1/calls/{id}/transcript.vtt", {"qa_analyst", "auditor"}),
    ("GET", "/v1/calls/{id}/transcript.srt", {"qa_analyst", "auditor"}),
    ("GET", "/v1/calls/{id}/transcript.txt", {"qa_analyst", "auditor"}),
    ("GET", "/v1/calls/{id}/diarization.rttm", {"qa_analyst", "auditor"}),
    ("POST", "/v1/calls/{id}/review", {"qa_analyst"}),
    ("DELETE", "/v1/calls/{id}?reason=test", {"admin"}),
]


@pytest.mark.parametrize(("method", "path", "allowed"), ROUTES)
def test_roles(env: Env, method: str, path: str, allowed: set[str]) -> None:
    body = {"rule_id": "greeting", "value": False, "reason": "roles"} if method == "POST" else None
    for role in ("ingest", "auditor", "qa_analyst", "admin"):  # admin last: it erases
        call_id = env.store_call()
        url = path.replace("{id}", call_id)
        answer = env.client.request(method, url, json=body, headers=env.as_(role))
        if role in allowed:
            assert answer.status_code in (200, 201), (role, answer.text)
        else:
            assert error_of(answer) == (403, "forbidden"), role
    assert error_of(env.client.request(method, path.replace("{id}", "0" * 32))) == (
        401,
        "unauthorized",
    )


def test_record_json_is_what_the_ledger_holds(env: Env) -> None:
    call_id = env.store_call()
    served = env.client.get(f"/v1/calls/{call_id}", headers=env.as_("auditor")).json()
    with env.services.store.session() as session:
        body = session.scalars(select(LedgerEntry.body).where(LedgerEntry.call_id == call_id)).one()
    assert body is not None
    stored = json.loads(body)
    added = ("integrity", "review", "rescores", "verdict")  # served beside the stored body
    assert {k: v for k, v in served.items() if k not in added} == {
        k: v for k, v in stored.items() if k != "review"
    }
    assert served["rescores"] == [] and served["verdict"]["source"] == "analysis"


def test_retention_sweeper_runs_in_the_background(env: Env) -> None:
    old = env.store_call(created_at=datetime.now(UTC) - timedelta(days=40))
    with env.services.store.session() as session:
        session.add(Tenant(name="acme-short", retention_days=1, created_at=datetime.now(UTC)))
        tenant = session.get(Tenant, "acme")
        assert tenant is not None
        tenant.retention_days = 30
    sweeper = RetentionSweeper(env.services, every_s=0.05)
    sweeper.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=20)
        while datetime.now(UTC) < deadline:
            with env.services.store.session() as session:
                call = session.get(Call, old)
                if call is not None and call.status == "erased":
                    break
            time.sleep(0.05)
    finally:
        sweeper.stop()
    assert call is not None and call.status == "erased"
