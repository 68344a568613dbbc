"""Insights on the review page, in headless Chromium against a real server: the dashboard's
call drivers (with their daily trend), alerts (a monthly billing-day spike, an agent's failure
rate jumping) and first-contact resolution; a call's summary with its outcome and the earlier
call the same customer made; a Spanish summary's English version; an old record's page
without a summary.

Calls are stored as the worker stores them (`api.jobs.insights.learn_from_call` with the real
MiniLM embedder), from real records with summaries, topics, callers and dates of our
choosing, over the two months before today (the alerts judge the last 30 days by default)."""

from __future__ import annotations

import json
import math
import re
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from api.records.search import iso_z
from models.text_embedding import SentenceEmbedder
from tests.api.records.insight_fixtures import store_as_worker
from tests.api.records.test_insight_routes import BILLING, CALLER
from tests.web.web_fixtures import (
    NAMELESS,
    RECORDS,
    SOURCES,
    UNLABELLED,
    Site,
    artifacts_dir,
    page_errors,
    running_site,
    sign_in,
    store_call,
)

pytestmark = pytest.mark.slow

# customers returning something that does not fit: one driver (the first is what the customer
# says in compliant-return, the record these calls are stored from)
RETURNS = (
    "Hi, my shoes are ordered last week, don't fit. I would like to return them and get a refund.",
    "The trousers I ordered are too small and I'd like to send them back.",
    "The boots I bought are the wrong size, can I return them?",
    "I want to return the jacket I bought, it doesn't fit.",
)
SPIKE = 6  # billing calls on the spike day of each month
RATE_CALLS = 8  # an agent's calls before and in the last week (the rate alerts' minimum)
RATE_AGENT = "agent-9"


def plain_summary(reason: str | None, outcome: str, segment: int = 1) -> dict[str, Any]:
    return {
        "reason": {"text": reason, "segments": [segment]} if reason else None,
        "actions": [],
        "follow_ups": [],
        "text": reason or "",
        "outcome": outcome,
        "outcome_segments": [],
        "language": "en",
        "english": None,
    }


# compliant-return's own sentences (segments 1, 4, 5), as the summariser quotes them
RETURN_SUMMARY: dict[str, Any] = {
    "reason": {"text": RETURNS[0], "segments": [1]},
    "actions": [{"text": "I will email you a free return label.", "segments": [4]}],
    "follow_ups": [
        {"text": "The refund goes back to your card within five days.", "segments": [4]}
    ],
    "text": f"{RETURNS[0]} I will email you a free return label. The refund goes back to your "
    "card within five days.",
    "outcome": "resolved",
    "outcome_segments": [5],
    "language": "en",
    "english": None,
}
# the Spanish announcement's segments and their translations
SPANISH_SUMMARY: dict[str, Any] = {
    "reason": {"text": "Todos nuestros representantes se encuentran ocupados.", "segments": [0]},
    "actions": [{"text": "Por favor, espere y pronto le atenderemos.", "segments": [1]}],
    "follow_ups": [],
    "text": "Todos nuestros representantes se encuentran ocupados. Por favor, espere y pronto "
    "le atenderemos.",
    "outcome": "unresolved",
    "outcome_segments": [],
    "language": "es",
    "english": {
        "reason": {"text": "All our representatives are occupied.", "segments": [0]},
        "actions": [{"text": "Please, be ready and we will wait for you.", "segments": [1]}],
        "follow_ups": [],
        "text": "All our representatives are occupied. Please, be ready and we will wait for you.",
    },
}


