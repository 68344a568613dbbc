"""Holes found from outside (issue 13): keys in logs, unhandled 500s, truncated or wrong bodies,
security headers, CDN docs pages, stalled and abandoned request bodies.

The log and timeout tests run a real uvicorn server on a local port; the rest use the
``TestClient`` app of ``routes_fixtures``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
import websockets
from pydantic import SecretStr
from routes_fixtures import Env, env, error_of

from api.app import close_services, create_app, open_services
from api.auth import create_key
from api.deps import Services
from pipelines.settings import ServiceSettings, Settings

__all__ = ["env"]  # fixture, imported for pytest

DATA = Path(__file__).resolve().parents[1] / "data"
WAV = (DATA / "stereo" / "two-speakers-stereo.wav").read_bytes()
TELEPHONY = DATA / "telephony" / "en_queue-periodic-announce.wav"
IDLE_TIMEOUT_S = 1.0
BOUNDARY = "hardening-boundary"


# --- a real server ------------------------------------------------------------------------------


@dataclass
class Live:
    port: int
    services: Services
    key: str

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
    names = ("uvicorn.error", "uvicorn.access", "api", "")
    for name in names:
        logging.getLogger(name).addHandler(handler)
    yield handler
    for name in names:
        logging.getLogger(name).removeHandler(handler)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("hardening"),
        signing_key=SecretStr("hmac:hardening"),
        service=ServiceSettings(workers=0),
    )
    services = open_services(settings, workers=0)
    with services.store.session() as session:
        key = create_key(session, "phone", settings.tenant, ["ingest"], created_by="test")
    port = _free_port()
    config = uvicorn.Config(create_app(services=services), port=port, log_level="info")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield Live(port, services, key)
    server.should_exit = True
    thread.join(30)
    close_services(services)


def _multipart_head(live: Live, total: int) -> bytes:
    """Request headers for a multipart upload of ``total`` body bytes."""
    return (
        f"POST /v1/calls HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\n"
        f"Authorization: Bearer {live.key}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {total}\r\n\r\n"
    ).encode("ascii")


def _multipart_body(data: bytes) -> bytes:
    return (
        (
            f"--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="file"; filename="call.wav"\r\n'
            "Content-Type: audio/wav\r\n\r\n"
        ).encode("ascii")
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode("ascii")
    )


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
    from api.log_filters import mask_secrets

    assert mask_secrets("/v1/stream?token=cqa_abc-DEF_1&x=1") == "/v1/stream?token=***&x=1"
    assert mask_secrets("GET /a?API_KEY=s3cret HTTP/1.1") == "GET /a?API_KEY=*** HTTP/1.1"
    assert mask_secrets("key=1;access_token=2") == "key=***;access_token=***"
    assert mask_secrets("Bearer cqa_abcdefgh12345") == "Bearer cqa_***"
    assert mask_secrets("GET /v1/calls?from=2025-01-01") == "GET /v1/calls?from=2025-01-01"


# --- 2. no unhandled 500s -----------------------------------------------------------------------

FAR_CURSOR = "WyIwMDAxLTAxLTAxVDAwOjAwOjAwKzE0OjAwIiwgIngiXQ"  # ["0001-01-01T00:00:00+14:00","x"]


@pytest.mark.parametrize(
    "metadata",
    ['{"x": ' + "9" * 5000 + "}", "[" * 60000, '{"x": NaN}', '{"x": 1e999}', '{"x": -Infinity}'],
    ids=["5000-digit-int", "deep-nesting", "nan", "overflow-float", "infinity"],
)
def test_metadata_that_json_cannot_hold_is_422(env: Env, metadata: str) -> None:
    answer = env.client.post(
        "/v1/calls",
        files={"file": ("call.wav", WAV)},
        data={"metadata": metadata},
        headers=env.as_("ingest"),
    )
    assert error_of(answer) == (422, "invalid"), answer.text
    assert "Traceback" not in answer.text


def test_cursor_out_of_range_is_422(env: Env) -> None:
    answer = env.client.get(f"/v1/calls?cursor={FAR_CURSOR}", headers=env.as_("qa_analyst"))
    assert error_of(answer) == (422, "invalid"), answer.text
    assert "cursor" in answer.json()["error"]["message"]
