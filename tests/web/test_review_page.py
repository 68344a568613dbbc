"""The review page end to end in headless Chromium against a real server with real models:
sign in, upload a call, see it listed, open it, seek from a compliance check to its moment,
override a check with a reason, the dashboard, the auditor's read-only view and export,
another tenant's emptiness. Screenshots are written to ``test-artifacts/review-page``."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select

from api.records.export import verify_bundle
from api.store.schema import Call
from tests.web.web_fixtures import (
    HISTORY_DAYS,
    NAMELESS,
    UNLABELLED,
    VIEWPORT,
    Site,
    artifacts_dir,
    enter_key,
    page_errors,
    running_site,
    sign_in,
    sign_out,
    store_sample_policy,
)

DATA = Path(__file__).resolve().parents[1] / "data"
CALL = DATA / "calls" / "missing-lines-cancel.wav"
ANALYSIS_TIMEOUT_MS = 300_000

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with running_site(tmp_path_factory.mktemp("web")) as running:
        store_sample_policy(running)
        yield running


@pytest.fixture(scope="module")
def call_id(site: Site, browser: Browser) -> str:
    """A call uploaded through the page's form by an analyst and analysed by the server."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    errors = page_errors(page)
    sign_in(page, site, "qa_analyst")
    page.get_by_text("Upload a recording").click()
    page.get_by_label("Recording", exact=True).set_input_files(CALL)
    page.get_by_label("Channels").select_option("stereo-agent-left")
    expect(page.locator("#u-policy option[value=ecommerce-aftersales]")).to_have_count(1)
    page.get_by_label("Policy").select_option("ecommerce-aftersales")
    page.get_by_label("Agent (optional)").fill("agent-7")
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#status")).to_contain_text(
        "A new call is analysed and listed", timeout=ANALYSIS_TIMEOUT_MS
    )
    row = page.locator("#calls-body tr", has_text="agent-7")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Failed")
    expect(row).to_contain_text("cancellation")
    found = row.get_attribute("data-call-id")
    context.close()
    assert not errors, errors
    assert found is not None and re.fullmatch(r"[0-9a-f]{32}", found)
    return found


def _open_call(page: Page, site: Site, role: str, call_id: str) -> None:
    sign_in(page, site, role)
    page.locator(f'#calls-body tr[data-call-id="{call_id}"] a').click()
    expect(page.locator("#scorecard")).to_be_visible()
    expect(page.locator("#timeline")).to_be_visible()
    page.wait_for_function("() => document.getElementById('player')?.readyState >= 1")


def _current_time(page: Page) -> float:
    return float(page.evaluate("document.getElementById('player').currentTime"))


def test_evidence_and_timeline_seek_the_audio(page: Page, site: Site, call_id: str) -> None:
    _open_call(page, site, "qa_analyst", call_id)
    evidence = page.locator(".check .evidence button.seek").first
    start = float(evidence.get_attribute("data-start") or "nan")
    evidence.click()
    page.evaluate("document.getElementById('player').pause()")
    assert start - 0.05 <= _current_time(page) <= start + 1.5
    focused = page.evaluate("document.activeElement.id")
    segment = page.locator(f"#{focused}")
    assert focused.startswith("seg-")
    assert float(segment.get_attribute("data-start") or "nan") <= start + 0.01

    svg = httpx.get(
        f"{site.url}/v1/calls/{call_id}/timeline.svg",
        headers={"Authorization": f"Bearer {site.keys['qa_analyst']}"},
    )
    root = ET.fromstring(svg.content)
    t0, t1, x0, x1 = (float(root.attrib[f"data-{name}"]) for name in ("t0", "t1", "x0", "x1"))
    image = page.locator("#timeline")
    box = image.bounding_box()
    assert box is not None
    target = 20.0
    x = (x0 + (target - t0) / (t1 - t0) * (x1 - x0)) * box["width"]
    image.click(position={"x": x, "y": box["height"] / 2})
    page.evaluate("document.getElementById('player').pause()")
    assert abs(_current_time(page) - target) < 1.0


def test_transcript_shows_call_centre_states(page: Page, site: Site, call_id: str) -> None:
    # the caller's emotion reads as a state a QA team acts on, the voice model's class beside it
    _open_call(page, site, "qa_analyst", call_id)
    badges = page.locator(".segments .emotion")
    expect(badges.first).to_be_visible()
    states = {"angry / frustrated", "upset", "neutral", "satisfied"}
    shown = [(t or "").removeprefix("Emotion: ") for t in badges.all_text_contents()]
    assert shown and set(shown) <= states, shown
    question = page.locator(".segment", has_text="anyone there").locator(".emotion")
    expect(question).to_have_text("Emotion: neutral")
    assert "voice model: " in (question.get_attribute("title") or "")


