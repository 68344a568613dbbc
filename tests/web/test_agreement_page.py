"""Calibration on the review page, in headless Chromium against a real server: close calls on
the scorecard and as a list filter, the dashboard's agreement with reviewers (and the same
low-agreement rule flagged on a call's scorecard), and a re-scored call's current verdict.

Calls are stored from real records with a calibrated compliance (matcher scores, thresholds,
close calls); reviews and re-scores go through the API as a client would send them."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.api.records.test_rescore_routes import PID, second_version
from tests.web.web_fixtures import (
    NAMELESS,
    RECORDS,
    UNLABELLED,
    Site,
    artifacts_dir,
    running_site,
    sign_in,
    sign_out,
    store_call,
    store_sample_policy,
)

pytestmark = pytest.mark.slow

THRESHOLD = 0.75
REVIEWED = 5  # calls reviewed through the API: enough for the agreement report to flag a rule


def calibrated(close_rule: str | None = None) -> dict[str, Any]:
    """compliant-return's compliance with a matcher score, threshold and close-call flag on
    every check: clear passes, but for ``close_rule`` (0.77 against 0.75)."""
    record = json.loads((RECORDS / "compliant-return.json").read_text(encoding="utf-8"))
    compliance: dict[str, Any] = copy.deepcopy(record["compliance"])
    for check in compliance["checks"]:
        clear = 0.2 if check["kind"] == "forbidden_phrase" else 0.9  # forbidden: passes below
        score = 0.77 if check["rule_id"] == close_rule else clear
        check.update(score=score, threshold=THRESHOLD, close_call=abs(score - THRESHOLD) <= 0.05)
    return compliance


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with running_site(tmp_path_factory.mktemp("web-agreement")) as running:
        store_sample_policy(running)  # version 1
        second = second_version()
        answer = httpx.put(
            f"{running.url}/v1/policies/{PID}",
            content=second.encode(),
            headers={**auth(running, "qa_analyst"), "Content-Type": "application/yaml"},
        )
        assert answer.status_code == 201 and answer.json()["version"] == 2, answer.text
        yield running


@pytest.fixture(scope="module")
def calls(site: Site) -> dict[str, Any]:
    """The calls of these tests: one with a close call, five to review, one to re-score."""
    return {
        "close": store_call(site, agent="agent-close", edit={"compliance": calibrated("greeting")}),
        "reviewed": [
            store_call(site, agent=f"agent-review-{n}", edit={"compliance": calibrated()})
            for n in range(REVIEWED)
        ],
        "rescored": store_call(site, "angry-customer", agent="agent-rescore"),
    }


def auth(site: Site, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {site.keys[role]}"}


def open_call(page: Page, site: Site, call_id: str) -> None:
    page.goto(f"{site.url}/#/calls/{call_id}")
    expect(page.locator("#scorecard")).to_be_visible()


def assert_accessible(page: Page, view: str) -> None:
    page.wait_for_load_state("networkidle")
    page.evaluate("document.querySelectorAll('details').forEach((box) => { box.open = true; })")
    assert page.evaluate(UNLABELLED) == [], view
    assert page.evaluate(NAMELESS) == [], view


def test_a_close_call_shows_its_badge(page: Page, site: Site, calls: dict[str, Any]) -> None:
    sign_in(page, site, "auditor")
    open_call(page, site, calls["close"])
    badge = page.locator('.check[data-rule-id="greeting"] .close-call')
    expect(badge).to_be_visible()
    expect(badge).to_contain_text("close call: 0.77 vs 0.75")
    title = badge.get_attribute("title") or ""
    assert "unsure" in title and "review is advised" in title, title
    expect(page.locator(".check .close-call")).to_have_count(1)  # the clear checks have none
    page.screenshot(path=artifacts_dir() / "call-view-close-call.png", full_page=True)


def test_the_close_calls_filter_narrows_the_list(
    page: Page, site: Site, calls: dict[str, Any]
) -> None:
    listed = httpx.get(
        f"{site.url}/v1/calls", params={"close_call": "true"}, headers=auth(site, "qa_analyst")
    ).json()["items"]
    expected = {item["id"] for item in listed}
    assert calls["close"] in expected
    sign_in(page, site, "qa_analyst")
    rows = page.locator("#calls-body tr")
    total = site.history + REVIEWED + 2
    expect(rows).to_have_count(total)
    close = page.locator(f'#calls-body tr[data-call-id="{calls["close"]}"]')
    expect(close.locator(".close-call")).to_have_text("1 close call")
    clear = page.locator(f'#calls-body tr[data-call-id="{calls["reviewed"][0]}"]')
    expect(clear.locator(".close-call")).to_have_count(0)

    page.get_by_label("Close calls only").focus()  # by keyboard: tick it, tab on, search
    page.keyboard.press("Space")
    expect(page.get_by_label("Close calls only")).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Search")).to_be_focused()
    page.keyboard.press("Enter")
    expect(rows).to_have_count(len(expected))
    assert len(expected) < total
    assert {row.get_attribute("data-call-id") for row in rows.all()} == expected
    page.get_by_role("button", name="Reset").click()
    expect(page.get_by_label("Close calls only")).not_to_be_checked()
    expect(rows).to_have_count(total)
    assert_accessible(page, "#/calls")


def test_agreement_with_reviewers_flags_a_rule_on_the_dashboard_and_the_scorecard(
    page: Page, site: Site, calls: dict[str, Any]
) -> None:
    sign_in(page, site, "qa_analyst")
    page.get_by_role("link", name="Dashboard").click()
    policy = page.get_by_label("Policy", exact=True)
    expect(policy).to_have_value(PID)  # the listed calls' most common policy
    report = page.locator("#agreement-report")
    expect(report.locator("#agreement-summary")).to_be_visible()
    expect(page.locator("#agreement tr.low-agreement")).to_have_count(0)

    # the reviewers fail the greeting on three of five calls the machine passed; on the other
    # two they confirm another check, so those calls count as reviewed too
    for n, call_id in enumerate(calls["reviewed"]):
        body = (
            {"rule_id": "greeting", "value": False, "reason": "no greeting before the hold"}
            if n < 3
            else {"rule_id": "empathy", "value": True, "reason": "listened: fine"}
        )
        answer = httpx.post(
            f"{site.url}/v1/calls/{call_id}/review", json=body, headers=auth(site, "qa_analyst")
        )
        assert answer.status_code == 201, answer.text

    page.get_by_role("button", name="Show agreement").click()
    low = page.locator('#agreement tr.low-agreement[data-rule-id="greeting"]')
    expect(low).to_be_visible()
    expect(low.locator("th")).to_contain_text("low agreement")
    cells = low.locator("td")
    expect(cells.nth(0)).to_have_text(re.compile(r"^[5-9]$"))  # reviewed (>= 5)
    expect(cells.nth(1)).to_have_text(re.compile(r"^[0-7]?\d%$"))  # agreement under 80%
    expect(cells.nth(2)).to_have_text(re.compile(r"^-?\d\.\d\d$|^–$"))  # kappa
    expect(cells.nth(3)).to_have_text(re.compile(r"^[3-9]$"))  # false passes
    expect(cells.nth(5)).to_have_text("0.75")  # the rule's threshold
    expect(cells.nth(6)).to_contain_text(re.compile(r"^\d\.\d+ \(would agree \d+%\)$"))
    expect(report.locator("#agreement-summary")).to_contain_text("Low agreement: greeting")
    expect(page.locator('#agreement tr[data-rule-id="empathy"]')).not_to_have_class(
        re.compile("low-agreement")
    )
    page.screenshot(path=artifacts_dir() / "dashboard-agreement.png", full_page=True)
    assert_accessible(page, "#/dashboard")

    policy.fill("no-such-policy")
    policy.press("Enter")
    expect(report.locator(".error")).to_contain_text("no policy 'no-such-policy'")
    expect(page.locator("#agreement-table")).to_have_count(0)

    for role in ("qa_analyst", "auditor"):  # the same rule flagged on a call of the policy
        if role == "auditor":
            sign_out(page)
            sign_in(page, site, role)
        open_call(page, site, calls["reviewed"][REVIEWED - 1])
        flag = page.locator('.check[data-rule-id="greeting"] .low-agreement')
        expect(flag).to_have_text("low agreement with reviewers")
        expect(page.locator(".check .low-agreement")).to_have_count(1)
    page.screenshot(path=artifacts_dir() / "call-view-low-agreement.png", full_page=True)


def test_a_scorecard_stands_when_the_agreement_report_fails(
    page: Page, site: Site, calls: dict[str, Any]
) -> None:
    page.route("**/v1/analytics/agreement*", lambda route: route.abort())
    sign_in(page, site, "qa_analyst")
    open_call(page, site, calls["close"])
    expect(page.locator(".check")).to_have_count(len(calibrated()["checks"]))
    expect(page.locator('.check[data-rule-id="greeting"] .close-call')).to_be_visible()
    expect(page.locator(".check .low-agreement")).to_have_count(0)


def test_a_rescored_call_shows_its_current_verdict(
    page: Page, site: Site, calls: dict[str, Any]
) -> None:
    call_id = calls["rescored"]
    answer = httpx.post(
        f"{site.url}/v1/calls/{call_id}/rescore",
        json={"policy_id": PID, "version": 2},
        headers=auth(site, "qa_analyst"),
        timeout=300,
    )
    assert answer.status_code == 201, answer.text
    changes = len(answer.json()["changes"])
    assert changes >= 1  # the rule version 2 added
    new_rule = next(c for c in answer.json()["checks"] if c["rule_id"] == "no_store_credit_push")

    sign_in(page, site, "qa_analyst")
    open_call(page, site, call_id)
    line = page.locator("#rescore-line")
    plural = "" if changes == 1 else "s"
    expect(line).to_contain_text(f"Re-scored against {PID} v2 ({changes} change{plural}) on ")
    check = page.locator('.check[data-rule-id="no_store_credit_push"]')  # the current checks
    expect(check).to_have_class(re.compile(r"\bpass\b" if new_rule["passed"] else r"\bfail\b"))
    expect(page.locator(".check")).to_have_count(len(answer.json()["checks"]))
    assert_accessible(page, "rescored call")

    # the override form works on the current checks
    check.get_by_label("Failed" if new_rule["passed"] else "Passed").check()
    check.get_by_label("Reason (kept in the record's history)").fill("heard the store-credit push")
    check.get_by_role("button", name="Save override").click()
    expect(page.locator("#status")).to_contain_text("Override saved")
    check = page.locator('.check[data-rule-id="no_store_credit_push"]')
    expect(check).to_have_class(re.compile(r"\bfail\b" if new_rule["passed"] else r"\bpass\b"))
    expect(check).to_contain_text("Overridden by web-qa_analyst; the re-score said")
    expect(page.locator("#reviewed-outcome")).to_contain_text("after review (re-score:")
    page.reload()
    expect(page.locator("#rescore-line")).to_contain_text("reviewed since")
    expect(page.locator('.check[data-rule-id="no_store_credit_push"]')).to_contain_text(
        "Overridden by web-qa_analyst"
    )
    page.screenshot(path=artifacts_dir() / "call-view-rescored.png", full_page=True)
