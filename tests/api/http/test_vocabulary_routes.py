"""``PUT/GET /v1/vocabulary``: versions per tenant, roles, bad input, audit."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from api.store.schema import AuditEntry
from api.store.vocabulary import current_vocabulary
from tests.api.routes_fixtures import Env, any_db_env, env, error_of

__all__ = ["any_db_env", "env"]  # fixtures, imported for pytest

TERMS = [{"term": "Flexi Roam", "spoken": ["flexy roam", "flexi rome"]}, "Brightline Mobile"]


def test_versions_per_tenant_and_repeats_store_nothing(any_db_env: Env) -> None:
    env = any_db_env
    headers = env.as_("qa_analyst")
    empty = env.client.get("/v1/vocabulary", headers=headers)
    assert empty.status_code == 200 and empty.json()["version"] is None
    first = env.client.put("/v1/vocabulary", json={"terms": TERMS}, headers=headers)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["version"] == 1 and body["created_by"] == "acme-qa_analyst"
    assert body["terms"] == [
        {"term": "Flexi Roam", "spoken": ["flexy roam", "flexi rome"]},
        {"term": "Brightline Mobile", "spoken": []},
    ]
    again = env.client.put("/v1/vocabulary", json={"terms": TERMS}, headers=env.as_("admin"))
    assert again.status_code == 200 and again.json()["version"] == 1
    second = env.client.put("/v1/vocabulary", json={"terms": TERMS[:1]}, headers=headers)
    assert second.status_code == 201 and second.json()["version"] == 2
    assert env.client.get("/v1/vocabulary", headers=env.as_("admin")).json() == second.json()
    theirs = env.client.get("/v1/vocabulary", headers=env.as_("qa_analyst", "globex")).json()
    assert theirs["version"] is None and theirs["terms"] == []
    with env.services.store.session() as session:
        words = current_vocabulary(session, "acme")
        assert (words.version, words.words) == (2, ("Flexi Roam",))
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.tenant == "acme").order_by(AuditEntry.seq)
        ).all()
    assert [a for a in actions if a.startswith("vocabulary.")] == [
        "vocabulary.read", "vocabulary.put", "vocabulary.put", "vocabulary.put", "vocabulary.read",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "body",
    [
        {"terms": "Brightline"},
        {"terms": [{"term": "4111 1111 1111 1111"}]},
        {"terms": [{"term": "A", "spoken": ["a"], "weight": 2}]},
        {"terms": ["same", "Same"]},
        {"terms": [""]},
        {"words": ["Brightline"]},
        {"terms": [f"term {i}" for i in range(201)]},
    ],
)
def test_bad_vocabularies_are_refused_and_nothing_stored(env: Env, body: dict[str, Any]) -> None:
    headers = env.as_("qa_analyst")
    assert env.client.put("/v1/vocabulary", json={"terms": ["Kept"]}, headers=headers).is_success
    assert error_of(env.client.put("/v1/vocabulary", json=body, headers=headers)) == (
        422, "invalid",
    )  # fmt: skip
    kept = env.client.get("/v1/vocabulary", headers=headers).json()
    assert (kept["version"], kept["terms"]) == (1, [{"term": "Kept", "spoken": []}])


@pytest.mark.parametrize("role", ["auditor", "ingest"])
def test_only_analysts_and_admins_touch_the_vocabulary(env: Env, role: str) -> None:
    headers = env.as_(role)
    assert error_of(env.client.get("/v1/vocabulary", headers=headers)) == (403, "forbidden")
    answer = env.client.put("/v1/vocabulary", json={"terms": ["X"]}, headers=headers)
    assert error_of(answer) == (403, "forbidden")
