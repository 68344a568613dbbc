"""``callqa stream``: replay a recording into the live endpoint like a softphone.

The server pushes back (stops reading) while its engine is behind, so the client sends no
keep-alive pings of its own: a paused reader cannot answer them. The callqa protocol sends
16 kHz PCM16 frames (both channels of a stereo call) and prints the
events the server sends back; the Twilio protocol sends Media Streams messages (8 kHz mu-law,
channel 0 as the outbound/agent track, channel 1 as the inbound/caller track) and prints the
call's events from ``/v1/live/{callSid}``. Events are printed as JSON lines.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import sys
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.core.errors import ConfigError
from pipelines.core.types import CallAudio

FRAME_S = 0.02
OnEvent = Callable[[dict[str, Any]], None]


def add_stream_parser(commands: Any) -> None:
    stream = commands.add_parser("stream", help="replay a recording into the live endpoint")
    stream.add_argument("audio", type=Path, help="a call recording")
    stream.add_argument("--url", required=True, help="ws://HOST:PORT/v1/stream or /v1/twilio")
    stream.add_argument("--realtime", action="store_true", help="send at the speed of speech")
    stream.add_argument("--protocol", choices=("callqa", "twilio"), default="callqa")
    stream.add_argument("--token", help="API key (default: CALLQA_API_KEY)")
    stream.add_argument("--translate-to", metavar="CODE", help="ask for live translations")
    stream.add_argument("--policy", dest="policy_id", help="a stored policy id for live alerts")
    stream.add_argument("--layout", help="channel layout (callqa protocol)")


def run_stream(args: argparse.Namespace) -> int:
    from voice.decode import load_call_audio

    token = args.token or os.environ.get("CALLQA_API_KEY")
    if not token:
        raise ConfigError("give an API key with --token or CALLQA_API_KEY")
    if not args.url.startswith(("ws://", "wss://")):
        raise ConfigError(f"--url {args.url!r} is not a ws:// or wss:// URL")
    call = load_call_audio(args.audio)
    if len(call.channels) > 2:
        raise ConfigError("live calls have one or two channels")
    replay = replay_callqa if args.protocol == "callqa" else replay_twilio
    return asyncio.run(replay(call, args, token, _print_event))


def _print_event(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _with_token(url: str, token: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = [*urllib.parse.parse_qsl(parts.query), ("token", token)]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def _pcm16(samples: np.ndarray[Any, Any]) -> bytes:
    return bytes(np.round(np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes())


async def _paced(count: int, realtime: bool, send: Callable[[int], Awaitable[None]]) -> None:
    started = time.monotonic()
    for index in range(count):
        await send(index)
        if realtime:
            delay = started + (index + 1) * FRAME_S - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        elif index % 50 == 0:
            await asyncio.sleep(0)


async def replay_callqa(
    call: CallAudio,
    args: argparse.Namespace,
    token: str,
    on_event: Callable[[dict[str, Any]], None],
) -> int:
    """Send the call over the callqa protocol; returns 0 when the server ended the call."""
    import websockets

    channels = len(call.channels)
    frames = np.stack([c.samples for c in call.channels], axis=1)
    step = int(FRAME_S * call.sample_rate)
    start: dict[str, Any] = {
        "type": "start",
        "sample_rate": call.sample_rate,
        "encoding": "pcm_s16le",
        "channels": channels,
    }
    for key in ("translate_to", "policy_id", "layout"):
        if getattr(args, key, None):
            start[key] = getattr(args, key)
    ended = False
    async with websockets.connect(
        _with_token(args.url, token), max_size=2**22, ping_interval=None
    ) as socket:
        await socket.send(json.dumps(start))

        async def send(index: int) -> None:
            await socket.send(_pcm16(frames[index * step : (index + 1) * step].reshape(-1)))

        async def receive() -> None:
            nonlocal ended
            async for message in socket:
                event = json.loads(message)
                on_event(event)
                ended = ended or event.get("type") == "end"

        reader = asyncio.create_task(receive())
        await _paced(-(-len(frames) // step), args.realtime, send)
        await socket.send(json.dumps({"type": "stop"}))
        await reader
    return 0 if ended else 1


async def replay_twilio(
    call: CallAudio,
    args: argparse.Namespace,
    token: str,
    on_event: Callable[[dict[str, Any]], None],
) -> int:
    """Send the call as Twilio Media Streams does; print its events from ``/v1/live``."""
    import soxr
    import websockets

    from voice.g711 import encode_mulaw

    call_sid = "CA" + secrets.token_hex(16)
    tracks = {"outbound": call.channels[0].samples}
    if len(call.channels) == 2:
        tracks["inbound"] = call.channels[1].samples
    else:
        tracks = {"inbound": call.channels[0].samples}
    mulaw = {
        name: encode_mulaw(soxr.resample(samples, call.sample_rate, 8000))
        for name, samples in tracks.items()
    }
    step = int(FRAME_S * 8000)
    count = -(-max(len(m) for m in mulaw.values()) // step)
    live_url = args.url.replace("/v1/twilio", f"/v1/live/{call_sid}")
    ended = asyncio.Event()
    async with websockets.connect(args.url, max_size=2**22, ping_interval=None) as socket:
        await socket.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1"}))
        start = {
            "event": "start",
            "sequenceNumber": "1",
            "streamSid": "MZ" + secrets.token_hex(16),
            "start": {
                "callSid": call_sid,
                "tracks": sorted(mulaw),
                "customParameters": _twilio_parameters(args, token),
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            },
        }
        await socket.send(json.dumps(start))
        watcher = asyncio.create_task(_watch(_with_token(live_url, token), on_event, ended))
        await asyncio.sleep(0.2)

        async def send(index: int) -> None:
            for name, audio in mulaw.items():
                chunk = audio[index * step : (index + 1) * step]
                if len(chunk):
                    media = {
                        "track": name,
                        "chunk": str(index + 1),
                        "timestamp": str(index * 20),
                        "payload": base64.b64encode(bytes(chunk)).decode(),
                    }
                    await socket.send(json.dumps({"event": "media", "media": media}))

        await _paced(count, args.realtime, send)
        await socket.send(json.dumps({"event": "stop", "stop": {"callSid": call_sid}}))
        try:
            await asyncio.wait_for(ended.wait(), timeout=600)
        finally:
            watcher.cancel()
    return 0


def _twilio_parameters(args: argparse.Namespace, token: str) -> dict[str, str]:
    parameters = {"token": token}
    for key in ("policy_id", "translate_to"):
        if getattr(args, key, None):
            parameters[key] = getattr(args, key)
    return parameters


async def _watch(
    url: str, on_event: Callable[[dict[str, Any]], None], ended: asyncio.Event
) -> None:
    import websockets

    for _ in range(50):  # the call opens when its start message is handled
        try:
            async with websockets.connect(url) as socket:
                async for message in socket:
                    event = json.loads(message)
                    on_event(event)
                    if event.get("type") == "end":
                        ended.set()
                        return
        except websockets.ConnectionClosed:
            await asyncio.sleep(0.1)
    ended.set()
