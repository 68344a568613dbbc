"""Live calls over a real WebSocket (uvicorn on a local port): the callqa protocol with live
translation, Twilio Media Streams with live alerts, malformed messages, dropped connections,
and the stored call the batch stages finish."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import websockets
from pydantic import SecretStr
from sqlalchemy import select

from api.cli.stream import replay_callqa, replay_twilio
from api.http.app import close_services, create_app, open_services
from api.http.deps import Services
from api.store.keys import create_key
from api.store.schema import Call, Job
from pipelines.core.settings import Settings
from tests.api.uvicorn_server import serving
from voice.decode import load_call_audio

DATA = Path(__file__).resolve().parents[2] / "data"
SPANISH = DATA / "telephony" / "es_queue-periodic-announce.wav"
CARD_CALL = DATA / "calls" / "payment-card.wav"
MISSING_LINES = DATA / "calls" / "missing-lines-cancel.wav"
POLICY = DATA.parent.parent / "samples" / "policies" / "ecommerce-aftersales.yaml"


@dataclass
class Server:
    url: str
    services: Services
    key: str


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("live"), signing_key=SecretStr("hmac:live-test")
    )
    services = open_services(settings, workers=1)
    with services.store.session() as session:
        key = create_key(
            session, "softphone", settings.tenant, ["ingest", "qa_analyst"], created_by="t"
        )
    try:
        with serving(create_app(services=services)) as port:
            yield Server(f"ws://127.0.0.1:{port}", services, key)
    finally:
        close_services(services)


def _args(url: str, **extra: Any) -> argparse.Namespace:
    options = {"translate_to": None, "policy_id": None, "layout": None, "realtime": False}
    return argparse.Namespace(url=url, **{**options, **extra})


def _texts(events: list[dict[str, Any]]) -> list[str]:
    """Every text an event carries: segments, their words, translations, alert messages."""
    out: list[str] = []
    for event in events:
        segment = event.get("segment") or {}
        out += [segment.get("text") or "", *(w["word"] for w in segment.get("words") or [])]
        out += [event.get("text") or "", event.get("message") or ""]
    return out


def _call_row(server: Server, call_id: str) -> tuple[Call, Job | None]:
    with server.services.store.session() as session:
        call = session.get(Call, call_id)
        assert call is not None
        job = session.scalars(select(Job).where(Job.call_id == call_id)).first()
        return call, job


def _put_policy(server: Server) -> str:
    """Store the sample e-commerce policy for the server's tenant; returns the HTTP base URL."""
    import httpx

    base = server.url.replace("ws://", "http://")
    put = httpx.put(
        f"{base}/v1/policies/ecommerce-aftersales",
        content=POLICY.read_bytes(),
        headers={"Authorization": f"Bearer {server.key}", "Content-Type": "application/yaml"},
    )
    assert put.status_code in (200, 201), put.text
    return base


def test_callqa_protocol_translates_a_spanish_caller_while_the_call_runs(server: Server) -> None:
    events: list[dict[str, Any]] = []
    args = _args(f"{server.url}/v1/stream", translate_to="en")
    status = asyncio.run(replay_callqa(load_call_audio(SPANISH), args, server.key, events.append))
    assert status == 0, events[-3:]
    kinds = [e["type"] for e in events]
    assert "final" in kinds and kinds[-1] == "end"
    finals = [e["segment"] for e in events if e["type"] == "final"]
    assert all(f["language"] == "es" for f in finals), finals
    translations = [e for e in events if e["type"] == "translation"]
    english = " ".join(t["text"].lower() for t in translations)
    assert "representative" in english or "busy" in english or "occupied" in english, english
    assert kinds.index("translation") < kinds.index("end")
    # a final never changes: one final per segment id
    ids = [f["id"] for f in finals]
    assert len(ids) == len(set(ids))
    call, job = _call_row(server, events[-1]["call_id"])
    assert call.source == "stream" and job is not None and Path(call.audio_path or "").exists()


def test_twilio_media_streams_with_live_compliance_alerts(server: Server) -> None:
    _put_policy(server)
    events: list[dict[str, Any]] = []
    args = _args(f"{server.url}/v1/twilio", policy_id="ecommerce-aftersales")
    replay = replay_twilio(load_call_audio(MISSING_LINES), args, server.key, events.append)
    assert asyncio.run(replay) == 0
    alerts = [e for e in events if e["type"] == "alert"]
    # the agent never greets (deadline 15 s) and says a forbidden phrase
    assert {"greeting", "no_forbidden_phrases"} <= {a["rule_id"] for a in alerts}, alerts
    assert all(a["kind"] == "compliance" for a in alerts if a["rule_id"])
    finals = [e["segment"] for e in events if e["type"] == "final"]
    assert {f["role"] for f in finals} == {"agent", "customer"}
    end = events[-1]
    assert end["type"] == "end" and end["call_id"].startswith("CA")
    call, _ = _call_row(server, end["call_id"])
    assert call.layout == "stereo-agent-left" and call.policy_id == "ecommerce-aftersales"


