"""A real callqa server on a local port and Debian's headless Chromium driven by Playwright.

The browser is the distribution's ``/usr/bin/chromium`` (``make install`` installs it); no
browser is downloaded. Screenshots go to ``test-artifacts/review-page`` (or
``$CALLQA_TEST_ARTIFACTS``) so a person can look at them after the run.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Response,
    ViewportSize,
    sync_playwright,
)

from api.http.app import close_services, create_app, open_services
from api.http.deps import Services
from api.jobs.runner import summary_columns
from api.records.search import iso_z
from api.store.keys import create_key
from api.store.ledger import append_record
from api.store.schema import Call
from pipelines.core.settings import Settings
from pipelines.pii.redactor import redact_text

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
RECORDS = DATA / "records"  # written by `callqa analyze` on real test calls
# the recordings those records came from; none holds personal data (the records redacted
# nothing), so each is its own redacted audio
SOURCES = {
    "angry-customer": DATA / "calls" / "angry-customer.wav",
    "compliant-return": DATA / "calls" / "compliant-return.wav",
    "greeting-mono": DATA / "calls" / "greeting-mono.wav",
    "spanish-announcement-translated": DATA / "telephony" / "es_queue-periodic-announce.wav",
}
HISTORY_DAYS = 2
CHROMIUM = Path(os.environ.get("CALLQA_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
VIEWPORT: ViewportSize = {"width": 1366, "height": 900}  # a laptop screen
# page scripts: the visible form controls without a label, and the buttons, links and images
# without an accessible name (both lists must be empty on every view)
UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter((el) => el.type !== 'hidden' && el.offsetParent !== null)
  .filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label'))
  .map((el) => el.outerHTML)"""
NAMELESS = """() => [...document.querySelectorAll('button, a[href], img')]
  .filter((el) => el.offsetParent !== null)
  .filter((el) => !(el.getAttribute('aria-label') || el.getAttribute('alt')
                    || el.textContent.trim()))
  .map((el) => el.outerHTML)"""


def artifacts_dir() -> Path:
    folder = Path(os.environ.get("CALLQA_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "review-page"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class Site:
    """A running server: its base URL, services, and one API key per role (plus a stranger)."""

    url: str
    services: Services
    keys: dict[str, str]
    history: int  # calls stored before the tests start


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def seed_history(services: Services, tenant: str) -> int:
    """Real stored records as earlier calls of ``tenant`` (one per record, agent and day), so
    lists and the dashboard have a history; returns how many were stored."""
    count = 0
    noon = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    for day in range(1, HISTORY_DAYS + 1):
        for index, path in enumerate(sorted(RECORDS.glob("*.json"))):
            record = json.loads(path.read_text(encoding="utf-8"))
            assert not record["pii"]["entities"], f"{path.name}: its audio needs redacting"
            created = noon - timedelta(days=day, minutes=index)
            keep_call(services, tenant, path.stem, f"agent-{index + 1}", created)
            count += 1
    return count


def store_call(
    site: Site,
    name: str = "compliant-return",
    *,
    agent: str,
    edit: dict[str, Any] | None = None,
    created_at: datetime | None = None,
) -> str:
    """One more stored call of the site's tenant from the real record ``name``, its fields
    replaced by ``edit`` (e.g. a calibrated ``compliance``) before it is stored; returns its id."""
    services = site.services
    created = created_at or datetime.now(UTC)
    return keep_call(services, services.settings.tenant, name, agent, created, edit)


def keep_call(
    services: Services,
    tenant: str,
    name: str,
    agent: str,
    created: datetime,
    edit: dict[str, Any] | None = None,
) -> str:
    """The real record ``name`` (edited) stored as a new call of ``tenant``, as the worker
    stores one: ledger entry, redacted audio, a row with its summary; returns its id."""
    call_id = uuid.uuid4().hex
    record = json.loads((RECORDS / f"{name}.json").read_text(encoding="utf-8"))
    record.update(id=call_id, tenant=tenant, created_at=iso_z(created), **(edit or {}))
    record.pop("integrity", None)
    folder = services.settings.data_path / "audio" / tenant
    folder.mkdir(parents=True, exist_ok=True)
    audio = folder / f"{call_id}.redacted.wav"
    shutil.copyfile(SOURCES[name], audio)
    metadata: dict[str, object] = {"agent": agent}
    with services.store.session() as session:
        entry = append_record(session, tenant, call_id, record, services.signer)
        session.add(
            Call(
                id=call_id,
                tenant=tenant,
                created_at=created,
                status="done",
                redacted_audio_path=str(audio),
                metadata_json=metadata,
                layout=record["layout"],
                record_seq=entry.seq,
                **summary_columns(record, metadata),
            )
        )
    return call_id


SAMPLE_POLICY = ROOT / "samples" / "policies" / "ecommerce-aftersales.yaml"


def store_sample_policy(site: Site, policy_id: str = "ecommerce-aftersales") -> None:
    """The sample e-commerce policy, stored for the site's tenant as a QA analyst would."""
    import httpx

    answer = httpx.put(
        f"{site.url}/v1/policies/{policy_id}",
        content=SAMPLE_POLICY.read_bytes(),
        headers={
            "Authorization": f"Bearer {site.keys['qa_analyst']}",
            "Content-Type": "application/yaml",
        },
    )
    assert answer.status_code in (200, 201), answer.text


@contextmanager
def running_site(data_dir: Path) -> Iterator[Site]:
    """``callqa serve`` in a thread (one embedded worker, SQLite) with keys for every role and
    a history of earlier calls."""
    settings = Settings(data_dir=data_dir)
    services = open_services(settings, workers=1)
    keys: dict[str, str] = {}
    with services.store.session() as session:
        for role in ("qa_analyst", "auditor", "ingest", "admin"):
            keys[role] = create_key(session, f"web-{role}", settings.tenant, [role], created_by="t")
        keys["stranger"] = create_key(
            session, "web-stranger", "another-tenant", ["qa_analyst", "auditor"], created_by="t"
        )
    history = seed_history(services, settings.tenant)
    redact_text("")  # the PII recognizers load once (~20 s); searches wait for them
    port = _free_port()
    config = uvicorn.Config(create_app(services=services), port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield Site(f"http://127.0.0.1:{port}", services, keys, history)
    finally:
        server.should_exit = True
        thread.join(30)
        close_services(services)


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Debian Chromium; fails (never skips) when it is not installed."""
    if not CHROMIUM.is_file():
        raise RuntimeError(f"{CHROMIUM} is missing: `make install` installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield browser
        finally:
            browser.close()


def page_errors(page: Page) -> list[str]:
    """Collects uncaught script errors, console errors and 5xx answers of ``page``."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))

    def console(message: ConsoleMessage) -> None:
        # refused requests (401/403/404) are the page's to handle; server faults are not
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(f"console: {message.text}")

    def response(answer: Response) -> None:
        if answer.status >= 500:
            errors.append(f"server fault: {answer.status} {answer.url}")

    page.on("console", console)
    page.on("response", response)
    return errors


def enter_key(page: Page, key: str) -> None:
    """Type ``key`` into the sign-in form of the page as it is and submit it."""
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def sign_in(page: Page, site: Site, role: str) -> None:
    page.goto(f"{site.url}/")
    enter_key(page, site.keys[role])
    page.wait_for_selector("#nav:not([hidden])")


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("#sign-in:not([hidden])")
