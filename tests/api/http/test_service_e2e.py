"""Upload -> job -> record -> export -> verify through HTTP, on SQLite and on PostgreSQL.

Real audio (a scripted stereo test call with a card number read out), real models, the
embedded huey queue with an in-process worker, and the real ``callqa verify``.
"""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import text as sql

from api.cli.main import main as cli_main
from api.http.app import create_app
from pipelines.core.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
CALLS = ROOT / "tests" / "data" / "calls"
POLICY = ROOT / "samples" / "policies" / "ecommerce-aftersales.yaml"
ADMIN = "cqa_e2e-admin-key-0123456789abcdef0123456789"
CARD_DIGITS = ("4111", "1111 1111", "4111111111111111")


def _wait_done(client: TestClient, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        status: dict[str, Any] = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if status["status"] in ("done", "failed"):
            return status
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not finish: {status}")


def _rescore_and_review(
    client: TestClient, call_id: str, keys: dict[str, dict[str, str]], verdicts: dict[str, bool]
) -> None:
    """A second policy version re-scores the stored call (a chain entry, as a job too), a
    reviewer overrides a check, and the agreement report counts the call."""
    second = POLICY.read_text(encoding="utf-8").replace('version: "2025.1"', 'version: "2025.2"')
    put = client.put(
        "/v1/policies/ecommerce-aftersales",
        content=second.encode(),
        headers={**keys["qa_analyst"], "Content-Type": "application/yaml"},
    )
    assert put.json()["version"] == 2, put.text
    dry = client.post(
        "/v1/policies/ecommerce-aftersales/rescore",
        json={"version": 2, "dry_run": True},
        headers=keys["qa_analyst"],
    )
    report = _wait_done(client, dry.json()["job_id"], keys["qa_analyst"])["result"]
    assert report["calls"] == 1 and report["would_rescore"] == 1
    answer = client.post(
        f"/v1/calls/{call_id}/rescore",
        json={"policy_id": "ecommerce-aftersales", "version": 2},
        headers=keys["qa_analyst"],
    )
    assert answer.status_code == 201, answer.text
    rescored = answer.json()
    assert {c["rule_id"]: c["passed"] for c in rescored["checks"]} == verdicts  # same rules
    assert rescored["changes"] == [] and rescored["policy"]["version"] == "2025.2"
    record = client.get(f"/v1/calls/{call_id}", headers=keys["auditor"]).json()
    assert [r["seq"] for r in record["rescores"]] == [rescored["seq"]]
    assert record["verdict"]["source"] == "rescore" and record["verdict"]["policy_version"] == 2
    rule = next(iter(verdicts))
    review = client.post(
        f"/v1/calls/{call_id}/review",
        json={"rule_id": rule, "value": not verdicts[rule], "reason": "listened to it"},
        headers=keys["qa_analyst"],
    )
    assert review.status_code == 201, review.text
    agreement = client.get(
        "/v1/analytics/agreement",
        params={"policy_id": "ecommerce-aftersales"},
        headers=keys["auditor"],
    ).json()
    assert agreement["reviewed_calls"] == 1
    row = next(r for r in agreement["rules"] if r["rule_id"] == rule)
    assert (row["reviewed"], row["agreed"]) == (1, 0)


@pytest.mark.slow
def test_upload_to_verified_export(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        admin_key=SecretStr(ADMIN),
        signing_key=SecretStr("hmac:e2e-signing-secret"),
    )
    monkeypatch.setenv("CALLQA_SIGNING_KEY", "hmac:e2e-signing-secret")
    admin = {"Authorization": f"Bearer {ADMIN}"}
    with TestClient(create_app(settings, workers=1)) as client:
        keys = {}
        for role in ("ingest", "qa_analyst", "auditor"):
            answer = client.post(
                "/v1/keys", json={"name": f"e2e-{role}", "roles": [role]}, headers=admin
            )
            assert answer.status_code == 201, answer.text
            keys[role] = {"Authorization": f"Bearer {answer.json()['key']}"}
        put = client.put(
            "/v1/policies/ecommerce-aftersales",
            content=POLICY.read_bytes(),
            headers={**keys["qa_analyst"], "Content-Type": "application/yaml"},
        )
        assert put.status_code in (200, 201), put.text
        words = {"terms": [{"term": "Northwind", "spoken": ["north wind"]}]}
        vocabulary = client.put("/v1/vocabulary", json=words, headers=keys["qa_analyst"])
        assert vocabulary.status_code == 201, vocabulary.text

        with (CALLS / "payment-card.wav").open("rb") as audio:
            answer = client.post(
                "/v1/calls",
                files={"file": ("card call.wav", audio, "application/octet-stream")},
                data={
                    "metadata": json.dumps(
                        {
                            "agent": "agent-7",
                            "note": "call back 415-555-0100",
                            "caller": "+1 415 555 0199",
                        }
                    ),
                    "policy_id": "ecommerce-aftersales",
                    "layout": "stereo-agent-left",
                },
                headers=keys["ingest"],
            )
        assert answer.status_code == 202, answer.text
        accepted = answer.json()
        status = _wait_done(client, accepted["job_id"], keys["ingest"])
        assert status["status"] == "done", status

        record = client.get(f"/v1/calls/{accepted['call_id']}", headers=keys["qa_analyst"]).json()
        assert record["id"] == accepted["call_id"]
        assert record["integrity"]["signature"] and record["integrity"]["key_id"]
        assert record["compliance"]["policy"]["id"] == "ecommerce-aftersales"
        expected = json.loads((CALLS / "expected.json").read_text())["payment-card"]
        verdicts = {check["rule_id"]: check["passed"] for check in record["compliance"]["checks"]}
        assert verdicts == expected["compliance"]
        text = json.dumps(record)
        assert not any(digits in text for digits in CARD_DIGITS)
        assert {entity["type"] for entity in record["pii"]["entities"]} >= {"CARD", "CVV"}
        assert record["provenance"]["options"]["vocabulary"]["version"] == 1
        summary = record["summary"]  # the worker summarized the call and linked its caller
        assert summary["outcome"] in {"resolved", "follow_up", "transferred", "unresolved"}
        assert summary["reason"] and summary["reason"]["segments"]
        assert record["metrics"]["repeat_contact"] is None  # the caller's first call
        assert "5550199" not in text and "555 0199" not in text
        fcr = client.get("/v1/analytics/fcr", headers=keys["qa_analyst"]).json()
        assert fcr["overall"]["calls"] == 1
        _rescore_and_review(client, accepted["call_id"], keys, verdicts)

        listing = client.get("/v1/calls", params={"agent": "agent-7"}, headers=keys["auditor"])
        assert [item["id"] for item in listing.json()["items"]] == [accepted["call_id"]]
        assert listing.json()["items"][0]["metadata"]["caller_known"] is True
        assert "0199" not in listing.text
        vtt = client.get(f"/v1/calls/{accepted['call_id']}/transcript.vtt", headers=keys["auditor"])
        assert vtt.text.startswith("WEBVTT") and "4111" not in vtt.text

        export = client.get("/v1/export", params={"format": "jsonl"}, headers=keys["auditor"])
        assert export.status_code == 200, export.text
        assert not any(digits in export.text for digits in CARD_DIGITS)
        bundle = tmp_path / "bundle.zip"
        bundle.write_bytes(export.content)

    assert cli_main(["verify", str(bundle)]) == 0
    assert cli_main(["verify", database_url]) == 0
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(tampered, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.startswith("records"):
                at = data.index(b"duration_s") + len(b'duration_s":')
                while not data[at : at + 1].isdigit():
                    at += 1
                digit = b"1" if data[at : at + 1] != b"1" else b"2"
                data = data[:at] + digit + data[at + 1 :]
            target.writestr(item, data)
    assert cli_main(["verify", str(tampered)]) == 1


@pytest.mark.slow
def test_server_restart_loses_no_upload(tmp_path: Path) -> None:
    """An upload accepted by a server without workers is analyzed after a restart."""
    settings = Settings(
        data_dir=tmp_path / "data",
        admin_key=SecretStr(ADMIN),
        signing_key=SecretStr("hmac:e2e-signing-secret"),
    )
    admin = {"Authorization": f"Bearer {ADMIN}"}
    with TestClient(create_app(settings, workers=0)) as client:
        key = client.post(
            "/v1/keys", json={"name": "restart", "roles": ["ingest"]}, headers=admin
        ).json()["key"]
        ingest = {"Authorization": f"Bearer {key}"}
        with (ROOT / "tests" / "data" / "stereo" / "two-speakers-stereo.wav").open("rb") as audio:
            accepted = client.post("/v1/calls", files={"file": audio}, headers=ingest).json()
        assert client.get(f"/v1/jobs/{accepted['job_id']}", headers=ingest).json()["status"] == (
            "queued"
        )
    with TestClient(create_app(settings, workers=1)) as client:
        assert _wait_done(client, accepted["job_id"], ingest)["status"] == "done"
        record = client.get(f"/v1/calls/{accepted['call_id']}", headers=admin)
        assert record.status_code == 403  # admins manage keys; analysts and auditors read calls


def test_a_second_call_about_the_same_order_is_a_repeat_contact(tmp_path: Path) -> None:
    """The worker keys the order number said in the call ("5 5 7 2 1"), redacts it, and links
    the customer's second call to the first by it alone (no caller id was sent)."""
    settings = Settings(
        data_dir=tmp_path / "data", admin_key=SecretStr(ADMIN),
        signing_key=SecretStr("hmac:e2e-signing-secret"),
    )  # fmt: skip
    admin = {"Authorization": f"Bearer {ADMIN}"}
    with TestClient(create_app(settings, workers=1)) as client:
        key = client.post(
            "/v1/keys", json={"name": "e2e", "roles": ["ingest", "qa_analyst"]}, headers=admin
        ).json()["key"]
        headers = {"Authorization": f"Bearer {key}"}
        calls = []
        for _ in range(2):
            with (CALLS / "compliant-return.wav").open("rb") as audio:
                answer = client.post(
                    "/v1/calls",
                    files={"file": ("return.wav", audio, "audio/wav")},
                    data={"layout": "stereo-agent-left"},
                    headers=headers,
                )
            assert answer.status_code == 202, answer.text
            assert _wait_done(client, answer.json()["job_id"], headers)["status"] == "done"
            calls.append(answer.json()["call_id"])
        first, second = (client.get(f"/v1/calls/{c}", headers=headers).json() for c in calls)
        assert first["metrics"]["repeat_contact"] is None
        repeat = second["metrics"]["repeat_contact"]
        assert repeat["previous_call_id"] == calls[0] and repeat["days_since"] < 1
        assert "REFERENCE" in {e["type"] for e in second["pii"]["entities"]}
        for record in (first, second):
            text = json.dumps(record)
            assert "5 5 7 2 1" not in text and "55721" not in text
        services = client.app.state.services  # type: ignore[attr-defined]
        with services.store.session() as session:
            kinds = session.execute(sql("SELECT kind, count(*) FROM contact_keys GROUP BY kind"))
            assert dict(kinds.all()) == {"order": 2}