def test_callqa_protocol_flags_card_details_read_out(server: Server) -> None:
    events: list[dict[str, Any]] = []
    replay = replay_callqa(
        load_call_audio(CARD_CALL), _args(f"{server.url}/v1/stream"), server.key, events.append
    )
    assert asyncio.run(replay) == 0
    pii = {
        t
        for e in events
        if e["type"] == "alert" and e["kind"] == "pii"
        for t in e["details"]["types"]
    }
    # the security code is flagged as it is said; the card's repeated digits come out of the
    # live decode collapsed ("4-1-1"), so its number is caught by the batch record instead
    assert "CVV" in pii, [e["segment"]["text"] for e in events if e["type"] == "final"]
    sent = " ".join(_texts(events))
    assert "4111" not in sent and "737" not in sent  # nothing personal reaches a desktop


async def _close_code(url: str, *messages: str | bytes) -> int | None:
    async with websockets.connect(url) as ws:
        try:
            for message in messages:
                await ws.send(message)
            async for _ in ws:
                pass
        except websockets.ConnectionClosed:
            pass
        return ws.close_code


def test_malformed_messages_close_with_the_right_code(server: Server) -> None:
    stream = f"{server.url}/v1/stream?token={server.key}"
    start = json.dumps({"type": "start", "sample_rate": 16000, "encoding": "pcm_s16le"})
    mono_as_stereo = json.dumps({"type": "start", "channels": 1, "layout": "stereo-agent-left"})
    no_token = json.dumps({"event": "start", "start": {"callSid": "x"}})
    cases: list[tuple[str, tuple[str | bytes, ...], int]] = [
        (f"{server.url}/v1/stream", (start,), 1008),
        (f"{server.url}/v1/stream?token=wrong", (start,), 1008),
        (stream, (b"\x00\x01" * 160,), 1003),
        (stream, ("{not json",), 1007),
        (stream, (json.dumps({"type": "start", "sample_rate": 44100}),), 1007),
        (stream, (mono_as_stereo,), 1007),
        (f"{server.url}/v1/twilio", (json.dumps({"event": "media", "media": {}}),), 1003),
        (f"{server.url}/v1/twilio", (no_token,), 1008),
        (f"{server.url}/v1/live/{'0' * 32}?token={server.key}", (), 1008),
    ]
    for url, messages, code in cases:
        assert asyncio.run(_close_code(url, *messages)) == code, (url, messages)


def test_a_bad_call_does_not_affect_a_good_one_and_drops_lose_no_audio(server: Server) -> None:
    async def scenario() -> tuple[list[dict[str, Any]], int | None, str]:
        good: list[dict[str, Any]] = []
        args = _args(f"{server.url}/v1/stream")
        running = asyncio.create_task(
            replay_callqa(load_call_audio(SPANISH), args, server.key, good.append)
        )
        bad = await _close_code(f"{server.url}/v1/stream?token={server.key}", "[]")
        # a caller that vanishes mid-call: no stop message, the socket just goes away
        url = f"{server.url}/v1/stream?token={server.key}"
        async with websockets.connect(url) as ws:
            await ws.send(json.dumps({"type": "start", "sample_rate": 16000}))
            audio = load_call_audio(SPANISH).channels[0].samples[: 16000 * 3]
            await ws.send((audio * 32767).astype("<i2").tobytes())
            await asyncio.sleep(0.5)
        await running
        return good, bad, ""

    good, bad, _ = asyncio.run(scenario())
    assert bad == 1007
    assert good[-1]["type"] == "end"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # the dropped call is stored with its 3 s of audio
        with server.services.store.session() as session:
            calls = session.scalars(select(Call).where(Call.source == "stream")).all()
            dropped = [c for c in calls if c.size_bytes and 90_000 < c.size_bytes < 110_000]
        if dropped:
            break
        time.sleep(0.5)
    assert dropped, [(c.id, c.size_bytes) for c in calls]


