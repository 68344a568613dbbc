"""Live calls against a real ``callqa serve``: N WebSocket clients at real time, 1..4 at once.

A ``callqa serve`` subprocess (embedded SQLite in a temp dir, a free port, no job workers so
only live work is measured unless ``--workers``) gets its first admin key as it prints it; the
bench then creates an ingest + qa_analyst key with ``POST /v1/keys`` and stores each call's
company policy with ``PUT /v1/policies/{id}`` (live compliance alerts), as an operator would.
Clients are ``api.cli.stream``'s replay_callqa / replay_twilio (Twilio events come from
``/v1/live/{callSid}``), 20 ms frames paced by the wall clock, ``translate_to: en``. Calls come
from the corpus (``make corpus``); by default a stereo English call over the callqa protocol, a
stereo call with a Spanish caller over Twilio, a mono English call over the callqa protocol and
a stereo English call over Twilio; level N streams the first N at once, after one warm-up call.

Per level: final latency (arrival minus the wall time the final's segment end was sent,
p50/p95/max over all finals), partial interval, time to first partial (from the sent time of
the segment's start), server CPU seconds (/proc/PID/stat, with its children) per second of call
audio, how far the client fell behind real time, backpressure notices, finals in a language
that none of the channel's reference lines have, alert delay after its ``at_s`` (the end of the
line that raised it, or the passed deadline), translation delay, and median across calls of the
streamed WER and of the batch WER. Both WERs are against the corpus reference lines inside the
cut (``pipelines.transcribe.evaluation.error_rate``); batch is ``callqa analyze --json
--translate-to en --layout L --policy P`` of the same checkout on the same cut 16 kHz audio
the callqa client sends.

    .venv/bin/python bench/live_server.py [--root CHECKOUT] [--name NAME] [--levels 1 2 3 4]
        [--seconds S] [--calls ID:callqa|twilio ...] [--workers 0] [--no-batch]

``--seconds S`` cuts each call at the latest point <= S s inside no reference line. ``--root``
runs another checkout's server and batch code (PYTHONPATH=root, cwd root); the clients are
this checkout's. Output: var/live_server/NAME/{summary.json,report.md,server.log}.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.cli import stream as cli_stream  # noqa: E402
from bench.live_server_metrics import (  # noqa: E402
    CallPlan,
    CallRun,
    Turn,
    batch_wer,
    cut_point,
    level_summary,
    no_nan,
    report_lines,
)
from pipelines.core.types import CallAudio  # noqa: E402
from voice.decode import load_call_audio  # noqa: E402

logger = logging.getLogger("bench.live_server")
CALLS = (
    "harbor-late-table:callqa",
    "alder-spanish-payment:twilio",
    "brightline-upgrade-mono:callqa",
    "brightline-bill-scottish-echo:twilio",
)
ADMIN_LINE = re.compile(r"first admin key \(shown once, store it now\): (\S+)")
SENT: contextvars.ContextVar[list[float]] = contextvars.ContextVar("sent")
_paced = cli_stream._paced


async def _timed_paced(count: int, realtime: bool, send: Callable[[int], Awaitable[None]]) -> None:
    """cli_stream's pacing, noting when each frame was handed to the socket (per task)."""
    sent = SENT.get([])

    async def timed(index: int) -> None:
        await send(index)
        sent.append(time.monotonic())

    await _paced(count, realtime, timed)


cli_stream._paced = _timed_paced  # replay_callqa / replay_twilio look it up when they run


def child_env(root: Path) -> dict[str, str]:
    """The environment of ``callqa`` run from ``root``: offline, this checkout's model cache,
    none of the caller's ``CALLQA_*`` settings (no shared database, queue or admin key)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLQA_")}
    env |= {"PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1", "PYANNOTE_METRICS_ENABLED": "0"}
    env["CALLQA_MODEL_CACHE"] = str(ROOT / ".venv" / "callqa-models")
    return env


# --- the server ---------------------------------------------------------------------------


class Server:
    """``python -m api.cli serve`` of a checkout, on a free port, with its own data dir."""

    def __init__(self, root: Path, out: Path, workers: int) -> None:
        self.root = root
        self.data = Path(tempfile.mkdtemp(prefix="callqa-live-bench-"))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        env = child_env(root) | {"CALLQA_DATA_DIR": str(self.data)}
        env["CALLQA_SERVICE__WORKERS"] = str(workers)
        self.log_path = out / "server.log"
        self.log = self.log_path.open("w", encoding="utf-8")
        command = [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port)]
        self.process = subprocess.Popen(
            command, cwd=root, env=env, stdout=self.log, stderr=self.log
        )
        self.http = f"http://127.0.0.1:{self.port}"
        self.ws = f"ws://127.0.0.1:{self.port}"

    def ready(self, timeout: float = 300.0) -> str:
        """Wait for the printed admin key and ``/healthz``; returns the admin key."""
        deadline = time.monotonic() + timeout
        admin = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"callqa serve exited {self.process.returncode}: see {self.log_path}"
                )
            found = ADMIN_LINE.search(self.log_path.read_text(encoding="utf-8"))
            admin = admin or (found.group(1) if found else None)
            try:
                healthy = httpx.get(f"{self.http}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                healthy = False
            if healthy and admin:
                return admin
            time.sleep(0.5)
        raise RuntimeError(f"callqa serve not ready in {timeout:.0f} s: see {self.log_path}")

    def cpu_seconds(self) -> float:
        """utime + stime + cutime + cstime of the server process."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        log = self.log_path.read_text(encoding="utf-8")  # the throwaway admin key stays out
        self.log_path.write_text(ADMIN_LINE.sub("first admin key: ***", log), encoding="utf-8")
        shutil.rmtree(self.data, ignore_errors=True)


