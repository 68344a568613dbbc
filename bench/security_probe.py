"""Probe a real ``callqa serve`` from outside for the holes of issue 13; one line per check.

The server runs as a subprocess on its own temporary data dir (embedded SQLite), with a known
operator admin key and ``CALLQA_SIGNING_KEY=hmac:probe``, its stdout and stderr in a log file.
``--root`` picks the checkout whose code is served (``python -m api.cli serve`` with
``PYTHONPATH=root``), so an older commit can be probed with this same script; ``callqa verify``
runs from that checkout too. Order: 1 live ids, 2 keys in the log, 5 kill -9 mid-job, 6 kill -9
mid-upload, 3 the 500s, 4 truncated bodies, 7 Idempotency-Key, 8 headers (the kill tests come
before the uploads that may queue extra jobs in an old checkout).

    .venv/bin/python bench/security_probe.py [--root CHECKOUT] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

REPO = Path(__file__).resolve().parent.parent
CALLS = REPO / "tests" / "data" / "calls"
SHORT, LONG = CALLS / "greeting-mono.wav", CALLS / "payment-card.wav"
ADMIN = f"cqa_probe-admin-{uuid.uuid4().hex}"
BIG = '{"x": ' + "7" * 5000 + "}"  # past Python's int-digits limit in json.loads
CURSOR = "WyIwMDAxLTAxLTAxVDAwOjAwOjAwKzE0OjAwIiwgIngiXQ"  # ["0001-01-01T00:00:00+14:00","x"]
JsonDict = dict[str, Any]


def report(name: str, observed: str, ok: bool) -> None:
    print(f"{name} | {observed} | {'PASS' if ok else 'FAIL'}", flush=True)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """``callqa serve`` of one checkout on one data dir; restartable on the same port."""

    def __init__(self, root: Path, data: Path, log: Path) -> None:
        self.root, self.data, self.log = root, data, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.env = {"CALLQA_MODEL_CACHE": str(REPO / ".venv" / "callqa-models"), **os.environ}
        self.env |= {
            "HF_HUB_OFFLINE": "1",
            "PYANNOTE_METRICS_ENABLED": "0",
            "PYTHONPATH": str(root),
        }
        self.env |= {"CALLQA_DATA_DIR": str(data), "CALLQA_ADMIN_KEY": ADMIN}
        self.env["CALLQA_SIGNING_KEY"] = "hmac:probe"

    def start(self) -> float:
        """Start the process (its own process group); the monotonic time it was started."""
        started = time.monotonic()
        command = [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port)]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(  # its own session: kill -9 takes the whole group
                command, cwd=self.root, env=self.env, stdout=out, stderr=out, start_new_session=True
            )
        return started

    def ready(self, timeout: float = 300.0) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready after {timeout:.0f} s; see {self.log}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def sql(self, query: str, *args: object) -> list[tuple[Any, ...]]:
        con = sqlite3.connect(f"file:{self.data / 'callqa.db'}?mode=ro", uri=True, timeout=10)
        try:
            return con.execute(query, args).fetchall()
        finally:
            con.close()

    def verify(self) -> tuple[int, str]:
        command = [sys.executable, "-m", "api.cli", "verify", str(self.data)]
        done = subprocess.run(command, cwd=self.root, env=self.env, capture_output=True, text=True)
        lines = (done.stdout + done.stderr).strip().splitlines()
        return done.returncode, (lines[0][:100] if lines else "")


def pcm(path: Path, seconds: float | None = None) -> bytes:
    with wave.open(str(path), "rb") as audio:
        count = audio.getnframes() if seconds is None else int(seconds * audio.getframerate())
        return audio.readframes(count)


def wav(frames: bytes, rate: int = 16000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(rate)
        audio.writeframes(frames)
    return out.getvalue()


def answer(response: httpx.Response) -> str:
    return f"HTTP {response.status_code} {response.text[:90]!r}"


def upload(api: httpx.Client, key: str, name: str, body: bytes, **fields: str) -> httpx.Response:
    return api.post("/v1/calls", files={"file": (name, body)}, data=fields, headers=bearer(key))


def wait_job(
    api: httpx.Client, key: str, job: str, until: Callable[[JsonDict], bool], timeout: float
) -> JsonDict:
    deadline = time.monotonic() + timeout
    state: JsonDict = {}
    while time.monotonic() < deadline:
        try:
            state = api.get(f"/v1/jobs/{job}", headers=bearer(key)).json()
        except httpx.HTTPError:
            state = {}
        if state and (until(state) or state.get("status") in ("done", "failed")):
            return state
        time.sleep(0.25)
    raise RuntimeError(f"job {job} still {state} after {timeout:.0f} s")


async def stream(url: str, key: str, call_id: str, audio: bytes) -> tuple[int | None, str, str]:
    """Stream ``audio`` (16 kHz PCM16) as ``call_id``; the close code, reason and event types."""
    events: list[str] = []
    async with connect(f"ws{url[4:]}/v1/stream?token={key}", open_timeout=30) as ws:
        try:
            await ws.send(json.dumps({"type": "start", "call_id": call_id, "sample_rate": 16000}))
            for at in range(0, len(audio), 3200):
                await ws.send(audio[at : at + 3200])
                await asyncio.sleep(0.02)
            await ws.send(json.dumps({"type": "stop"}))
        except ConnectionClosed:
            pass
        try:
            while True:
                message = await asyncio.wait_for(ws.recv(), timeout=180)
                if isinstance(message, str):
                    events.append(str(json.loads(message).get("type")))
        except ConnectionClosed:
            pass
        return ws.close_code, ws.close_reason or "", ",".join(sorted(set(events))) or "none"


def check_live_ids(api: httpx.Client, server: Server, keys: dict[str, str]) -> None:
    acme = keys["acme"]
    first = upload(api, acme, SHORT.name, SHORT.read_bytes())
    first.raise_for_status()
    call_id, job = first.json()["call_id"], first.json()["job_id"]
    state = wait_job(api, acme, job, lambda s: False, 900)
    print(f"(acme call {call_id[:8]}: job {state['status']})", flush=True)
    upload_file = server.data / "audio" / "acme" / f"{call_id}.upload"
    audio = pcm(SHORT, 3.0)

    def row() -> str:
        query = "SELECT status, source, audio_path, tenant FROM calls WHERE id=?"
        found = server.sql(query, call_id)
        if not found:
            return "no row"
        status, source, path, tenant = found[0]
        shown = Path(path).relative_to(server.data) if path else None
        return f"status={status} source={source} tenant={tenant} audio={shown}"

    def size() -> int:
        return upload_file.stat().st_size if upload_file.exists() else -1

    for label, who in (("1a cross-tenant live id reuse", "globex"), ("1c same-tenant", "acme")):
        row_before, size_before = row(), size()
        code, reason, events = asyncio.run(stream(server.url, keys[who], call_id, audio))
        time.sleep(5)  # let a job the stream queued start or fail
        got = api.get(f"/v1/calls/{call_id}", headers=bearer(acme))
        record = got.json().get("id") == call_id if got.status_code == 200 else False
        row_after, size_after = row(), size()
        unchanged = row_after == row_before and size_after == size_before and record
        report(
            f"{label} ({who} streams acme's done id)",
            f"close {code} {reason!r}, events {events}; acme GET {got.status_code} "
            f"(record there: {record}); row [{row_before}] -> [{row_after}]; "
            f".upload {size_before} -> {size_after} B",
            code == 1008 and unchanged,
        )
        rc, said = server.verify()
        report(
            f"1{'b' if who == 'globex' else 'd'} callqa verify after it",
            f"exit {rc} ({said}); row changed: {not unchanged}",
            rc == 0 if unchanged else rc != 0,
        )


def check_key_in_log(server: Server, keys: dict[str, str], label: str) -> None:
    text = server.log_text()
    counts = {name: text.count(key) for name, key in {**keys, "admin": ADMIN}.items()}
    line = next((x for x in text.splitlines() if "/v1/stream" in x), "no stream line")
    for name, key in {**keys, "admin": ADMIN}.items():
        line = line.replace(key, f"<{name} key>")
    report(
        label, f"occurrences {counts}; access line {line.strip()[:110]!r}", not any(counts.values())
    )


def check_recovery(api: httpx.Client, server: Server, acme: str) -> None:
    first = upload(api, acme, LONG.name, LONG.read_bytes())
    first.raise_for_status()
    call_id, job = first.json()["call_id"], first.json()["job_id"]
    state = wait_job(
        api, acme, job, lambda s: s["status"] == "running" and s["progress"] > 0.05, 900
    )
    old = server.sql("SELECT worker FROM jobs WHERE id=?", job)[0][0]
    server.kill()
    started = server.start()
    up_s: float | None = None  # the new process answers HTTP
    running_s: float | None = None
    done_s: float | None = None
    worker, now = old, state
    while time.monotonic() - started < 900:
        try:
            now = api.get(f"/v1/jobs/{job}", headers=bearer(acme)).json()
            worker = server.sql("SELECT worker FROM jobs WHERE id=?", job)[0][0]
        except (httpx.HTTPError, sqlite3.Error):
            time.sleep(0.25)
            continue
        elapsed = time.monotonic() - started
        up_s = elapsed if up_s is None else up_s
        if running_s is None and now["status"] == "running" and worker != old:
            running_s = elapsed
        if now["status"] in ("done", "failed"):
            done_s = elapsed
            running_s = elapsed if running_s is None else running_s
            break
        time.sleep(0.25)
    ledger = "SELECT count(*) FROM ledger WHERE call_id=? AND kind='record'"
    records = server.sql(ledger, call_id)[0][0]
    report(
        "5 recovery after kill -9",
        f"killed at {state['status']} progress {state['progress']:.2f} (worker {old}); new "
        f"process answers HTTP {up_s and round(up_s, 1)} s after restart; running again under "
        f"{worker} {running_s and round(running_s, 1)} s after restart, "
        f"{now['status']} after {done_s and round(done_s, 1)} s; ledger records {records}",
        running_s is not None and running_s < 10 and now["status"] == "done" and records == 1,
    )


def check_parts(server: Server, acme: str) -> None:
    folder = server.data / "audio" / "acme"

    def parts() -> dict[str, int]:
        return {p.name: p.stat().st_size for p in folder.iterdir() if p.name.endswith(".part")}

    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    big = SHORT.read_bytes() * 16

    def body() -> Iterator[bytes]:
        yield head
        for at in range(0, len(big), 65536):
            yield big[at : at + 65536]
            time.sleep(0.03)
        yield f"\r\n--{boundary}--\r\n".encode()

    outcome: list[str] = []

    def send() -> None:
        headers = {**bearer(acme), "Content-Type": f"multipart/form-data; boundary={boundary}"}
        try:
            got = httpx.post(f"{server.url}/v1/calls", content=body(), headers=headers, timeout=60)
            outcome.append(f"HTTP {got.status_code}")
        except httpx.HTTPError as exc:
            outcome.append(type(exc).__name__)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(s > 2_000_000 for s in parts().values()):
        time.sleep(0.05)
    server.kill()
    sender.join(60)
    at_kill = parts()
    server.start()
    server.ready()
    after = parts()
    report(
        "6 .part leftovers after kill -9 mid-upload",
        f"client saw {outcome or ['nothing yet']}; at kill {at_kill}; after restart {after}",
        bool(at_kill) and not after,
    )


def check_500s(api: httpx.Client, server: Server, acme: str, clip: bytes) -> None:
    for label, kind in (("3a metadata 5000-digit int", "upload"), ("3b cursor overflow", "list")):
        before = server.log_text().count("Traceback")
        if kind == "upload":
            got = upload(api, acme, "c.wav", clip, metadata=BIG)
        else:
            got = api.get("/v1/calls", params={"cursor": CURSOR}, headers=bearer(acme))
        time.sleep(0.5)
        new = server.log_text().count("Traceback") - before
        is_json = got.headers.get("content-type", "").startswith("application/json")
        ok = 400 <= got.status_code < 500 and is_json and new == 0
        report(label, f"{answer(got)}; new tracebacks in log {new}", ok)


def check_truncated(api: httpx.Client, acme: str) -> None:
    frames = pcm(SHORT)
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="input_format"\r\n\r\n'
        f"pcm_s16le\r\n--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="call.raw"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + frames
    cut = body[: len(body) // 3]
    truncated = api.post(
        "/v1/calls",
        content=cut,
        headers={**bearer(acme), "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    cases = (
        ("4a raw PCM cut to a third, no closing boundary", truncated),
        (
            "4b RIFF0000WAVEjunk + bytes",
            upload(api, acme, "j.wav", b"RIFF0000WAVEjunk" + frames[:32000]),
        ),
        ("4c 6-byte raw upload", upload(api, acme, "s.raw", b"\x01" * 6, input_format="pcm_s16le")),
    )
    for label, got in cases:
        report(label, answer(got), 400 <= got.status_code < 500)


def check_idempotency(api: httpx.Client, acme: str, clip: bytes) -> None:
    key = {**bearer(acme), "Idempotency-Key": f"probe-{uuid.uuid4().hex}"}
    answers = [
        api.post("/v1/calls", files={"file": ("i.wav", clip)}, headers=key) for _ in range(2)
    ]
    ids = {a.json().get("call_id") for a in answers if a.status_code == 202}
    replayed = answers[1].headers.get("idempotent-replayed")
    codes = [a.status_code for a in answers]
    report(
        "7 Idempotency-Key retry",
        f"HTTP {codes}; distinct call ids {len(ids)}; Idempotent-Replayed {replayed}",
        len(ids) == 1,
    )


def check_headers(api: httpx.Client, acme: str) -> None:
    wanted = ("x-content-type-options", "cache-control", "content-security-policy")
    for label, got in (
        ("8a headers on GET /v1/calls", api.get("/v1/calls", headers=bearer(acme))),
        ("8b headers on a 404", api.get(f"/v1/calls/{uuid.uuid4().hex}", headers=bearer(acme))),
    ):
        seen = {name: got.headers.get(name) for name in wanted}
        ok = (
            seen["x-content-type-options"] == "nosniff"
            and "no-store" in (seen["cache-control"] or "")
            and bool(seen["content-security-policy"])
        )
        report(label, f"HTTP {got.status_code} {seen}", ok)
    docs = api.get("/docs")
    third_party = "cdn." in docs.text or "https://" in docs.text
    report(
        "8c GET /docs",
        f"HTTP {docs.status_code}; loads third-party assets {third_party}",
        docs.status_code != 200 or not third_party,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO, help="checkout whose code is served")
    parser.add_argument("--keep", action="store_true", help="keep the data dir and server log")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="callqa-probe-"))
    server = Server(args.root.resolve(), data, data / "server.log")
    print(f"probing {server.root} on {server.url} (data {data})", flush=True)
    try:
        server.start()
        server.ready()
        with httpx.Client(base_url=server.url, timeout=120) as api:
            keys: dict[str, str] = {}
            for tenant in ("acme", "globex"):
                body = {"name": f"{tenant}-probe", "roles": ["ingest", "qa_analyst"]}
                made = api.post("/v1/keys", json=body | {"tenant": tenant}, headers=bearer(ADMIN))
                made.raise_for_status()
                keys[tenant] = str(made.json()["key"])
            check_live_ids(api, server, keys)
            check_key_in_log(server, {"globex": keys["globex"]}, "2 globex key in the log")
            check_recovery(api, server, keys["acme"])
            check_parts(server, keys["acme"])
            clip = wav(pcm(SHORT, 2.0))
            check_500s(api, server, keys["acme"], clip)
            check_truncated(api, keys["acme"])
            check_idempotency(api, keys["acme"], clip)
            check_headers(api, keys["acme"])
            check_key_in_log(server, keys, "2b any key in the whole log (all runs)")
    finally:
        server.kill(signal.SIGTERM)
        if args.keep:
            print(f"kept {data}")
        else:
            shutil.rmtree(data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