def test_callqa_stream_command_prints_the_events(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.cli.main import main

    code = main(["stream", str(SPANISH), "--url", f"{server.url}/v1/stream", "--token", server.key])
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert code == 0 and events[-1]["type"] == "end"
    assert any(e["type"] == "final" for e in events)
    assert main(["stream", str(SPANISH), "--url", "http://nowhere", "--token", "k"]) == 2


def test_a_desktop_that_connects_before_the_start_gets_the_calls_events(server: Server) -> None:
    """An agent desktop told the Twilio callSid opens ``/v1/live`` 0.2 s before the telephony
    platform's ``start`` arrives: it waits for the call instead of being refused (1008)."""
    from voice.g711 import encode_mulaw

    call_sid = "CA" + "5e" * 16
    audio = load_call_audio(SPANISH).channels[0].samples[::2]  # 16 -> 8 kHz, a telephone line
    mulaw = encode_mulaw(audio)
    start = {
        "event": "start",
        "start": {
            "callSid": call_sid,
            "tracks": ["inbound"],
            "customParameters": {"token": server.key},
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        },
    }

    async def desktop(events: list[dict[str, Any]]) -> None:
        async with websockets.connect(f"{server.url}/v1/live/{call_sid}?token={server.key}") as ws:
            async for message in ws:
                events.append(json.loads(message))
                if events[-1]["type"] == "end":
                    return

    async def scenario() -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        watching = asyncio.create_task(desktop(events))
        await asyncio.sleep(0.2)
        async with websockets.connect(f"{server.url}/v1/twilio", ping_interval=None) as phone:
            await phone.send(json.dumps(start))
            for index in range(0, len(mulaw), 160):
                payload = base64.b64encode(mulaw[index : index + 160]).decode()
                media = {"event": "media", "media": {"track": "inbound", "payload": payload}}
                await phone.send(json.dumps(media))
            await phone.send(json.dumps({"event": "stop", "stop": {"callSid": call_sid}}))
            await asyncio.wait_for(watching, timeout=300)
        return events

    events = asyncio.run(scenario())
    kinds = [e["type"] for e in events]
    assert "final" in kinds and kinds[-1] == "end", kinds
    assert events[-1]["call_id"] == call_sid


def test_a_desktop_that_joins_a_running_call_gets_it_from_the_start(server: Server) -> None:
    """A supervisor finds the call in ``GET /v1/live`` once its first final is out and opens
    it: the finals said so far come first (same ids, same order as the phone got them), then
    the rest, the compliance checklist, and ``end``. Another tenant's key lists nothing."""
    import httpx

    base = _put_policy(server)
    with server.services.store.session() as session:
        stranger = create_key(session, "other", "globex", ["qa_analyst"], created_by="t")

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Any]]:
        phone: list[dict[str, Any]] = []
        desktop: list[dict[str, Any]] = []
        first_final = asyncio.Event()

        def on_phone(event: dict[str, Any]) -> None:
            phone.append(event)
            if event["type"] == "final":
                first_final.set()

        async def watch() -> list[Any]:
            await asyncio.wait_for(first_final.wait(), timeout=300)
            async with httpx.AsyncClient(base_url=base) as client:
                mine = await client.get(
                    "/v1/live", headers={"Authorization": f"Bearer {server.key}"}
                )
                theirs = await client.get(
                    "/v1/live", headers={"Authorization": f"Bearer {stranger}"}
                )
            running = mine.json()["calls"]
            assert mine.status_code == 200 and len(running) == 1, mine.text
            call_id = running[0]["call_id"]
            url = f"{server.url}/v1/live/{call_id}?token={server.key}"
            async with websockets.connect(url) as ws:
                async for message in ws:
                    desktop.append(json.loads(message))
                    if desktop[-1]["type"] == "end":
                        break
            return [running[0], theirs.json()["calls"]]

        args = _args(f"{server.url}/v1/stream", policy_id="ecommerce-aftersales", realtime=True)
        watching = asyncio.create_task(watch())
        status = await replay_callqa(load_call_audio(MISSING_LINES), args, server.key, on_phone)
        assert status == 0
        listed = await asyncio.wait_for(watching, timeout=300)
        return phone, desktop, listed

    phone, desktop, (listed, stranger_calls) = asyncio.run(scenario())
    assert stranger_calls == []
    assert listed["policy_id"] == "ecommerce-aftersales" and listed["protocol"] == "callqa"
    assert desktop[0]["type"] == "final"  # what was said before it joined comes first
    phone_finals = [e["segment"]["id"] for e in phone if e["type"] == "final"]
    desktop_finals = [e["segment"]["id"] for e in desktop if e["type"] == "final"]
    assert desktop_finals == phone_finals
    checklists = [e["items"] for e in desktop if e["type"] == "checklist"]
    assert checklists, [e["type"] for e in desktop]
    final = {item["rule_id"]: item["status"] for item in checklists[-1]}
    assert final["greeting"] == "missed" and final["no_forbidden_phrases"] == "violated", final
    assert desktop[-1]["type"] == "end" and desktop[-1]["call_id"] == listed["call_id"]
