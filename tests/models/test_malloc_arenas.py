"""``callqa`` holds glibc's malloc to two arenas (threads' freed memory is kept per arena)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from models.device import MALLOC_ARENAS, limit_malloc_arenas

THREADS_ALLOCATING = """
import ctypes, sys, threading
import numpy as np
from models.device import limit_malloc_arenas
applied = limit_malloc_arenas() if sys.argv[1] == "limit" else False
def work():
    for _ in range(200):
        np.ones(50_000).sum()
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(applied, flush=True)
ctypes.CDLL("libc.so.6").malloc_stats()  # one "Arena N:" block per arena, on stderr
"""

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's arenas only")


def _arenas(mode: str) -> tuple[str, int]:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    done = subprocess.run(
        [sys.executable, "-c", THREADS_ALLOCATING, mode],
        capture_output=True, text=True, env=env, check=True, timeout=120,
    )  # fmt: skip
    arenas = sum(line.startswith("Arena ") for line in done.stderr.splitlines())
    return done.stdout.strip(), arenas


@glibc
def test_eight_threads_share_two_arenas() -> None:
    applied, arenas = _arenas("limit")
    assert applied == "True"
    assert 1 <= arenas <= MALLOC_ARENAS
    _, unlimited = _arenas("leave")  # what the setting prevents
    assert unlimited > MALLOC_ARENAS


def test_an_operators_setting_stands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False