def store_summarised_call(
    site: Site,
    embedder: SentenceEmbedder,
    *,
    at: datetime,
    summary: dict[str, Any],
    name: str = "compliant-return",
    topic: str = "returns",
    caller: str | None = None,
    agent: str = "agent-7",
) -> str:
    """The real record ``name`` with ``summary`` and ``topic`` stored as a call of the site's
    tenant at ``at``, as the worker stores it (`tests.api.records.insight_fixtures`'s
    ``store_insight_call``, plus its redacted audio for the page's player)."""
    services = site.services
    tenant = services.settings.tenant
    call_id = uuid.uuid4().hex
    record: dict[str, Any] = json.loads((RECORDS / f"{name}.json").read_text(encoding="utf-8"))
    record.update(id=call_id, tenant=tenant, created_at=iso_z(at))
    record.pop("integrity", None)
    record["summary"] = summary
    record["topics"] = [{"label": topic, "score": 1.0}]
    folder = services.settings.data_path / "audio" / tenant
    folder.mkdir(parents=True, exist_ok=True)
    audio = folder / f"{call_id}.redacted.wav"
    shutil.copyfile(SOURCES[name], audio)
    return store_as_worker(services, embedder, record, at=at, caller=caller,
                           metadata={"agent": agent}, redacted_audio=audio)  # fmt: skip


def at_noon(day: date, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, 12, minute, tzinfo=UTC)