def stream_key(server: Server, admin: str) -> str:
    answer = httpx.post(
        f"{server.http}/v1/keys",
        headers={"Authorization": f"Bearer {admin}"},
        json={"name": "live-bench", "roles": ["ingest", "qa_analyst"]},
        timeout=30,
    )
    answer.raise_for_status()
    return str(answer.json()["key"])


def store_policies(server: Server, key: str, policies: set[str]) -> dict[str, str]:
    """PUT each corpus policy; {policy path: id} of those the server took."""
    stored = {}
    for policy in sorted(p for p in policies if p):
        text = (ROOT / policy).read_text(encoding="utf-8")
        found = re.search(r"^id:\s*(\S+)", text, re.MULTILINE)
        if not found:
            continue
        answer = httpx.put(
            f"{server.http}/v1/policies/{found.group(1)}",
            content=text,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/yaml"},
            timeout=30,
        )
        if answer.status_code in (200, 201):
            stored[policy] = found.group(1)
        else:
            logger.warning("policy %s not stored (%d): %s", policy, answer.status_code, answer.text)
    return stored


# --- the calls ----------------------------------------------------------------------------


def load_plan(corpus: Path, spec: str, seconds: float | None) -> tuple[CallPlan, CallAudio]:
    call_id, _, protocol = spec.partition(":")
    if protocol not in ("callqa", "twilio"):
        raise SystemExit(f"--calls {spec!r}: give ID:callqa or ID:twilio")
    label = json.loads((corpus / f"{call_id}.json").read_text(encoding="utf-8"))
    turns = [
        Turn(t["role"], t["start"], t["end"], t["text"], t["language"]) for t in label["turns"]
    ]
    audio = load_call_audio(corpus / label["file"])
    cut = cut_point(turns, seconds, audio.duration)
    within = tuple(t for t in turns if t.end <= cut)
    plan = CallPlan(call_id, protocol, label["layout"], label.get("policy") or "", cut, within)
    return plan, cut_audio(audio, cut)


def cut_audio(audio: CallAudio, seconds: float) -> CallAudio:
    end = int(seconds * audio.sample_rate)
    return CallAudio(
        audio.source, tuple(replace(c, samples=c.samples[:end]) for c in audio.channels)
    )


def wire_audio(plan: CallPlan, audio: CallAudio) -> CallAudio:
    """What the client sends: Twilio's outbound track (channel 0) is the agent's."""
    if plan.protocol == "twilio" and plan.layout == "stereo-agent-right":
        return CallAudio(audio.source, audio.channels[::-1])
    return audio


async def stream_call(
    server: Server,
    run: CallRun,
    audio: CallAudio,
    key: str,
    policies: dict[str, str],
    realtime: bool = True,
) -> None:
    SENT.set(run.sent)
    plan = run.plan
    twilio = plan.protocol == "twilio"
    args = argparse.Namespace(
        url=f"{server.ws}/v1/{'twilio' if twilio else 'stream'}",
        realtime=realtime,
        translate_to="en",
        policy_id=policies.get(plan.policy),
        layout=None if twilio else plan.layout,
    )
    replay = cli_stream.replay_twilio if twilio else cli_stream.replay_callqa

    def on_event(event: dict[str, Any]) -> None:
        run.events.append((time.monotonic(), event))

    try:
        call = replay(wire_audio(plan, audio), args, key, on_event)
        run.status = await asyncio.wait_for(call, timeout=3 * plan.cut_s + 300)
    except Exception as exc:  # one failed call is reported, the others go on
        run.status, run.error = -1, f"{type(exc).__name__}: {exc}"
        logger.error("%s failed: %s", plan.label, run.error)


async def play_level(
    server: Server, calls: list[tuple[CallPlan, CallAudio]], key: str, policies: dict[str, str]
) -> list[CallRun]:
    runs = [CallRun(plan) for plan, _ in calls]
    await asyncio.gather(
        *(
            stream_call(server, run, audio, key, policies)
            for run, (_, audio) in zip(runs, calls, strict=True)
        )
    )
    return runs


# --- batch --------------------------------------------------------------------------------


