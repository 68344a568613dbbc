"""Live calls over WebSockets: ``/v1/stream`` (callqa protocol), ``/v1/twilio`` (Twilio Media
Streams) and ``/v1/live/{call_id}`` (read-only events for agent desktops and supervisors, the
call so far first); ``GET /v1/live`` lists the tenant's running calls.

Close codes: 1003 data of the wrong kind (audio before ``start``), 1007 a malformed message,
1008 no valid key or role, 1009 a call longer than allowed, 1011 a server fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from api.http.deps import Services, ServicesDep, authenticate, require
from api.http.errors import ApiError, close_code_of
from api.live.hub import LiveCall, LiveStart, subscriber
from api.live.protocols import (
    CALL_ID,
    TWILIO_TRACKS,
    Closing,
    parse_json,
    parse_start,
    parse_twilio_media,
    parse_twilio_start,
    twilio_parameters,
)
from api.store.audit import audit
from api.store.keys import Principal

logger = logging.getLogger(__name__)

router = APIRouter(tags=["live"])

STREAM_ROLES = ("ingest", "qa_analyst")
WATCH_ROLES = ("qa_analyst", "auditor", "admin", "ingest")
Watcher = Annotated[Principal, Depends(require(*WATCH_ROLES))]
MAX_BEHIND_S = 4.0  # transcription this far behind the audio: the reader holds back the client
LIVE_WAIT_S = 5.0  # a desktop may connect this long before the call it watches is open
LIVE_OPENING_WAIT_S = 120.0
LIVE_POLL_S = 0.05


def _services(websocket: WebSocket) -> Services:
    services: Services = websocket.app.state.services
    return services


def _principal(
    services: Services, token: str | None, origin: str, roles: tuple[str, ...]
) -> Principal:
    try:
        principal = authenticate(services, token, origin)
    except ApiError as exc:
        raise Closing(close_code_of(exc), exc.message) from exc
    if not principal.has_any(roles):
        raise Closing(1008, f"this needs the role {' or '.join(roles)}")
    return principal


def _origin(websocket: WebSocket) -> str:
    return websocket.client.host if websocket.client else "unknown"


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):  # closed by the peer
        await websocket.close(code=code, reason=reason)


class _Session:
    """A live call bound to the socket that feeds it."""

    def __init__(self, services: Services, principal: Principal, start: LiveStart) -> None:
        self.services = services
        self.principal = principal
        self.start = start
        self.call: LiveCall | None = None
        self.last_tick = time.monotonic()

    async def open(self, tracks: tuple[int, ...]) -> LiveCall:
        from api.http.routes.calls import audio_dir
        from api.jobs.intake import CallIdTaken

        folder = audio_dir(self.services, self.start.tenant)
        try:
            call: LiveCall = await run_in_threadpool(
                self.services.live.open, self.start, tracks, folder
            )
        except CallIdTaken as exc:
            raise Closing(
                1008, f"call id {self.start.call_id} is taken; start without call_id for a new one"
            ) from exc
        self.call = call
        audit(self.services, self.principal, "call.stream", self.start.call_id)
        return call

    async def audio(self, data: bytes, track: int | None = None) -> None:
        call = self.call
        assert call is not None
        if call.received_s > self.services.settings.audio.max_duration_s:
            raise Closing(1009, "the call is longer than CALLQA_AUDIO__MAX_DURATION_S")
        await run_in_threadpool(call.push, data, track)  # never block the event loop
        warned = False
        while call.behind_s() > MAX_BEHIND_S:  # backpressure: stop reading for a while
            if not warned:
                call.publish({"type": "notice", "kind": "backpressure", "detail": "slow down"})
                warned = True
            await asyncio.sleep(0.05)
        if time.monotonic() - self.last_tick >= 1.0:
            self.last_tick = time.monotonic()
            call.tick()

    async def finish(self) -> dict[str, Any] | None:
        """Store the call for the batch stages; the ``end`` event (None if no audio came)."""
        from api.jobs.intake import Intake, release_live_claim, store_call

        call = self.call
        if call is None:
            return None
        try:
            path = await run_in_threadpool(call.finish)
            if path is None:  # no audio came: nothing to keep, the id is free again
                await run_in_threadpool(
                    release_live_claim, self.services.store, self.start.call_id, self.start.tenant
                )
                return None
            intake = Intake(
                call_id=self.start.call_id,
                tenant=self.start.tenant,
                path=path,
                size=path.stat().st_size,
                format="wav",
                source="stream",
                metadata=self.start.metadata,
                policy_id=self.start.policy_id,
                layout=self.start.layout,
                contact_keys=self.services.pseudonyms().caller_keys(
                    self.start.tenant, self.start.caller
                )
                if self.start.caller
                else (),
            )
            job_id = await run_in_threadpool(store_call, self.services, intake)
            end = {
                "type": "end",
                "call_id": self.start.call_id,
                "job_id": job_id,
                "record_url": f"/v1/calls/{self.start.call_id}",
            }
            call.publish(end)
            return end
        finally:
            self.services.live.close_call(self.start.call_id)


@router.websocket("/v1/stream")
async def stream(websocket: WebSocket) -> None:
    """The callqa protocol: a JSON ``start``, binary audio frames, a JSON ``stop``."""
    services = _services(websocket)
    await websocket.accept()
    session: _Session | None = None
    sender: asyncio.Task[None] | None = None
    try:
        principal = _principal(
            services, websocket.query_params.get("token"), _origin(websocket), STREAM_ROLES
        )
        first = await asyncio.wait_for(websocket.receive(), timeout=30)
        if first.get("type") == "websocket.disconnect":
            return
        if first.get("text") is None:
            raise Closing(1003, "send the JSON start message before any audio")
        start = parse_start(parse_json(first["text"]), principal.tenant, principal.name)
        session = _Session(services, principal, start)
        call = await session.open(tuple(range(start.channels)))
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        call.subscribe(subscriber(asyncio.get_running_loop(), queue))
        sender = asyncio.create_task(_forward(websocket, queue))
        while True:
            message = await websocket.receive()
            if message.get("type") == "websocket.disconnect":
                break
            if message.get("bytes") is not None:
                await session.audio(message["bytes"])
            elif message.get("text") is not None:
                kind = parse_json(message["text"]).get("type")
                if kind == "stop":
                    break
                if kind != "mark":
                    raise Closing(1003, f"unexpected message type {kind!r}")
        await session.finish()
        await _drain(sender, queue)
        await _close(websocket, 1000, "call ended")
    except Closing as exc:
        await _end_badly(session, websocket, exc.code, exc.reason)
    except (WebSocketDisconnect, TimeoutError):
        await _end_badly(session, websocket, 1000, "disconnected")
    except Exception:
        logger.exception("live stream failed")
        await _end_badly(session, websocket, 1011, "server error")
    finally:
        if sender is not None:
            sender.cancel()


async def _forward(websocket: WebSocket, queue: asyncio.Queue[dict[str, Any]]) -> None:
    while True:
        event = await queue.get()
        await websocket.send_json(event)
        queue.task_done()


async def _drain(sender: asyncio.Task[None] | None, queue: asyncio.Queue[dict[str, Any]]) -> None:
    if sender is None or sender.done():
        return
    try:
        await asyncio.wait_for(queue.join(), timeout=30)
    except TimeoutError:
        logger.warning("live events were still queued when the call ended")


async def _end_badly(session: _Session | None, websocket: WebSocket, code: int, why: str) -> None:
    """Close the socket and still store what was received (no audio is lost)."""
    await _close(websocket, code, why)
    if session is not None and session.call is not None and not session.call.finished:
        try:
            await session.finish()
        except Exception:
            logger.exception("could not store the live call %s", session.start.call_id)


# ---- Twilio Media Streams --------------------------------------------------------------


@router.websocket("/v1/twilio")
async def twilio(websocket: WebSocket) -> None:
    """Twilio Media Streams as Twilio sends them; nothing is sent back.

    The key comes as ``?token=`` or the ``token`` custom parameter; ``policy_id`` and
    ``translate_to`` custom parameters ask for live compliance alerts and translations.
    """
    services = _services(websocket)
    await websocket.accept()
    session: _Session | None = None
    try:
        while True:
            message = await websocket.receive()
            if message.get("type") == "websocket.disconnect":
                break
            if message.get("text") is None:
                raise Closing(1003, "Twilio sends JSON text messages")
            data = parse_json(message["text"])
            event = data.get("event")
            if event == "start":
                if session is not None:
                    raise Closing(1007, "a second start message")
                session = await _twilio_start(services, websocket, data)
            elif event == "media":
                if session is None:
                    raise Closing(1003, "media before start")
                media = parse_twilio_media(data)
                assert session.call is not None
                await run_in_threadpool(session.call.pad_to, media.track, media.at_s)
                await session.audio(media.payload, media.track)
            elif event == "stop":
                break
            elif event not in ("connected", "mark", "dtmf"):
                raise Closing(1007, f"unknown Twilio event {event!r}")
        if session is not None:
            await session.finish()
        await _close(websocket, 1000, "call ended")
    except Closing as exc:
        await _end_badly(session, websocket, exc.code, exc.reason)
    except WebSocketDisconnect:
        await _end_badly(session, websocket, 1000, "disconnected")
    except Exception:
        logger.exception("Twilio stream failed")
        await _end_badly(session, websocket, 1011, "server error")


async def _twilio_start(services: Services, websocket: WebSocket, data: dict[str, Any]) -> _Session:
    token = websocket.query_params.get("token") or twilio_parameters(data).get("token")
    principal = _principal(services, token, _origin(websocket), STREAM_ROLES)
    live = parse_twilio_start(data, principal.tenant, principal.name)
    session = _Session(services, principal, live)
    await session.open(tuple(sorted(TWILIO_TRACKS.values())))
    return session


# ---- read-only subscribers -------------------------------------------------------------


@router.get("/v1/live")
def running_calls(services: ServicesDep, principal: Watcher) -> dict[str, Any]:
    """The tenant's running calls: ids, start time, protocol, audio received so far, counts."""
    return {"calls": [call.summary() for call in services.live.running(principal.tenant)]}