def month_after(day: date) -> date:
    """The same day of the next month (days up to the 28th only)."""
    return date(day.year + day.month // 12, day.month % 12 + 1, day.day)


def spike_days(today: date) -> tuple[date, date]:
    """The billing days: one in the last 30 days (a day of month every month has) and the same
    day a month before."""
    second = today - timedelta(days=3)
    while second.day > 28:
        second -= timedelta(days=1)
    first = (second.replace(day=1) - timedelta(days=1)).replace(day=second.day)
    return first, second


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with running_site(tmp_path_factory.mktemp("web-insights")) as running:
        yield running


@pytest.fixture(scope="module")
def calls(site: Site, embedder: SentenceEmbedder) -> dict[str, Any]:
    """From four weeks before last month's billing day to yesterday, oldest first: a return
    every four days; six double-charge calls on the billing day of last month and of this
    one; a customer calling about a return twice, two days apart (the second call with a full
    summary); an agent passing every call, then failing every call in the last week; a Spanish
    call; and a call stored before summaries existed."""
    today = datetime.now(UTC).date()
    first_spike, second_spike = spike_days(today)
    repeat_day = today - timedelta(days=3)
    planned: list[tuple[datetime, dict[str, Any]]] = []

    def plan(at: datetime, summary: dict[str, Any], **more: Any) -> None:
        planned.append((at, {"summary": summary, **more}))

    day, n = first_spike - timedelta(weeks=4), 0
    while day < today:
        if day not in (first_spike, second_spike, repeat_day - timedelta(days=2), repeat_day):
            plan(at_noon(day), plain_summary(RETURNS[n % 4], "resolved"))
            n += 1
        day += timedelta(days=4)
    for spike in (first_spike, second_spike):
        for k in range(SPIKE):
            outcome = "resolved" if k % 2 else "follow_up"
            plan(at_noon(spike, 10 + k), plain_summary(BILLING[k % 4], outcome), topic="billing")
    first_at = at_noon(repeat_day - timedelta(days=2), 30)
    plan(first_at, plain_summary(RETURNS[2], "follow_up"), caller=CALLER, key="first")
    plan(at_noon(repeat_day, 30), RETURN_SUMMARY, caller="(415) 555-0142", key="repeat")
    for k in range(RATE_CALLS):
        before = at_noon(today - timedelta(days=27 - 2 * k), 40)
        plan(before, plain_summary(None, "resolved"), agent=RATE_AGENT, topic="account")
        recent = at_noon(today - timedelta(days=6 - k % 6), 40 + k)
        plan(recent, plain_summary(None, "unresolved"), agent=RATE_AGENT, topic="account",
             name="angry-customer")  # fmt: skip
    spanish_at = at_noon(today - timedelta(days=2), 50)
    plan(spanish_at, SPANISH_SUMMARY, name="spanish-announcement-translated", topic="other",
         key="spanish")  # fmt: skip

    ids: dict[str, Any] = {"first_spike": first_spike, "second_spike": second_spike}
    for at, given in sorted(planned, key=lambda item: item[0]):
        key = given.pop("key", None)
        call_id = store_summarised_call(site, embedder, at=at, **given)
        if key:
            ids[key] = call_id
    ids["old"] = store_call(site, "greeting-mono", agent="agent-old")
    return ids


def get(site: Site, path: str, **params: str) -> Any:
    answer = httpx.get(
        f"{site.url}{path}",
        params=params,
        headers={"Authorization": f"Bearer {site.keys['qa_analyst']}"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def shown(rate: float | None) -> str:
    """A rate as the page shows it (dom.js ``percent``: rounded half up)."""
    return "–" if rate is None else f"{math.floor(rate * 100 + 0.5)}%"


def open_call(page: Page, site: Site, call_id: str) -> None:
    page.goto(f"{site.url}/#/calls/{call_id}")
    expect(page.locator("#transcript-title")).to_be_visible()
    expect(page.locator("#facts-title")).to_be_visible()


def assert_accessible(page: Page, view: str) -> None:
    page.wait_for_load_state("networkidle")
    page.evaluate("document.querySelectorAll('details').forEach((box) => { box.open = true; })")
    assert page.evaluate(UNLABELLED) == [], view
    assert page.evaluate(NAMELESS) == [], view


def test_the_dashboard_shows_drivers_alerts_and_first_contact_resolution(
    page: Page, site: Site, calls: dict[str, Any]
) -> None:
    report = get(site, "/v1/analytics/drivers")
    assert len(report["drivers"]) == 2, report
    billing = next(d for d in report["drivers"] if d["calls"] == 2 * SPIKE)
    returns = next(d for d in report["drivers"] if d is not billing)
    assert returns["calls"] >= 3
    fcr = get(site, "/v1/analytics/fcr", group_by="driver")
    alerts = get(site, "/v1/analytics/alerts")["alerts"]
    second = calls["second_spike"].isoformat()
    spike = next(a for a in alerts if a["kind"] == "volume" and a["dimension"] == "driver")
    assert (spike["key"], spike["day"], spike["recurring"]) == (billing["id"], second, "monthly")
    rate = next(a for a in alerts if a["kind"] == "rate" and a["key"] == RATE_AGENT)

    sign_in(page, site, "qa_analyst")
    page.get_by_role("link", name="Dashboard").click()
    rows = page.locator("#drivers-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-driver-id", returns["id"])  # largest first
    groups = {g["key"]: g for g in fcr["groups"]}
    for driver in (returns, billing):
        row = page.locator(f'#drivers-table tr[data-driver-id="{driver["id"]}"]')
        expect(row.locator("th .driver-label")).to_have_text(driver["label"])
        expect(row.locator(".calls")).to_have_text(str(driver["calls"]))
        expect(row.locator(".share")).to_have_text(shown(driver["share"]))
        expect(row.locator(".term")).to_have_count(len(driver["terms"]))
        expect(row.locator(".fcr")).to_have_text(shown(groups[driver["id"]]["fcr"]))
        line = row.locator("svg.sparkline polyline")
        expect(line).to_have_count(1)
        assert len((line.get_attribute("points") or "").split()) == len(driver["trend"])
        expect(row.locator("svg.sparkline")).to_have_attribute(
            "aria-label", re.compile(f"^Calls per day for .*: {driver['calls']} calls from ")
        )
    billing_trend = page.locator(f'tr[data-driver-id="{billing["id"]}"] svg.sparkline')
    expect(billing_trend).to_have_attribute(
        "aria-label", re.compile(f"most on {calls['first_spike']}")
    )
    expect(page.locator("#drivers-note")).to_contain_text(
        f"{report['calls']} calls in the period; {report['without_reason']} without a stated reason"
    )

    expect(page.locator("#fcr-value")).to_have_text(shown(fcr["overall"]["fcr"]))
    expect(page.locator("#fcr-overall")).to_contain_text(
        f"{fcr['overall']['calls']} rated calls: {fcr['overall']['resolved']} resolved, "
        f"{fcr['overall']['repeated']} followed by a repeat contact"
    )
    expect(page.locator("#alerts-list > li")).to_have_count(len(alerts))
    volume = page.locator(
        f'#alerts-list li.volume[data-dimension="driver"][data-key="{billing["id"]}"]'
    )
    expect(volume).to_contain_text(f"on {second}: {SPIKE} calls")
    expect(volume).to_contain_text(f"recurring monthly — next expected {spike['next_expected']}")
    assert spike["next_expected"] == month_after(calls["second_spike"]).isoformat()
    jump = page.locator(f'#alerts-list li.rate[data-dimension="agent"][data-key="{RATE_AGENT}"]')
    expect(jump.first).to_contain_text("Rate jump")
    expect(jump.first).to_contain_text(
        f"{shown(rate['rate'])} of {rate['calls']} calls from {rate['start']} to {rate['end']}, "
        f"against {shown(rate['baseline_rate'])} of {rate['baseline_calls']} calls before"
    )
    topics = page.locator("#insight-topics")  # the configured topics stay beside the drivers
    for topic in report["topics"]:
        expect(topics).to_contain_text(topic["label"])
    page.screenshot(path=artifacts_dir() / "dashboard-insights.png", full_page=True)
    assert_accessible(page, "#/dashboard")

    page.get_by_label("Group by").select_option("topic")  # the topic charts are still there
    expect(page.locator("#chart-volume table")).to_contain_text("billing")

    page.get_by_label("From", exact=True).fill(second)  # the billing day alone
    page.get_by_label("To", exact=True).fill(second)
    expect(page.locator(f'tr[data-driver-id="{billing["id"]}"] .calls')).to_have_text(str(SPIKE))
    expect(page.locator("#alerts")).to_contain_text(f"Judged from {second} to {second}")
    expect(page.locator("#alerts-list li.volume")).to_have_count(2)  # the driver and the topic


def test_a_call_shows_its_summary_and_the_earlier_call_it_repeats(
    page: Page, site: Site, calls: dict[str, Any]
) -> None:
    sign_in(page, site, "qa_analyst")
    open_call(page, site, calls["repeat"])
    panel = page.locator("#summary")
    expect(panel).to_be_visible()
    expect(panel.locator("#summary-reason .said")).to_have_text(RETURNS[0])
    expect(panel.locator("#summary-actions li")).to_have_text(
        re.compile(r"^I will email you a free return label\.")
    )
    expect(panel.locator("#summary-follow-ups li")).to_contain_text("within five days")
    expect(panel.locator(".translation")).to_have_count(0)  # an English call
    badge = panel.locator("#summary-outcome")
    expect(badge).to_have_text("Resolved")
    expect(badge).to_have_class(re.compile(r"\boutcome-resolved\b"))
    repeat = panel.locator("#repeat-contact")
    expect(repeat).to_contain_text("Repeat contact: 2 days after call ")
    expect(repeat.locator(".same-driver")).to_have_text("same driver")
    link = repeat.get_by_role("link")
    expect(link).to_have_attribute("href", f"#/calls/{calls['first']}")
    expect(link).to_have_text(f"{calls['first'][:8]}…")
    page.screenshot(path=artifacts_dir() / "call-view-summary.png", full_page=True)
    assert_accessible(page, "summarised call")

    # the reason's moment plays from its segment
    page.wait_for_function("() => document.getElementById('player')?.readyState >= 1")
    reason = panel.locator('#summary-reason button.seek[data-segment="1"]')
    expect(reason).to_have_text("▶ 0:09.0")
    reason.click()
    page.evaluate("document.getElementById('player').pause()")
    assert abs(float(page.evaluate("document.getElementById('player').currentTime")) - 9.04) < 0.1
    expect(page.locator("#seg-1")).to_be_focused()

    link.click()  # the earlier call: owed a follow-up, itself no repeat
    expect(page).to_have_url(re.compile(f"#/calls/{calls['first']}$"))
    expect(page.locator("#summary-outcome")).to_have_text("Follow-up owed")
    expect(page.locator("#summary-reason .said")).to_have_text(RETURNS[2])
    expect(page.locator("#repeat-contact")).to_have_count(0)


def test_a_spanish_summary_shows_its_english_version(
    page: Page, site: Site, calls: dict[str, Any]
) -> None:
    sign_in(page, site, "auditor")  # a reader's view
    open_call(page, site, calls["spanish"])
    reason = page.locator("#summary-reason")
    expect(reason.locator(".said")).to_have_text(SPANISH_SUMMARY["reason"]["text"])
    expect(reason.locator(".said")).to_have_attribute("lang", "es")
    english = reason.locator(".translation")
    expect(english).to_have_text("English: All our representatives are occupied.")
    expect(english).to_have_attribute("lang", "en")
    action = page.locator("#summary-actions li")
    expect(action.locator(".said")).to_have_text("Por favor, espere y pronto le atenderemos.")
    expect(action.locator(".translation")).to_have_text(
        "English: Please, be ready and we will wait for you."
    )
    expect(page.locator("#summary-outcome")).to_have_text("Unresolved")
    expect(page.locator("#summary-follow-ups")).to_have_text("Nothing owed.")
    expect(page.locator("#repeat-contact")).to_have_count(0)
    page.screenshot(path=artifacts_dir() / "call-view-summary-es.png", full_page=True)


def test_a_record_without_a_summary_has_no_summary_panel(
    page: Page, site: Site, calls: dict[str, Any]
) -> None:
    errors = page_errors(page)
    sign_in(page, site, "qa_analyst")
    open_call(page, site, calls["old"])
    page.wait_for_load_state("networkidle")
    expect(page.locator("#summary")).to_have_count(0)
    expect(page.locator(".segment").first).to_be_visible()
    assert errors == []


def test_insights_show_untrusted_text_as_text_and_survive_a_failed_report(
    page: Page, site: Site, calls: dict[str, Any]
) -> None:
    hostile = '<img src=x id="injected"> <b>bold</b>'
    answer = {
        "from": "2026-01-01",
        "to": "2026-01-30",
        "alerts": [
            {"kind": "volume", "dimension": "topic", "key": hostile, "day": "2026-01-20",
             "count": 9, "expected": 1.5, "score": 5.1, "recurring": None, "seen": [],
             "next_expected": None},
            {"kind": "rate", "dimension": "driver", "key": "d-1", "label": hostile,
             "metric": "negative_emotion_rate", "start": "2026-01-24", "end": "2026-01-30",
             "rate": 0.5, "calls": 10, "baseline_rate": 0.1, "baseline_calls": 40, "score": 3.2},
        ],
    }  # fmt: skip
    page.route(
        "**/v1/analytics/alerts*",
        lambda route: route.fulfill(json=answer, headers={"Cache-Control": "no-store"}),
    )
    page.route("**/v1/analytics/fcr*", lambda route: route.abort())
    sign_in(page, site, "qa_analyst")
    page.get_by_role("link", name="Dashboard").click()
    items = page.locator("#alerts-list > li")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text(
        f"Topic “{hostile}” on 2026-01-20: 9 calls (expected 1.5)."
    )
    expect(items.nth(0).locator(".recurring")).to_have_count(0)
    expect(items.nth(1)).to_contain_text(
        f"Driver “{hostile}”: negative customer emotion 50% of 10 calls from 2026-01-24 to "
        "2026-01-30, against 10% of 40 calls before."
    )
    expect(page.locator("#injected, #alerts b")).to_have_count(0)
    expect(page.locator("#fcr .error")).to_contain_text("No first-contact resolution")
    expect(page.locator("#drivers-table tbody tr")).to_have_count(2)  # the rest still shows
    expect(page.locator("#drivers-table .fcr").first).to_have_text("–")
