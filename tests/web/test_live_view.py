"""The review page's live view in headless Chromium against a real server with real models.

A real recording is replayed into ``/v1/stream`` at the speed of speech (``callqa stream``'s
client, in a thread) while the page watches: the call shows up in the list of running calls,
its transcript comes in as grey partial lines replaced by finals, the compliance checklist fills
in, and the page shows the end with a link to the call's record. Another tenant sees none of
it. Screenshots are written to ``test-artifacts/review-page``.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect

from api.cli.stream import replay_callqa
from pipelines.core.types import Audio, CallAudio
from tests.web.web_fixtures import (
    NAMELESS,
    UNLABELLED,
    VIEWPORT,
    Site,
    artifacts_dir,
    page_errors,
    running_site,
    sign_in,
    store_sample_policy,
)
from voice.decode import load_call_audio

ROOT = Path(__file__).resolve().parents[2]
CALL = ROOT / "tests" / "data" / "calls" / "compliant-return.wav"  # stereo, agent left, 49 s
SPANISH = ROOT / "tests" / "data" / "telephony" / "es_queue-periodic-announce.wav"  # mono, 7 s
POLICY_ID = "ecommerce-aftersales"
LIVE_TIMEOUT_MS = 120_000
STREAM_TIMEOUT_S = 600.0
STATUSES = {"pending", "said", "missed", "clear", "violated", "triggered", "batch"}

pytestmark = pytest.mark.slow

# the grey of a partial line as the page draws it, read in one go (partials live briefly)
PARTIAL = """() => {
  const line = document.querySelector('#live-transcript .live-line.partial');
  if (!line) return null;
  const style = (el) => getComputedStyle(el);
  return { id: line.dataset.segmentId, colour: style(line.querySelector('.original')).color,
           italic: style(line.querySelector('.original')).fontStyle,
           grey: style(document.documentElement).getPropertyValue('--partial').trim() };
}"""
# every line of the transcript: id, class, role, text, translation, emotion
LINES = """() => [...document.querySelectorAll('#live-transcript .live-line')].map((li) => ({
  id: li.dataset.segmentId, final: li.classList.contains('final'), role: li.dataset.role,
  text: li.querySelector('.original').textContent,
  translation: li.querySelector('.translation')?.lang || null,
  emotion: li.querySelector('.emotion')?.dataset.state || null }))"""
CHECKLIST = """() => Object.fromEntries([...document.querySelectorAll('#live-checklist li')]
  .map((li) => [li.dataset.ruleId, li.dataset.status]))"""
CHANGED = """(before) => [...document.querySelectorAll('#live-checklist li')]
  .some((li) => before[li.dataset.ruleId] !== li.dataset.status)"""


class Stream:
    """A recording replayed into ``/v1/stream`` at the speed of speech, in a thread, by the
    client of ``callqa stream --realtime`` (the callqa protocol, 20 ms PCM frames)."""

    def __init__(self, site: Site, call: CallAudio, **options: str) -> None:
        args = {"translate_to": None, "policy_id": None, "layout": None, **options}
        url = site.url.replace("http://", "ws://") + "/v1/stream"
        self.args = argparse.Namespace(url=url, realtime=True, **args)
        self.call = call
        self.key = site.keys["ingest"]
        self.events: list[dict[str, Any]] = []
        self.status: int | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="softphone", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            replay = replay_callqa(self.call, self.args, self.key, self.events.append)
            self.status = asyncio.run(replay)
        except BaseException as exc:  # reported by join()
            self.error = exc

    def join(self) -> list[dict[str, Any]]:
        """Wait for the end of the call; the events the softphone got back."""
        self.thread.join(STREAM_TIMEOUT_S)
        assert not self.thread.is_alive(), "the stream did not end"
        assert self.error is None, repr(self.error)
        assert self.status == 0 and self.events[-1]["type"] == "end", self.events[-3:]
        return self.events

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [event for event in self.events if event["type"] == kind]


def _with_silence(call: CallAudio, seconds: float) -> CallAudio:
    """``call`` followed by ``seconds`` of silence (a short recording stays open a while)."""
    pad = np.zeros(int(seconds * call.sample_rate), dtype=np.float32)
    channels = tuple(
        Audio(np.concatenate([c.samples, pad]), c.sample_rate, c.channel) for c in call.channels
    )
    return CallAudio(call.source, channels)


def _rgb(colour: str) -> str:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


def _running(site: Site, role: str) -> list[str]:
    answer = httpx.get(
        f"{site.url}/v1/live", headers={"Authorization": f"Bearer {site.keys[role]}"}
    )
    assert answer.status_code == 200, answer.text
    return [call["call_id"] for call in answer.json()["calls"]]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with running_site(tmp_path_factory.mktemp("live-web")) as running:
        store_sample_policy(running, POLICY_ID)
        # the live models (whisper base, emotion, sentence embeddings) load now rather than on
        # the first call's start, so that the page watches the calls from their first seconds
        running.services.live.engine()
        yield running


def _watch_the_next_call(page: Page, site: Site) -> str:
    """On the Live list (already open, empty), wait for the call, check the list, open it by
    keyboard; returns the call's id."""
    row = page.locator("#live-calls-body tr")
    expect(row).to_have_count(1, timeout=LIVE_TIMEOUT_MS)
    call_id = row.get_attribute("data-call-id")
    assert call_id is not None and re.fullmatch(r"[0-9a-f]{32}", call_id), call_id
    assert _running(site, "qa_analyst") == [call_id]
    expect(page.locator("#live-count")).to_have_text("1 call running")
    assert page.evaluate(UNLABELLED) == [] and page.evaluate(NAMELESS) == []
    row.get_by_role("link").focus()
    page.keyboard.press("Enter")  # the list is usable by keyboard
    expect(page).to_have_url(re.compile(f"#/live/{call_id}$"))
    expect(page.get_by_role("link", name="Live", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    return call_id


def _page_matches_the_stream(page: Page, stream: Stream) -> list[dict[str, Any]]:
    """Every final the softphone got is a final line of the page, with its text, role and
    the emotion the ``emotion`` event gave it; no partial is left; the alerts and the last
    checklist are the stream's."""
    lines: list[dict[str, Any]] = page.evaluate(LINES)
    finals = [event["segment"] for event in stream.of("final")]
    assert finals, stream.events[-3:]
    assert all(line["final"] for line in lines), lines
    shown = {line["id"]: line for line in lines}
    assert set(shown) == {str(segment["id"]) for segment in finals}
    felt = {str(e["segment_id"]): e["emotion"]["label"] for e in stream.of("emotion")}
    if any(segment["role"] == "customer" for segment in finals):
        assert felt, "the customer's finals get their emotion"
    for segment in finals:
        line = shown[str(segment["id"])]
        assert (line["role"], line["text"]) == (segment["role"], segment["text"])
        assert line["emotion"] == felt.get(str(segment["id"]))
    alerts = page.locator("#live-alerts li")
    expect(alerts).to_have_count(len(stream.of("alert")))
    checklists = stream.of("checklist")
    if checklists:
        last = {item["rule_id"]: item["status"] for item in checklists[-1]["items"]}
        assert page.evaluate(CHECKLIST) == last
    assert page.evaluate(UNLABELLED) == [] and page.evaluate(NAMELESS) == []
    return lines


def _another_tenant_sees_nothing(browser: Browser, site: Site, call_id: str) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    errors = page_errors(page)
    sign_in(page, site, "stranger")
    page.get_by_role("link", name="Live", exact=True).click()
    expect(page.locator("#live-count")).to_have_text("No calls running.")
    expect(page.locator("#live-calls-body tr")).to_have_count(0)
    assert _running(site, "stranger") == []
    page.goto(f"{site.url}/#/live/{call_id}")  # the id alone opens nothing
    expect(page.locator("#live-state")).to_have_attribute("data-state", "closed", timeout=30_000)
    expect(page.locator("#live-state")).to_contain_text("not running")
    expect(page.locator("#live-transcript li")).to_have_count(0)
    context.close()
    assert not errors, errors


def test_a_supervisor_watches_a_call_as_it_is_spoken(
    page: Page, site: Site, browser: Browser
) -> None:
    sign_in(page, site, "qa_analyst")
    page.get_by_role("link", name="Live", exact=True).click()
    expect(page.locator("#live-count")).to_have_text("No calls running.")
    stream = Stream(site, load_call_audio(CALL), policy_id=POLICY_ID)
    call_id = _watch_the_next_call(page, site)
    expect(page.locator("#live-state")).to_have_attribute(
        "data-state", "live", timeout=LIVE_TIMEOUT_MS
    )

    # words still being spoken: a grey, italic line that its final replaces later
    partial = page.wait_for_function(PARTIAL, timeout=LIVE_TIMEOUT_MS).json_value()
    assert partial["colour"] == _rgb(partial["grey"]) and partial["italic"] == "italic", partial

    # the checklist as the call goes: every rule of the policy, and statuses that change
    items = page.locator("#live-checklist li")
    expect(items.first).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    before: dict[str, str] = page.evaluate(CHECKLIST)
    assert {"greeting", "order_lookup", "no_forbidden_phrases"} <= set(before), before
    assert set(before.values()) <= STATUSES, before

    _another_tenant_sees_nothing(browser, site, call_id)
    assert _running(site, "qa_analyst") == [call_id]  # it looked while the call ran
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")

    finals = page.locator("#live-transcript .live-line.final")
    refund = finals.filter(has_text=re.compile(r"refund", re.I))  # the caller's wish, the agent's
    expect(refund.first).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    for role in ("agent", "customer"):
        line = finals.and_(page.locator(f'[data-role="{role}"]')).first
        expect(line.locator(f".role.{role}")).to_have_text(role, timeout=LIVE_TIMEOUT_MS)
    expect(finals.filter(has_text=re.compile(r"\border\b", re.I)).first).to_be_visible(
        timeout=LIVE_TIMEOUT_MS
    )
    page.wait_for_function(CHANGED, arg=before, timeout=LIVE_TIMEOUT_MS)
    expect(page.locator('#live-checklist li[data-status="said"]').first).to_be_visible(
        timeout=LIVE_TIMEOUT_MS
    )
    page.screenshot(path=artifacts_dir() / "live-call.png", full_page=True)

    state = page.locator("#live-state")
    expect(state).to_have_attribute("data-state", "ended", timeout=LIVE_TIMEOUT_MS)
    expect(state).to_have_text("The call has ended.")
    record = page.locator("#live-ended a.record-link")
    expect(record).to_have_attribute("href", f"#/calls/{call_id}")
    events = stream.join()
    assert events[-1]["call_id"] == call_id and events[-1]["record_url"] == f"/v1/calls/{call_id}"
    assert stream.of("partial"), "the softphone got no partials"
    _page_matches_the_stream(page, stream)
    retracted = {str(e.get("segment_id")) for e in stream.of("notice") if e["kind"] == "retracted"}
    final_ids = {str(event["segment"]["id"]) for event in stream.of("final")}
    assert partial["id"] in final_ids | retracted  # the grey line was replaced (or withdrawn)
    page.screenshot(path=artifacts_dir() / "live-call-ended.png", full_page=True)

    record.click()
    expect(page).to_have_url(re.compile(f"#/calls/{call_id}$"))
    expect(page.locator("#view h1")).to_contain_text("Call")
    page.get_by_role("link", name="Live", exact=True).click()
    expect(page.locator("#live-count")).to_have_text("No calls running.")
    assert _running(site, "qa_analyst") == []


def test_a_spanish_caller_is_translated_under_the_line(page: Page, site: Site) -> None:
    sign_in(page, site, "auditor")
    page.get_by_role("link", name="Live", exact=True).click()
    expect(page.locator("#live-count")).to_have_text("No calls running.")
    stream = Stream(site, _with_silence(load_call_audio(SPANISH), 8.0), translate_to="en")
    call_id = _watch_the_next_call(page, site)
    translated = page.locator("#live-transcript .live-line.final").filter(
        has=page.locator("p.translation[lang=en]")
    )
    expect(translated.first).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(translated.first.locator("p.original[lang=es]")).to_contain_text(
        re.compile("representantes|ocupados", re.I)
    )
    expect(translated.first.locator("p.translation")).to_contain_text(
        re.compile("representative|busy|occupied", re.I)
    )
    original, translation = (
        translated.first.locator(selector).bounding_box()
        for selector in ("p.original", "p.translation")
    )
    assert original is not None and translation is not None
    assert translation["y"] >= original["y"] + original["height"] - 1  # under the original
    expect(page.locator("#live-checklist li")).to_have_count(0)  # no policy, no checklist
    expect(page.locator("#live-state")).to_have_attribute(
        "data-state", "ended", timeout=LIVE_TIMEOUT_MS
    )
    events = stream.join()
    assert events[-1]["call_id"] == call_id
    lines = _page_matches_the_stream(page, stream)
    with_translation = {str(event["segment_id"]) for event in stream.of("translation")}
    assert {line["id"] for line in lines if line["translation"]} == with_translation
