"""What a dead process left behind: the jobs it held and its partial files.

Every process names what it owns after itself: job workers as ``host:pid:token:thread``
(`api.jobs.queue.JobQueue.worker_id`) and partial files as ``.<stem>.<host>.<pid>.part``. A process
on the same host can then tell that the owner is gone (its pid no longer runs, or it is this
pid under another token after a restart in a container) and take the work back at once,
instead of waiting for a lease to run out. Owners on other hosts are left to their lease.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import time
from pathlib import Path

logger = logging.getLogger(__name__)

HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:64] or "host"
PART_SUFFIX = ".part"
STALE_PART_S = 3600.0  # a partial file untouched this long belongs to no running upload
_PART = re.compile(r"^\..+\.(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)\.part$")
_LIVE_TOKENS: set[str] = set()  # the job queues of this process


def register_token(token: str) -> None:
    """A job queue of this process (its workers' ids carry ``token``)."""
    _LIVE_TOKENS.add(token)


def pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it runs
        return True
    return True


def owner_gone(host: str, pid: int, token: str | None = None) -> bool:
    """True when ``host:pid`` (with ``token``) is a process of this host that no longer runs."""
    if host != HOST:
        return False
    if pid == os.getpid():
        return token is not None and token not in _LIVE_TOKENS
    return not pid_running(pid)


def worker_gone(worker: str | None) -> bool:
    """True when a job's worker id names a dead process of this host."""
    if not worker:
        return False
    parts = worker.split(":", 3)
    if len(parts) < 3 or not parts[1].isdigit():
        return False
    return owner_gone(parts[0], int(parts[1]), parts[2])


def part_path(folder: Path, stem: str) -> Path:
    """Where this process writes a partial file (renamed or removed when done)."""
    return folder / f".{stem}.{HOST}.{os.getpid()}{PART_SUFFIX}"


def remove_stale_parts(root: Path, *, now: float | None = None) -> int:
    """Delete partial files under ``root``'s tenant folders whose writer is gone (or that
    nobody touched for an hour); returns how many. They may hold unredacted audio."""
    if not root.is_dir():
        return 0
    moment = time.time() if now is None else now
    removed = 0
    for path in root.glob(f"*/.*{PART_SUFFIX}"):
        match = _PART.match(path.name)
        try:
            stale = moment - path.stat().st_mtime > STALE_PART_S
            if stale or (match and owner_gone(match["host"], int(match["pid"]))):
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    if removed:
        logger.info("removed %d partial files left by stopped processes", removed)
    return removed
