"""A client that retries an upload makes one call; what a killed process left on disk is
cleaned up or recovered at the next start; key names are each tenant's own."""

from __future__ import annotations

import subprocess
import sys
import uuid
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import numpy as np
from sqlalchemy import func, select

from api.http.app import close_services, open_services
from api.jobs.intake import claim_live_call
from api.jobs.leftovers import HOST, part_path, remove_stale_parts
from api.live.hub import LiveStart
from api.live.recovery import track_path
from api.records.export import verify_store
from api.store.schema import Call, Job
from tests.api.routes_fixtures import Env, env, error_of
from voice.decode import load_call_audio

__all__ = ["env"]  # fixture, imported for pytest

CALL = Path(__file__).resolve().parents[2] / "data" / "calls" / "greeting-mono.wav"
STEREO_CALL = Path(__file__).resolve().parents[2] / "data" / "calls" / "payment-card.wav"


def _upload(env: Env, key: str | None, tenant: str = "acme") -> httpx2.Response:
    headers = env.as_("ingest", tenant) | ({"Idempotency-Key": key} if key else {})
    return env.client.post(
        "/v1/calls",
        files={"file": ("call.wav", CALL.read_bytes(), "audio/wav")},
        data={"metadata": '{"agent": "agent-7"}'},
        headers=headers,
    )


def _counts(env: Env) -> tuple[int, int, int]:
    with env.services.store.session() as session:
        calls = session.scalar(select(func.count()).select_from(Call)) or 0
        jobs = session.scalar(select(func.count()).select_from(Job)) or 0
    files = len(list(env.audio_root.glob("*/*.upload")))
    return calls, jobs, files


def test_a_retried_upload_with_the_same_key_makes_one_call(env: Env) -> None:
    first = _upload(env, "order-1234-attempt")
    assert first.status_code == 202, first.text
    again = _upload(env, "order-1234-attempt")
    assert again.status_code == 202 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _counts(env) == (1, 1, 1)
    other = _upload(env, "another-key")
    assert other.json()["call_id"] != first.json()["call_id"]
    theirs = _upload(env, "order-1234-attempt", tenant="globex")  # keys are each tenant's own
    assert theirs.json()["call_id"] != first.json()["call_id"]
    assert _upload(env, None).json()["call_id"] != first.json()["call_id"]
    assert _counts(env) == (4, 4, 4)


def test_concurrent_retries_with_one_key_make_one_call(env: Env) -> None:
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: _upload(env, "same-upload"), range(4)))
    assert {a.status_code for a in answers} == {202}
    assert len({a.json()["call_id"] for a in answers}) == 1
    assert _counts(env) == (1, 1, 1)
    assert not list(env.audio_root.glob("*/.*.part"))


def test_a_malformed_idempotency_key_is_422(env: Env) -> None:
    for key in ("", "x" * 129, "tab\tinside"):
        headers = env.as_("ingest") | {"Idempotency-Key": key}
        answer = env.client.post(
            "/v1/calls", files={"file": ("a.wav", CALL.read_bytes())}, headers=headers
        )
        assert error_of(answer) == (422, "invalid"), key
    assert _counts(env) == (0, 0, 0)


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_partial_files_of_a_dead_process_are_removed_at_start(env: Env) -> None:
    settings = env.services.settings
    folder = env.audio_root / "acme"
    folder.mkdir(parents=True, exist_ok=True)
    dead = folder / f".{'a' * 32}.{HOST}.{_dead_pid()}.part"
    dead.write_bytes(b"RIFF unredacted audio of an upload cut by kill -9")
    ours = part_path(folder, "b" * 32)  # an upload of this very process, still running
    ours.write_bytes(b"RIFF")
    elsewhere = folder / f".{'c' * 32}.other-host.4242.part"  # another host's: its lease
    elsewhere.write_bytes(b"RIFF")
    services = open_services(settings, workers=0)
    close_services(services)
    assert not dead.exists() and ours.exists() and elsewhere.exists()
    assert remove_stale_parts(env.audio_root, now=elsewhere.stat().st_mtime + 7200) == 2
    assert not ours.exists() and not elsewhere.exists()


def test_key_names_are_each_tenants_own(env: Env) -> None:
    body = {"name": "softphone", "roles": ["ingest"]}
    ours = env.client.post("/v1/keys", json=body, headers=env.as_("admin", "acme"))
    theirs = env.client.post("/v1/keys", json=body, headers=env.as_("admin", "globex"))
    assert ours.status_code == theirs.status_code == 201, (ours.text, theirs.text)
    again = env.client.post("/v1/keys", json=body, headers=env.as_("admin", "globex"))
    assert error_of(again) == (409, "conflict")
    assert "acme" not in again.text
    revoked = env.client.delete("/v1/keys/softphone", headers=env.as_("admin", "globex"))
    assert revoked.status_code == 204
    mine = env.client.get("/v1/me", headers={"Authorization": f"Bearer {ours.json()['key']}"})
    assert mine.status_code == 200, "revoking globex's key must leave acme's working"


def test_a_live_call_cut_by_a_crash_is_stored_at_the_next_start(env: Env) -> None:
    """The server receiving a live call was killed: its tracks (a real call's two channels)
    become the call's recording and its analysis is queued when a server starts again."""
    services, folder = env.services, env.audio_root / "acme"
    folder.mkdir(parents=True, exist_ok=True)
    start = LiveStart(
        call_id=uuid.uuid4().hex,
        tenant="acme",
        by="phone",
        channels=2,
        layout="stereo-agent-left",
        metadata={"agent": "agent-7"},
    )
    claim_live_call(services.store, services.signer, start)
    call = load_call_audio(STEREO_CALL)
    dead = _dead_pid()
    for track, channel in enumerate(call.channels):
        pcm = np.round(np.clip(channel.samples[: 16000 * 5], -1, 1) * 32767).astype("<i2")
        (folder / f".{start.call_id}.live{track}.{HOST}.{dead}.pcm").write_bytes(pcm.tobytes())
    running = track_path(folder, "f" * 32, 0)  # a call this very process is receiving
    running.write_bytes(b"\x00\x00" * 1600)
    close_services(open_services(services.settings, workers=0))
    with services.store.session() as session:
        row = session.get(Call, start.call_id)
        assert row is not None and (row.status, row.source, row.layout) == (
            "queued",
            "stream",
            "stereo-agent-left",
        )
        assert row.metadata_json == {"agent": "agent-7", "recovered_after_crash": True}
        jobs = session.scalar(select(func.count()).where(Job.call_id == start.call_id))
        assert jobs == 1
    with wave.open(row.audio_path or "") as stored:
        assert (stored.getnchannels(), stored.getframerate()) == (2, 16000)
        assert stored.getnframes() == 16000 * 5
    assert not list(folder.glob(f".{start.call_id}.live*")) and running.exists()
    assert verify_store(services.store, [services.signer]).ok
