"""The two ways a telephony platform streams a call, parsed: the callqa protocol (a JSON
``start``, binary frames, a JSON ``stop``) and Twilio Media Streams (JSON events with base64
mu-law media). A malformed message raises `Closing` with the WebSocket close code to end on:
1003 data of the wrong kind, 1007 a malformed message, 1009 a message too large."""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from api.live.hub import LiveStart
from pipelines.core.types import LAYOUTS

CALL_ID = re.compile(r"^(?:CA)?[0-9a-f]{32}$")
TEXT_LIMIT = 65536
TWILIO_TRACKS = {"outbound": 0, "inbound": 1}  # agent left, caller right


class Closing(Exception):
    """End the socket with a WebSocket close code and a reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason[:120]


class StartMessage(BaseModel):
    type: Literal["start"]
    call_id: str | None = Field(default=None, pattern=CALL_ID.pattern)
    sample_rate: Literal[8000, 16000] = 8000
    encoding: Literal["pcm_s16le", "mulaw"] = "pcm_s16le"
    channels: Literal[1, 2] = 1
    layout: str | None = None
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$")
    translate_to: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$")
    policy_id: str | None = Field(default=None, max_length=64)
    caller: str | None = Field(default=None, max_length=256)  # kept only as a keyed pseudonym


def new_call_id() -> str:
    return uuid.uuid4().hex


def parse_json(text: str) -> dict[str, Any]:
    """A text message as the JSON object every message of both protocols is."""
    if len(text) > TEXT_LIMIT:
        raise Closing(1009, "text message too large")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Closing(1007, f"not JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise Closing(1007, "messages are JSON objects")
    return data


def parse_start(data: dict[str, Any], tenant: str, by: str) -> LiveStart:
    """The callqa protocol's ``start`` of a call streamed by ``by`` for ``tenant``."""
    try:
        message = StartMessage.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise Closing(1007, f"start: {where}: {first['msg']}") from exc
    layout = message.layout or ("stereo-agent-left" if message.channels == 2 else "mono")
    if layout not in LAYOUTS or (layout == "mono") != (message.channels == 1):
        raise Closing(1007, f"start: layout {layout!r} does not fit {message.channels} channel(s)")
    return LiveStart(
        call_id=message.call_id or new_call_id(),
        tenant=tenant,
        by=by,
        sample_rate=message.sample_rate,
        encoding=message.encoding,
        channels=message.channels,
        layout=layout,  # type: ignore[arg-type]
        language=message.language,
        translate_to=message.translate_to,
        policy_id=message.policy_id,
        caller=message.caller,
    )


def twilio_parameters(data: dict[str, Any]) -> dict[str, Any]:
    """The ``customParameters`` of Twilio's ``start`` event (the key may come as ``token``)."""
    start = data.get("start")
    if not isinstance(start, dict):
        raise Closing(1007, "start: missing 'start' object")
    params = start.get("customParameters") or {}
    return params if isinstance(params, dict) else {}


def parse_twilio_start(data: dict[str, Any], tenant: str, by: str) -> LiveStart:
    """Twilio's ``start`` event: mu-law at 8 kHz, one track per party, the ``callSid`` as the
    call's id; ``policy_id``, ``translate_to`` and ``caller`` custom parameters."""
    params = twilio_parameters(data)
    start: dict[str, Any] = data["start"]
    call_sid = start.get("callSid")
    if not isinstance(call_sid, str) or not CALL_ID.match(call_sid):
        raise Closing(1007, "start: callSid must be 'CA' and 32 hex digits")
    media = start.get("mediaFormat") or {}
    if (
        media.get("encoding", "audio/x-mulaw") != "audio/x-mulaw"
        or media.get("sampleRate", 8000) != 8000
    ):
        raise Closing(1007, "start: Twilio media must be audio/x-mulaw at 8000 Hz")
    policy_id, translate_to = params.get("policy_id"), params.get("translate_to")
    if policy_id is not None and (not isinstance(policy_id, str) or len(policy_id) > 64):
        raise Closing(1007, "start: customParameters.policy_id is a policy id")
    if translate_to is not None and not (
        isinstance(translate_to, str) and re.fullmatch(r"[a-z]{2,3}", translate_to)
    ):
        raise Closing(1007, "start: customParameters.translate_to is a language code")
    caller = params.get("caller")
    if caller is not None and not (isinstance(caller, str) and len(caller) <= 256):
        raise Closing(1007, "start: customParameters.caller is the caller's number")
    return LiveStart(
        call_id=call_sid,
        policy_id=policy_id,
        translate_to=translate_to,
        tenant=tenant,
        by=by,
        sample_rate=8000,
        encoding="mulaw",
        channels=1,
        layout="stereo-agent-left",
        protocol="twilio",
        metadata={"stream_sid": str(start.get("streamSid", ""))[:64]},
        caller=caller,
    )


@dataclass(frozen=True, slots=True)
class TwilioMedia:
    """A ``media`` event: the track (0 agent, 1 caller), mu-law bytes, the time it starts at."""

    track: int
    payload: bytes
    at_s: float


def parse_twilio_media(data: dict[str, Any]) -> TwilioMedia:
    media = data.get("media")
    if not isinstance(media, dict):
        raise Closing(1007, "media: missing 'media' object")
    track = TWILIO_TRACKS.get(str(media.get("track", "inbound")))
    if track is None:
        raise Closing(1007, "media: track is inbound or outbound")
    try:
        payload = base64.b64decode(str(media.get("payload", "")), validate=True)
        at = int(media.get("timestamp", 0)) / 1000.0
    except (binascii.Error, ValueError) as exc:
        raise Closing(1007, "media: payload is base64 and timestamp milliseconds") from exc
    if at < 0:
        raise Closing(1007, "media: negative timestamp")
    return TwilioMedia(track, payload, at)
