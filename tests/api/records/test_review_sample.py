"""``GET /v1/review/sample``: close calls first, a random share of the rest, never a call
already reviewed, never another tenant's."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from api.store.schema import Call
from tests.api.routes_fixtures import Env, env, error_of

__all__ = ["env"]  # fixtures, imported for pytest


def sample(env: Env, **params: Any) -> dict[str, Any]:
    answer = env.client.get("/v1/review/sample", params=params, headers=env.as_("qa_analyst"))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_close_calls_first_then_a_random_share_of_unreviewed_calls(env: Env) -> None:
    close = {}
    for count in (1, 3, 2):
        call_id = env.store_call()
        close[call_id] = count
    plain = [env.store_call() for _ in range(6)]
    reviewed = env.store_call()
    other_tenant = env.store_call(tenant="globex")
    with env.services.store.session() as session:
        for call_id, count in close.items():
            session.execute(update(Call).where(Call.id == call_id).values(close_calls=count))
        session.execute(update(Call).where(Call.id == reviewed).values(close_calls=5))
    answer = env.client.post(
        f"/v1/calls/{reviewed}/review",
        json={"score": 80, "reason": "checked"},
        headers=env.as_("qa_analyst"),
    )
    assert answer.status_code == 201, answer.text

    drawn = sample(env, size=5, random_share=0.4, seed=7)
    ids = [item["id"] for item in drawn["items"]]
    whys = [item["why"] for item in drawn["items"]]
    assert whys == ["close_call"] * 3 + ["random"] * 2
    assert ids[:3] == sorted(close, key=lambda c: -close[c])  # most close calls first
    assert set(ids[3:]) <= set(plain) and len(set(ids)) == 5
    assert reviewed not in ids and other_tenant not in ids
    assert sample(env, size=5, random_share=0.4, seed=7)["items"] == drawn["items"]

    honest = sample(env, size=4, random_share=0.5, seed=1)  # half at random, close or not
    assert [i["why"] for i in honest["items"]] == ["close_call"] * 2 + ["random"] * 2
    everything = sample(env, size=50, random_share=0.0)  # fewer close calls: the rest random
    assert (everything["close_call"], everything["random"]) == (3, 6)


def test_sample_roles_and_bad_input(env: Env) -> None:
    for role in ("auditor", "admin", "ingest"):
        answer = env.client.get("/v1/review/sample", headers=env.as_(role))
        assert error_of(answer) == (403, "forbidden")
    for params in ({"size": 0}, {"random_share": 1.5}, {"from": "later"}, {"seed": -1}):
        answer = env.client.get("/v1/review/sample", params=params, headers=env.as_("qa_analyst"))
        assert error_of(answer) == (422, "invalid"), params