def test_analyst_overrides_a_check_with_a_reason(page: Page, site: Site, call_id: str) -> None:
    _open_call(page, site, "qa_analyst", call_id)
    failed = page.locator(".check.fail").first
    rule_id = failed.get_attribute("data-rule-id")
    assert rule_id
    failed.locator("summary").click()
    failed.get_by_label("Passed").check()
    reason = "Greeting was said before the recording started (checked with the agent's log)."
    failed.get_by_label("Reason (kept in the record's history)").fill(reason)
    failed.get_by_role("button", name="Save override").click()
    expect(page.locator("#status")).to_contain_text("Override saved")
    check = page.locator(f'.check[data-rule-id="{rule_id}"]')
    expect(check).to_have_class(re.compile(r"\bpass\b"))
    expect(check).to_contain_text("Overridden by web-qa_analyst")
    expect(page.locator(".history")).to_contain_text(reason)
    expect(page.locator("#reviewed-outcome")).to_contain_text("after review (analysis:")
    page.screenshot(path=artifacts_dir() / "call-view-analyst.png", full_page=True)

    record = httpx.get(
        f"{site.url}/v1/calls/{call_id}",
        headers={"Authorization": f"Bearer {site.keys['auditor']}"},
    ).json()
    last = record["review"]["overrides"][-1]
    assert (last["rule_id"], last["value"], last["previous"]) == (rule_id, True, False)
    assert last["by"] == "web-qa_analyst" and last["reason"] == reason
    assert record["review"]["score"] > record["compliance"]["score"]  # re-scored by the review