async def _running_call(services: Services, tenant: str, call_id: str) -> LiveCall | None:
    """The running call, waiting for one whose ``start`` is on its way: a desktop told the
    call's id (the Twilio callSid) may connect before the call is open. It waits up to
    ``LIVE_WAIT_S`` for the start to arrive, and while the start is being handled (the first
    call after the server starts loads the models) up to ``LIVE_OPENING_WAIT_S``."""
    if not CALL_ID.match(call_id):
        return None
    loop = asyncio.get_running_loop()
    began = loop.time()
    while True:
        call: LiveCall | None = services.live.get(tenant, call_id)
        waited = loop.time() - began
        if call is not None or waited >= LIVE_OPENING_WAIT_S:
            return call
        if waited >= LIVE_WAIT_S and not services.live.is_opening(tenant, call_id):
            return None
        await asyncio.sleep(LIVE_POLL_S)


@router.websocket("/v1/live/{call_id}")
async def live(websocket: WebSocket, call_id: str) -> None:
    """The events of a running call from now on, and ``end`` when it ends."""
    services = _services(websocket)
    await websocket.accept()
    try:
        principal = _principal(
            services,
            websocket.query_params.get("token"),
            _origin(websocket),
            WATCH_ROLES,
        )
        call = await _running_call(services, principal.tenant, call_id)
        if call is None:
            raise Closing(1008, "no running call with that id")
        audit(services, principal, "call.live", call_id)
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        send = subscriber(asyncio.get_running_loop(), queue)
        call.subscribe(send, replay=True)
        try:
            while True:
                event = await queue.get()
                await websocket.send_json(event)
                if event.get("type") == "end":
                    break
        finally:
            call.unsubscribe(send)
        await _close(websocket, 1000, "call ended")
    except Closing as exc:
        await _close(websocket, exc.code, exc.reason)
    except WebSocketDisconnect:
        pass
