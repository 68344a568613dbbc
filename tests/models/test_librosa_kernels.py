"""librosa's numba kernels are compiled into numba's cache by one process at a time.

Each test gives its child processes an empty cache of their own (``NUMBA_CACHE_DIR``), so what
they write is visible and nothing is shared with the installed cache.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from filelock import FileLock

from models.emotion.features import extract_features
from models.librosa_kernels import kernel_lock_path

WAIT_WITH_LOCK_HELD_S = 10.0  # a child without the lock writes its first kernel within ~2 s

FEATURES_OF_A_TONE = """
import sys
import numpy as np
from models.emotion.features import extract_features
seconds = np.arange(24000, dtype=np.float32) / 16000
tone = 0.3 * np.sin(2 * np.pi * 180.0 * seconds) * (1.0 + 0.2 * np.sin(2 * np.pi * 3 * seconds))
np.save(sys.argv[1], extract_features(tone.astype(np.float32)))
"""


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "NUMBA_CACHE_DIR": str(cache)}


def _cached(cache: Path) -> list[Path]:
    return sorted(cache.rglob("*.nb[ic]"))


def test_importing_the_feature_modules_compiles_nothing(tmp_path: Path) -> None:
    """Kernels compiled at import would escape the lock: the modules import librosa lazily."""
    cache = tmp_path / "numba"
    script = "import models.emotion.features, models.emotion.band, models.speaker_embedding"
    subprocess.run([sys.executable, "-c", script], env=_env(cache), check=True, timeout=300)
    assert _cached(cache) == []


def test_a_process_waits_for_the_one_filling_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "numba"
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(cache))
    lock = kernel_lock_path()
    assert lock.parent == cache
    out = tmp_path / "child.npy"
    with FileLock(lock):  # another process is filling the cache
        child = subprocess.Popen(
            [sys.executable, "-c", FEATURES_OF_A_TONE, str(out)], env=_env(cache)
        )
        deadline = time.monotonic() + WAIT_WITH_LOCK_HELD_S
        while time.monotonic() < deadline and child.poll() is None and not _cached(cache):
            time.sleep(0.2)
        written_while_held = _cached(cache)
        still_waiting = child.poll() is None
    assert written_while_held == []
    assert still_waiting
    assert child.wait(timeout=600) == 0
    assert _cached(cache), "the child compiled nothing into the cache once it had the lock"
    # a new process loads what the first one wrote and computes the same features
    again = tmp_path / "again.npy"
    subprocess.run(
        [sys.executable, "-c", FEATURES_OF_A_TONE, str(again)],
        env=_env(cache),
        check=True,
        timeout=600,
    )
    np.testing.assert_array_equal(np.load(out), np.load(again))
    seconds = np.arange(24000, dtype=np.float32) / 16000
    tone = 0.3 * np.sin(2 * np.pi * 180.0 * seconds) * (1.0 + 0.2 * np.sin(2 * np.pi * 3 * seconds))
    np.testing.assert_allclose(np.load(out), extract_features(tone.astype(np.float32)), atol=1e-9)
