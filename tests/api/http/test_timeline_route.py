"""``GET /v1/calls/{id}/timeline.svg``: the timeline picture of a stored record, for the roles
that read records, audited, never another tenant's."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from sqlalchemy import select

from api.store.schema import AuditEntry
from tests.api.routes_fixtures import Env, env, error_of

__all__ = ["env"]  # fixture, imported for pytest


def timeline_audits(env: Env) -> list[tuple[str | None, str]]:
    with env.services.store.session() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "call.timeline").order_by(AuditEntry.seq)
        )
        return [(row.target, row.result) for row in rows]


def test_analyst_and_auditor_get_the_svg(env: Env) -> None:
    call_id = env.store_call("angry-customer")
    for role in ("qa_analyst", "auditor"):
        answer = env.client.get(f"/v1/calls/{call_id}/timeline.svg", headers=env.as_(role))
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "image/svg+xml"
        assert answer.headers["cache-control"] == "no-store"
        root = ET.fromstring(answer.content)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert float(root.attrib["data-t1"]) == 27.851  # the record's audio duration
        title = root.find("{http://www.w3.org/2000/svg}title")
        assert title is not None and title.text is not None
        assert "compliance 60 (failed)" in title.text
    assert timeline_audits(env) == [(call_id, "ok"), (call_id, "ok")]


def test_other_roles_no_key_and_other_tenants_are_refused(env: Env) -> None:
    call_id = env.store_call()
    url = f"/v1/calls/{call_id}/timeline.svg"
    for role in ("ingest", "admin"):
        assert error_of(env.client.get(url, headers=env.as_(role))) == (403, "forbidden"), role
    assert error_of(env.client.get(url)) == (401, "unauthorized")
    other = env.client.get(url, headers=env.as_("qa_analyst", "globex"))
    assert error_of(other) == (404, "not_found")
    assert b"<svg" not in other.content
    unknown = env.client.get(f"/v1/calls/{'0' * 32}/timeline.svg", headers=env.as_("auditor"))
    assert error_of(unknown) == (404, "not_found")
    pending = env.pending_call("running", step="transcribe", progress=0.5)
    answer = env.client.get(f"/v1/calls/{pending}/timeline.svg", headers=env.as_("auditor"))
    assert error_of(answer) == (409, "processing")
    assert ("0" * 32, "not_found") in timeline_audits(env)


def test_the_picture_shows_the_reviewed_verdicts(env: Env) -> None:
    call_id = env.store_call("angry-customer")
    url, headers = f"/v1/calls/{call_id}", env.as_("qa_analyst")
    body = {"rule_id": "recording_disclosure", "value": True, "reason": "said before the beep"}
    assert env.client.post(f"{url}/review", json=body, headers=headers).status_code == 201
    root = ET.fromstring(env.client.get(f"{url}/timeline.svg", headers=headers).content)
    title = root.find("{http://www.w3.org/2000/svg}title")
    assert title is not None and title.text is not None
    assert "7 checks passed, 4 failed" in title.text  # was 6 and 5