def test_dashboard_charts_the_aggregates(page: Page, site: Site, call_id: str) -> None:
    sign_in(page, site, "qa_analyst")
    page.get_by_role("link", name="Dashboard").click()
    for metric in ("pass_rate", "negative_emotion_rate", "handle_time"):
        expect(page.locator(f"#chart-{metric} svg")).to_be_visible()
    days = page.locator("#chart-volume svg rect.bar")
    expect(days).to_have_count(3)  # two days of history and today
    expect(page.locator(".totals")).to_contain_text(f"Calls{site.history + 1}")
    page.get_by_label("Group by").select_option("agent")
    expect(page.locator("#chart-volume-title")).to_contain_text("Calls by agent")
    expect(page.locator("#chart-volume table")).to_contain_text("agent-7")
    expect(days).to_have_count(site.history // HISTORY_DAYS + 1)  # history's agents, agent-7
    page.screenshot(path=artifacts_dir() / "dashboard.png", full_page=True)


def test_auditor_reads_and_exports_but_cannot_change(
    page: Page, site: Site, call_id: str, tmp_path: Path
) -> None:
    _open_call(page, site, "auditor", call_id)
    expect(page.get_by_role("link", name="Dashboard")).to_be_hidden()
    expect(page.locator(".override-box")).to_have_count(0)
    expect(page.get_by_text("Override", exact=False)).to_have_count(0)
    evidence = page.locator(".check .evidence button.seek").first
    evidence.click()
    page.evaluate("document.getElementById('player').pause()")
    assert _current_time(page) >= float(evidence.get_attribute("data-start") or "nan") - 0.05
    page.screenshot(path=artifacts_dir() / "call-view-auditor.png", full_page=True)

    page.get_by_role("link", name="Calls", exact=True).click()
    expect(page.locator("details", has_text="Upload a recording")).to_have_count(0)
    with page.expect_download() as pending:
        page.get_by_role("button", name="Export bundle").click()
    bundle = tmp_path / "bundle.zip"
    pending.value.save_as(bundle)
    expect(page.locator("#status")).to_contain_text("Export bundle downloaded")
    report = verify_bundle(bundle, [site.services.signer])
    assert report.ok and report.chains[0].count >= site.history + 2  # records and override

    page.get_by_role("link", name="Audit log").click()
    expect(page.locator("table.audit")).to_contain_text("call.review")
    expect(page.locator("table.audit")).to_contain_text("export")


def test_filters_and_search_narrow_the_list(page: Page, site: Site, call_id: str) -> None:
    sign_in(page, site, "qa_analyst")
    rows = page.locator("#calls-body tr")
    expect(rows).to_have_count(site.history + 1)

    def search(**fields: str) -> None:
        page.get_by_role("button", name="Reset").click()
        for label, value in fields.items():
            control = page.get_by_label(label.replace("_", " "), exact=True)
            if control.evaluate("el => el.tagName") == "SELECT":
                control.select_option(value)
            else:
                control.fill(value)
        page.get_by_role("button", name="Search").click()

    search(Agent="agent-7")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-call-id", call_id)
    search(Search_transcripts="cancel my order")
    expect(rows).to_have_count(1)
    search(Topic="returns")
    expect(rows).to_have_count(2)  # compliant-return on each day of the history
    expect(rows.first).to_contain_text("returns")
    search(Result="true")
    expect(rows).to_have_count(2)  # compliant-return passes; the others fail or are unscored
    for row in rows.all():
        expect(row).to_contain_text("Passed")
    search(Customer_emotion="negative", Agent="agent-1")
    expect(rows).to_have_count(2)  # angry-customer, twice
    today = page.evaluate("new Date().toISOString().slice(0, 10)")
    search(From=today)
    expect(rows).to_have_count(1)
    search(Agent="nobody")
    expect(page.locator(".count")).to_have_text("No calls match.")


def test_translations_are_shown_beside_the_original(page: Page, site: Site) -> None:
    sign_in(page, site, "auditor")
    page.get_by_label("Search transcripts").fill("representantes")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#calls-body tr")).to_have_count(HISTORY_DAYS)
    page.locator("#calls-body tr a").first.click()
    first = page.locator(".segment").first
    page.wait_for_function("() => document.getElementById('player')?.readyState >= 1")
    expect(first.locator("p[lang=es]")).to_contain_text("Todos nuestros representantes")
    expect(first.locator("p.translation[lang=en]")).to_contain_text("representatives")
    original, translation = (
        first.locator(selector).bounding_box() for selector in ("p[lang=es]", "p.translation")
    )
    assert original is not None and translation is not None
    assert translation["x"] > original["x"] + original["width"] - 1  # beside, not below
    page.screenshot(path=artifacts_dir() / "call-view-translated.png", full_page=True)


def test_admin_creates_and_revokes_a_key_on_the_page(page: Page, site: Site) -> None:
    sign_in(page, site, "admin")
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()  # where it can act
    expect(page.get_by_role("link", name="Calls", exact=True)).to_be_hidden()
    page.get_by_label("Name").fill("web-new-analyst")
    page.get_by_label("QA analyst", exact=False).check()
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_label("The new key").input_value()
    assert secret.startswith("cqa_")
    expect(page.locator('#keys-body tr[data-key-name="web-new-analyst"]')).to_contain_text(
        "qa_analyst"
    )
    sign_out(page)
    enter_key(page, secret)
    expect(page.locator("#who")).to_contain_text("web-new-analyst")
    expect(page.locator("table.calls")).to_be_visible()
    sign_out(page)
    sign_in(page, site, "admin")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke the key web-new-analyst").click()
    expect(page.locator('#keys-body tr[data-key-name="web-new-analyst"]')).to_contain_text(
        "revoked"
    )
    sign_out(page)
    enter_key(page, secret)
    expect(page.locator("#sign-in-error")).to_contain_text("the API key is not valid")


def test_another_tenant_sees_none_of_it(page: Page, site: Site, call_id: str) -> None:
    sign_in(page, site, "stranger")
    expect(page.locator(".count")).to_have_text("No calls match.")
    page.goto(f"{site.url}/#/calls/{call_id}")
    expect(page.locator("main")).to_contain_text(f"no call {call_id}")
    expect(page.locator("#player")).to_have_count(0)


def test_a_wrong_key_is_refused_and_sign_out_forgets_the_key(
    page: Page, site: Site, call_id: str
) -> None:
    page.goto(f"{site.url}/")
    page.get_by_label("API key").fill("cqa_not-a-real-key")
    page.get_by_label("API key").press("Enter")
    expect(page.locator("#sign-in-error")).to_contain_text("the API key is not valid")
    sign_in(page, site, "ingest")
    expect(page.locator("details", has_text="Upload a recording")).to_be_visible()
    expect(page.locator("table.calls")).to_have_count(0)
    page.get_by_label("Recording", exact=True).set_input_files(
        {"name": "call.wav", "mimeType": "audio/wav", "buffer": b"name,card\nAda,4111 1111\n"}
    )  # a spreadsheet named like a recording
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#status")).to_contain_text("Upload refused: the upload is not audio")
    with site.services.store.session() as session:
        assert session.scalar(select(func.count()).select_from(Call)) == site.history + 1
    sign_out(page)
    assert page.evaluate("sessionStorage.length") == 0
    page.reload()
    expect(page.locator("#sign-in")).to_be_visible()


def test_every_control_is_labelled_and_reachable_by_keyboard(
    page: Page, site: Site, call_id: str
) -> None:
    page.goto(f"{site.url}/")
    expect(page.get_by_label("API key")).to_be_focused()  # the sign-in field takes the focus
    page.keyboard.type(site.keys["qa_analyst"])
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Sign in")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#calls-body tr")).to_have_count(site.history + 1)
    page.get_by_text("Upload a recording").click()
    for view in ("#/calls", f"#/calls/{call_id}", "#/dashboard", "#/live"):
        page.goto(f"{site.url}/{view}")
        page.wait_for_selector("#view h1")
        page.wait_for_load_state("networkidle")
        for summary in page.locator("details > summary").all():
            summary.click()
        assert page.evaluate(UNLABELLED) == [], view
        assert page.evaluate(NAMELESS) == [], view
    page.goto(f"{site.url}/#/calls/{call_id}")
    evidence = page.locator(".check .evidence button.seek").first
    evidence.focus()
    page.keyboard.press("Enter")  # a keyboard user seeks the same way
    page.evaluate("document.getElementById('player').pause()")
    assert _current_time(page) >= float(evidence.get_attribute("data-start") or "nan") - 0.05
