"""A live call's id, chosen by the client, can never touch an existing call: not another
tenant's, not a finished, running or erased one, not over ``/v1/stream`` nor ``/v1/twilio``,
not when two streams race for it. A row rewritten anyway is named by ``callqa verify``."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import websockets
from sqlalchemy import select, text

from api.http.app import create_app
from api.jobs.intake import CallIdTaken, claim_live_call
from api.live.hub import LiveStart
from api.records.export import verify_store
from api.store.db import Store
from api.store.integrity import HmacSigner, Signer
from api.store.schema import Call, LedgerEntry
from tests.api.routes_fixtures import Env, make_env
from tests.api.uvicorn_server import serving
from voice.decode import load_call_audio
from voice.g711 import encode_mulaw

CALL = Path(__file__).resolve().parents[2] / "data" / "calls" / "payment-card.wav"
STATES = ("done", "running", "erased")


@dataclass
class Server:
    env: Env
    url: str

    def key(self, tenant: str) -> str:
        return self.env.as_("ingest", tenant)["Authorization"].removeprefix("Bearer ")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    for env in make_env(tmp_path_factory.mktemp("ids")):
        with serving(create_app(services=env.services)) as port:
            yield Server(env, f"ws://127.0.0.1:{port}")


@pytest.fixture(scope="module")
def speech() -> bytes:
    """Two seconds of a real call at 8 kHz, PCM16 (what a softphone sends)."""
    audio = load_call_audio(CALL, target_rate=8000).channels[0].samples[8000 : 8000 * 3]
    return bytes(np.round(np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())


def existing_call(env: Env, state: str, tenant: str, call_id: str) -> None:
    """A call of ``tenant`` that is done (record stored), running (job running) or erased."""
    if state == "running":
        env.pending_call("running", tenant=tenant, call_id=call_id)
        return
    env.store_call(tenant=tenant, call_id=call_id)
    if state == "erased":
        answer = env.client.request(
            "DELETE",
            f"/v1/calls/{call_id}",
            json={"reason": "customer request"},
            headers=env.as_("admin", tenant),
        )
        assert answer.status_code == 200, answer.text


def snapshot(env: Env, call_id: str) -> tuple[dict[str, Any], dict[str, bytes], int]:
    """Everything the call is: its row, its files, its ledger entries."""
    with env.services.store.session() as session:
        row = session.get(Call, call_id)
        assert row is not None
        columns = {c.name: getattr(row, c.name) for c in Call.__table__.columns}
        entries = len(
            session.scalars(select(LedgerEntry).where(LedgerEntry.call_id == call_id)).all()
        )
    files = {p.name: p.read_bytes() for p in env.audio_root.glob(f"*/*{call_id}*")}
    return columns, files, entries


async def _stream(url: str, first: str, audio: bytes, last: str) -> tuple[int | None, str]:
    """Send a start, audio and a stop like a softphone; the close code and reason."""
    async with websockets.connect(url, max_size=None) as ws:
        try:
            await ws.send(first)
            for at in range(0, len(audio), 640):
                await ws.send(audio[at : at + 640])
            await ws.send(last)
            async for _ in ws:
                pass
        except websockets.ConnectionClosed:
            pass
        return ws.close_code, ws.close_reason or ""


def callqa_stream(
    server: Server, tenant: str, call_id: str, audio: bytes
) -> tuple[int | None, str]:
    start = json.dumps({"type": "start", "call_id": call_id, "sample_rate": 8000})
    url = f"{server.url}/v1/stream?token={server.key(tenant)}"
    return asyncio.run(_stream(url, start, audio, json.dumps({"type": "stop"})))


def twilio(server: Server, tenant: str, call_sid: str, audio: bytes) -> tuple[int | None, str]:
    start = {
        "event": "start",
        "start": {
            "callSid": call_sid,
            "streamSid": "MZ" + "0" * 32,
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            "customParameters": {"token": server.key(tenant)},
        },
    }
    pcm = np.frombuffer(audio, dtype="<i2").astype(np.float32) / 32768.0
    payload = base64.b64encode(encode_mulaw(pcm)).decode()
    media = {"event": "media", "media": {"track": "inbound", "timestamp": "0", "payload": payload}}
    url = f"{server.url}/v1/twilio"
    return asyncio.run(
        _stream(url, json.dumps(start), json.dumps(media).encode(), json.dumps({"event": "stop"}))
    )


def _verify(env: Env) -> None:
    report = verify_store(env.services.store, [env.services.signer])
    assert report.ok, report.failure


@pytest.mark.parametrize("protocol", ["callqa", "twilio"])
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("tenant", ["acme", "globex"])  # the owner's tenant, another tenant
def test_a_chosen_call_id_never_touches_an_existing_call(
    server: Server, speech: bytes, protocol: str, state: str, tenant: str
) -> None:
    env = server.env
    call_id = ("CA" if protocol == "twilio" else "") + uuid.uuid4().hex
    existing_call(env, state, "acme", call_id)
    before = snapshot(env, call_id)
    if protocol == "twilio":
        code, reason = twilio(server, tenant, call_id, speech)
    else:
        code, reason = callqa_stream(server, tenant, call_id, speech)
    assert (code, reason) == (
        1008,
        f"call id {call_id} is taken; start without call_id for a new one",
    )
    assert snapshot(env, call_id) == before
    assert not list(env.audio_root.glob(f"*/.{call_id}.live*"))
    _verify(env)


async def _race(server: Server, call_id: str, audio: bytes) -> list[tuple[int | None, str]]:
    start = json.dumps({"type": "start", "call_id": call_id, "sample_rate": 8000})
    stop = json.dumps({"type": "stop"})
    return list(
        await asyncio.gather(
            *(
                _stream(f"{server.url}/v1/stream?token={server.key(t)}", start, audio, stop)
                for t in ("acme", "globex")
            )
        )
    )


def test_two_tenants_racing_for_one_id_get_it_once(server: Server, speech: bytes) -> None:
    env = server.env
    for _ in range(20):
        call_id = uuid.uuid4().hex
        outcomes = asyncio.run(_race(server, call_id, speech[: 8000 * 2 // 2]))
        codes = [code for code, _ in outcomes]
        assert sorted(codes, key=str) == [1000, 1008], outcomes
        winner = ("acme", "globex")[codes.index(1000)]
        with env.services.store.session() as session:
            row = session.get(Call, call_id)
            assert row is not None and (row.tenant, row.status, row.source) == (
                winner,
                "queued",
                "stream",
            )
    _verify(env)


def _claim_race(store: Store, signer: Signer, call_id: str) -> list[str]:
    """Two threads claim ``call_id`` at the same moment; the tenants that got it."""
    won: list[str] = []
    barrier = threading.Barrier(2)

    def claim(tenant: str) -> None:
        barrier.wait()
        try:
            claim_live_call(store, signer, LiveStart(call_id=call_id, tenant=tenant, by="t"))
            won.append(tenant)
        except CallIdTaken:
            pass

    threads = [threading.Thread(target=claim, args=(t,)) for t in ("acme", "globex")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return won


def test_claims_are_atomic_in_the_database(store: Store) -> None:
    """Two tenants claim the same id at once, 20 times, on SQLite and PostgreSQL."""
    signer = HmacSigner(b"claims")
    for _ in range(20):
        assert len(_claim_race(store, signer, uuid.uuid4().hex)) == 1


@pytest.mark.parametrize(
    "rewrite",
    [
        "status = 'queued'",
        "audio_path = '/elsewhere/other-tenant.upload'",
        "tenant = 'globex'",
        "metadata_json = NULL",
        "status = 'running', erased_at = NULL",
    ],
)
def test_verify_names_a_rewritten_call_row(server: Server, rewrite: str) -> None:
    env = server.env
    call_id = uuid.uuid4().hex
    existing_call(env, "erased" if "erased_at" in rewrite else "done", "acme", call_id)
    _verify(env)
    with env.services.store.engine.begin() as connection:
        connection.execute(text(f"UPDATE calls SET {rewrite} WHERE id = :id"), {"id": call_id})
    failure = verify_store(env.services.store, [env.services.signer]).failure
    try:
        assert failure is not None and failure.chain == "calls", failure
        assert failure.problem is not None and failure.problem.call_id == call_id
    finally:
        with env.services.store.engine.begin() as connection:
            connection.execute(text("DELETE FROM calls WHERE id = :id"), {"id": call_id})
