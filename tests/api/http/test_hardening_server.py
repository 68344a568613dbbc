"""Holes found from outside (issue 13), on a real uvicorn server on a local port: API keys in
uvicorn's logs, a request body that stalls, a client that leaves mid-upload.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
import websockets
from pydantic import SecretStr

from api.http.app import close_services, create_app, open_services
from api.http.deps import Services
from api.store.keys import create_key
from pipelines.core.settings import ServiceSettings, Settings
from tests.api.http.test_hardening import BOUNDARY, WAV, multipart_body
from tests.api.uvicorn_server import serving

IDLE_TIMEOUT_S = 1.0


# --- the server ---------------------------------------------------------------------------------


@dataclass
class Live:
    port: int
    services: Services
    key: str  # ingest
    analyst: str  # qa_analyst

    @property
    def audio_root(self) -> Path:
        return self.services.settings.data_path / "audio"


class Captured(logging.Handler):
    """Every record uvicorn's loggers pass on, as the text a handler would write."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.texts.append(logging.Formatter().format(record) + repr(record.args))


@pytest.fixture
def logs() -> Iterator[Captured]:
    handler = Captured()
    names = ("uvicorn.error", "uvicorn.access", "api")
    api_level = logging.getLogger("api").level
    logging.getLogger("api").setLevel(logging.INFO)
    for name in names:
        logging.getLogger(name).addHandler(handler)
    yield handler
    for name in names:
        logging.getLogger(name).removeHandler(handler)
    logging.getLogger("api").setLevel(api_level)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("hardening"),
        signing_key=SecretStr("hmac:hardening"),
        service=ServiceSettings(workers=0, body_idle_timeout_s=IDLE_TIMEOUT_S),
    )
    services = open_services(settings, workers=0)
    with services.store.session() as session:
        key = create_key(session, "phone", settings.tenant, ["ingest"], created_by="test")
        analyst = create_key(session, "qa", settings.tenant, ["qa_analyst"], created_by="test")
    try:
        with serving(create_app(services=services), log_level="info") as port:
            yield Live(port, services, key, analyst)
    finally:
        close_services(services)


def _multipart_head(live: Live, total: int) -> bytes:
    """Request headers for a multipart upload of ``total`` body bytes."""
    return (
        f"POST /v1/calls HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\n"
        f"Authorization: Bearer {live.key}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {total}\r\n\r\n"
    ).encode("ascii")


def _parts_left(live: Live) -> list[Path]:
    return [p for p in live.audio_root.rglob("*") if p.name.endswith(".part")]


# --- 1. keys never reach a log ------------------------------------------------------------------


async def _bad_start(url: str) -> int | None:
    async with websockets.connect(url) as ws:
        await ws.send("not json")
        try:
            await asyncio.wait_for(ws.recv(), timeout=10)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
    return None


def test_keys_never_reach_the_log(live: Live, logs: Captured) -> None:
    url = f"ws://127.0.0.1:{live.port}/v1/stream?token={live.key}"
    assert asyncio.run(_bad_start(url)) == 1007
    http = f"http://127.0.0.1:{live.port}"
    assert httpx.get(f"{http}/v1/calls?token=x-secret-value").status_code == 401
    assert httpx.get(f"{http}/v1/calls?a=1&api_key={live.key}&b=2").status_code == 401
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any("api_key" in t for t in logs.texts):
        time.sleep(0.05)
    text = "\n".join(logs.texts)
    assert "WebSocket /v1/stream?token=" in text, text  # the request lines are still logged
    assert "GET /v1/calls?token=" in text and "&b=2" in text, text
    assert live.key not in text and live.key[4:] not in text, text
    assert "x-secret-value" not in text, text


def test_secret_masking() -> None:
    from api.http.log_filters import mask_secrets

    assert mask_secrets("/v1/stream?token=cqa_abc-DEF_1&x=1") == "/v1/stream?token=***&x=1"
    assert mask_secrets("GET /a?API_KEY=s3cret HTTP/1.1") == "GET /a?API_KEY=*** HTTP/1.1"
    assert mask_secrets("key=1;access_token=2") == "key=***;access_token=***"
    assert mask_secrets("Bearer cqa_abcdefgh12345") == "Bearer cqa_***"
    assert mask_secrets("GET /v1/calls?from=2025-01-01") == "GET /v1/calls?from=2025-01-01"