def batch_records(
    root: Path, plans: list[tuple[CallPlan, CallAudio]], out: Path
) -> dict[str, float]:
    """``callqa analyze --json`` of each distinct cut call; {call id: batch WER}."""
    folder = out / "batch"
    folder.mkdir(parents=True, exist_ok=True)
    wers: dict[str, float] = {}
    for plan, audio in plans:
        if plan.call_id in wers:
            continue
        wav = folder / f"{plan.call_id}.wav"
        pcm = np.stack([c.samples for c in audio.channels], axis=1)
        sf.write(str(wav), pcm, audio.sample_rate, subtype="PCM_16")
        record_path = folder / f"{plan.call_id}.json"
        command = [sys.executable, "-m", "api.cli", "analyze", str(wav), "--json"]
        command += ["--out", str(record_path), "--translate-to", "en", "--layout", plan.layout]
        if plan.policy:
            command += ["--policy", str(ROOT / plan.policy)]
        logger.info("batch: callqa analyze %s (%.0f s)", plan.call_id, plan.cut_s)
        done = subprocess.run(
            command, cwd=root, env=child_env(root), capture_output=True, text=True
        )
        if done.returncode != 0:
            logger.error(
                "callqa analyze %s exit %d: %s", plan.call_id, done.returncode, done.stderr[-1500:]
            )
            continue
        record = json.loads(record_path.read_text(encoding="utf-8"))
        wers[plan.call_id] = batch_wer(plan, record)
    return wers


# --- main ---------------------------------------------------------------------------------


def revision(root: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), "describe", "--always", "--dirty"], capture_output=True, text=True
    )
    return done.stdout.strip() or "?"


def run_levels(
    args: argparse.Namespace, out: Path, calls: list[tuple[CallPlan, CallAudio]]
) -> list[tuple[int, list[CallRun], float, float]]:
    server = Server(args.root, out, args.workers)
    try:
        admin = server.ready()
        key = stream_key(server, admin)
        policies = store_policies(server, key, {plan.policy for plan, _ in calls})
        logger.info(
            "server %s ready on port %d (pid %d); policies %s",
            args.root,
            server.port,
            server.process.pid,
            sorted(policies.values()),
        )
        warm_plan, warm_audio = calls[0]
        warm = CallRun(replace(warm_plan, protocol="callqa", call_id="warm-up", cut_s=0.0))
        short = cut_audio(warm_audio, min(6.0, warm_audio.duration))
        asyncio.run(stream_call(server, warm, short, key, policies, realtime=False))
        logger.info("warm-up call: status %s, %d events", warm.status, len(warm.events))
        results = []
        for level in args.levels:
            chosen = [calls[i % len(calls)] for i in range(level)]
            logger.info("level %d: %s", level, ", ".join(p.label for p, _ in chosen))
            cpu, wall = server.cpu_seconds(), time.monotonic()
            runs = asyncio.run(play_level(server, chosen, key, policies))
            cpu, wall = server.cpu_seconds() - cpu, time.monotonic() - wall
            results.append((level, runs, cpu, wall))
            logger.info(
                "level %d done in %.0f s, server CPU %.1f s, load %.1f",
                level,
                wall,
                cpu,
                os.getloadavg()[0],
            )
    finally:
        server.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose server runs")
    parser.add_argument("--name", default="current", help="results folder under var/live_server")
    parser.add_argument("--corpus", type=Path, default=ROOT / "var" / "corpus")
    parser.add_argument("--calls", nargs="+", default=list(CALLS), help="ID:callqa|twilio")
    parser.add_argument("--levels", nargs="+", type=int, default=[1, 2, 3, 4])
    parser.add_argument("--seconds", type=float, help="cut each call to its first S seconds")
    parser.add_argument("--workers", type=int, default=0, help="the server's batch job workers")
    parser.add_argument("--no-batch", action="store_true", help="skip the batch WER")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    args.root = args.root.resolve()
    if not any(args.corpus.glob("*.wav")):
        raise SystemExit(f"no calls in {args.corpus}: run `make corpus` first")
    out = ROOT / "var" / "live_server" / args.name
    out.mkdir(parents=True, exist_ok=True)
    calls = [load_plan(args.corpus, spec, args.seconds) for spec in args.calls]
    calls = calls[: max(args.levels)]
    load_start = os.getloadavg()[0]
    results = run_levels(args, out, calls)
    batch = {} if args.no_batch else batch_records(args.root, calls, out)
    rows = [
        level_summary(level, runs, cpu, batch) | {"wall_s": wall}
        for level, runs, cpu, wall in results
    ]
    head = (
        f"# Live calls on a real server: {args.root} ({revision(args.root)}), {args.name}\n\n"
        f"{os.cpu_count()} CPUs, load average {load_start:.1f} at start, "
        f"{os.getloadavg()[0]:.1f} at end; calls cut to {args.seconds or 'full length'} s; "
        f"server job workers {args.workers}\n"
    )
    lines = [head, *report_lines(rows)]
    text = "\n".join(lines)
    sys.stdout.write(text + "\n")
    (out / "report.md").write_text(text + "\n", encoding="utf-8")
    summary = {
        "root": str(args.root),
        "revision": revision(args.root),
        "args": vars(args) | {"root": str(args.root), "corpus": str(args.corpus)},
        "levels": rows,
        "batch_wer": batch,
    }
    body = json.dumps(no_nan(summary), indent=2, default=str)
    (out / "summary.json").write_text(body + "\n", encoding="utf-8")
    return 0 if all(r["failed_calls"] == 0 for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
