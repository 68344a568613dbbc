"""``GET /v1/analytics/agreement`` on stored calls with known verdicts, scores and review
overrides: every figure is worked out by hand below and must come back exactly."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.records.test_rescore_routes import PID, put_versions
from tests.api.routes_fixtures import Env, any_db_env, env, error_of

__all__ = ["any_db_env", "env"]  # fixtures, imported for pytest

# per call: (greeting: machine, score), (no_rudeness: machine, score), overrides
CALLS: list[tuple[tuple[bool, float], tuple[bool, float], dict[str, bool]]] = [
    ((True, 0.90), (True, 0.20), {"no_rudeness": True}),  # a confirmation: both agree
    ((True, 0.65), (True, 0.30), {"greeting": False}),  # greeting: a false pass
    ((False, 0.55), (False, 0.80), {"greeting": True}),  # greeting: a false fail
    ((False, 0.30), (True, 0.70), {"no_rudeness": False}),  # no_rudeness: a false pass
    ((True, 0.62), (True, 0.10), {"greeting": False}),  # greeting: a false pass
    ((False, 0.10), (False, 0.95), {}),  # never reviewed: counts nowhere
]


def compliance(greeting: tuple[bool, float], rude: tuple[bool, float]) -> dict[str, Any]:
    def check(
        rule: str, kind: str, verdict: tuple[bool, float], threshold: float
    ) -> dict[str, Any]:
        return {
            "rule_id": rule, "kind": kind, "passed": verdict[0], "severity": "major",
            "weight": 50.0, "evidence": [], "detail": "", "score": verdict[1],
            "threshold": threshold, "close_call": abs(verdict[1] - threshold) <= 0.05,
        }  # fmt: skip

    checks = [
        check("greeting", "required_line", greeting, 0.6),
        check("no_rudeness", "forbidden_phrase", rude, 0.75),
    ]
    score = 50.0 * sum(c["passed"] for c in checks)
    policy = {"id": PID, "version": "2025.1", "sha256": "0" * 64}
    return {"policy": policy, "score": score, "passed": score >= 80, "checks": checks}


def test_agreement_figures_are_exact(any_db_env: Env) -> None:
    env = any_db_env
    put_versions(env)
    headers = env.as_("qa_analyst")
    for greeting, rude, overrides in CALLS:
        call_id = env.store_call(edit={"compliance": compliance(greeting, rude)})
        for rule, value in overrides.items():
            body = {"rule_id": rule, "value": value, "reason": "listened"}
            answer = env.client.post(f"/v1/calls/{call_id}/review", json=body, headers=headers)
            assert answer.status_code == 201, answer.text
    env.store_call("angry-customer", tenant="globex")

    report = env.client.get(
        "/v1/analytics/agreement", params={"policy_id": PID}, headers=env.as_("auditor")
    ).json()
    assert report["reviewed_calls"] == 5
    greeting, rude = report["rules"]  # lowest agreement first
    # greeting: machine T T F F T, reviewers T F T F F -> 2 of 5 agree; 2 false passes, 1 false
    # fail; p_o 0.4, p_e (3*2 + 2*3) / 25 = 0.48, kappa (0.4 - 0.48) / 0.52 = -0.1538.
    # By score alone (pass at >= t), scores .90T .65F .55T .30F .62F: at 0.6 2 of 5 agree, at
    # 0.775 (between .65 and .90) 4 of 5.
    assert greeting == {
        "rule_id": "greeting", "kind": "required_line", "reviewed": 5, "agreed": 2,
        "agreement": 0.4, "kappa": -0.1538, "false_passes": 2, "false_fails": 1,
        "threshold": 0.6, "low_agreement": True,
        "suggested": {"threshold": 0.775, "agreement": 0.8, "current_agreement": 0.4},
    }  # fmt: skip
    # no_rudeness: machine T T F T T, reviewers T T F F T -> 4 of 5; 1 false pass; p_e
    # (4*3 + 1*2) / 25 = 0.56, kappa (0.8 - 0.56) / 0.44 = 0.5455. Forbidden: pass at < t;
    # scores .20T .30T .80F .70F .10T: at 0.75 4 of 5, at 0.5 (between .30 and .70) all 5.
    assert rude == {
        "rule_id": "no_rudeness", "kind": "forbidden_phrase", "reviewed": 5, "agreed": 4,
        "agreement": 0.8, "kappa": 0.5455, "false_passes": 1, "false_fails": 0,
        "threshold": 0.75, "low_agreement": False,
        "suggested": {"threshold": 0.5, "agreement": 1.0, "current_agreement": 0.8},
    }  # fmt: skip
    assert report["low_agreement"] == ["greeting"]

    theirs = env.client.get(
        "/v1/analytics/agreement",
        params={"policy_id": PID},
        headers=env.as_("qa_analyst", "globex"),
    )
    assert theirs.status_code == 404  # globex has no such policy: nothing of acme's shows
    window = env.client.get(
        "/v1/analytics/agreement",
        params={"policy_id": PID, "to": "2000-01-01T00:00:00Z"},
        headers=headers,
    ).json()
    assert window["reviewed_calls"] == 0 and window["rules"] == []


@pytest.mark.parametrize(
    ("params", "role", "expected"),
    [
        ({"policy_id": PID}, "admin", (403, "forbidden")),
        ({"policy_id": PID}, "ingest", (403, "forbidden")),
        ({"policy_id": "no-such"}, "qa_analyst", (404, "not_found")),
        ({}, "qa_analyst", (422, "invalid")),
        ({"policy_id": "bad id"}, "qa_analyst", (422, "invalid")),
        ({"policy_id": PID, "from": "soon"}, "qa_analyst", (422, "invalid")),
    ],
)
def test_agreement_roles_and_bad_input(
    env: Env, params: dict[str, str], role: str, expected: tuple[int, str]
) -> None:
    put_versions(env)
    answer = env.client.get("/v1/analytics/agreement", params=params, headers=env.as_(role))
    assert error_of(answer) == expected