# --- 6. a stalled request body ends in a 408 ----------------------------------------------------


def _answer(sock: socket.socket) -> bytes:
    """What the server sends until it closes the connection (or the socket times out)."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except TimeoutError:
        pass
    return received


def _stall(live: Live, head: bytes, body_part: bytes) -> tuple[bytes, float]:
    with socket.create_connection(("127.0.0.1", live.port), timeout=IDLE_TIMEOUT_S + 10) as sock:
        sock.sendall(head + body_part)
        started = time.monotonic()
        return _answer(sock), time.monotonic() - started


def test_a_stalled_upload_is_answered_408(live: Live) -> None:
    body = multipart_body(WAV)
    answer, waited = _stall(live, _multipart_head(live, len(body)), body[: len(body) // 2])
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:300]
    assert b'"code":"request_timeout"' in answer, answer[:300]
    assert IDLE_TIMEOUT_S * 0.9 <= waited < IDLE_TIMEOUT_S + 5, waited
    assert not _parts_left(live)


def test_a_stalled_json_body_is_answered_408(live: Live) -> None:
    head = (
        f"POST /v1/keys HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\n"
        f"Authorization: Bearer {live.key}\r\nContent-Type: application/json\r\n"
        "Content-Length: 100\r\n\r\n"
    ).encode("ascii")
    answer, waited = _stall(live, head, b'{"name": "new-k')
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:300]
    assert waited < IDLE_TIMEOUT_S + 5, waited


def test_serve_bounds_idle_connections(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import argparse

    from api.cli.main import _serve
    from pipelines.core.settings import get_settings

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda _app, **options: seen.update(options))
    monkeypatch.setenv("CALLQA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CALLQA_ADMIN_KEY", "cqa_serve-test-admin-key-0123456789abcdef")
    get_settings.cache_clear()
    try:
        assert _serve(argparse.Namespace(host="127.0.0.1", port=0, workers=0)) == 0
    finally:
        get_settings.cache_clear()
    assert seen["timeout_keep_alive"] == 5
    assert seen["h11_max_incomplete_event_size"] == 16 * 1024


# --- 7. a client that leaves mid-request is one quiet line --------------------------------------


def _leave_midway(live: Live, head: bytes, body_part: bytes, logs: Captured) -> str:
    """Send ``head`` and part of a body, hang up; the one line the server logged about it."""
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
        sock.sendall(head + body_part)
        time.sleep(0.3)  # the route is reading the body when the client goes
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any("went away" in t for t in logs.texts):
        time.sleep(0.05)
    time.sleep(0.5)  # whatever else the server logs about it
    went = [r for r in logs.records if "went away" in r.getMessage()]
    assert len(went) == 1 and went[0].levelno == logging.INFO, logs.texts
    assert not [r for r in logs.records if r.levelno >= logging.ERROR], logs.texts
    assert not [r for r in logs.records if r.exc_info], logs.texts
    assert not any("Traceback" in text for text in logs.texts), logs.texts
    return went[0].getMessage()


def test_client_leaving_mid_upload_logs_one_info_line(live: Live, logs: Captured) -> None:
    body = multipart_body(WAV)
    line = _leave_midway(live, _multipart_head(live, len(body)), body[: len(body) // 2], logs)
    assert line.startswith("client went away mid-upload"), line
    assert not _parts_left(live)


def test_client_leaving_mid_request_logs_one_info_line(live: Live, logs: Captured) -> None:
    head = (
        f"PUT /v1/policies/greeting HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\n"
        f"Authorization: Bearer {live.analyst}\r\nContent-Type: application/yaml\r\n"
        "Content-Length: 4000\r\n\r\n"
    ).encode("ascii")
    line = _leave_midway(live, head, b"id: greeting\nrules:\n", logs)
    assert line == "client went away mid-request (PUT /v1/policies/greeting)", line
