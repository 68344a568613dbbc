"""librosa's numba kernels, compiled or loaded from numba's cache by one process at a time.

librosa compiles numba kernels when its modules are imported (the gufuncs behind zero
crossings, parabolic interpolation, local extrema and peak picking) and on first call (pYIN's
Viterbi pass, the overlap-add of ``istft``), and caches them beside its sources. numba's cache
is not safe when two processes compile the same gufunc at once (numba issue #10128, unfixed in
0.68): a gufunc's kernel and its wrapper can be written by different processes whose symbol
tags differ, and every process that later loads that pair crashes (SIGSEGV) on the first call,
until the cache files are deleted. Seen here: ``bench/api.py`` started the server, its workers
and the in-process baseline at once on a new install, and from then on every new process died
in ``zero_crossing_rate``.

So each process runs :func:`ensure_kernels` before it first touches librosa's compiled code:
under an exclusive file lock beside numba's cache it imports the librosa modules callqa uses
and calls each compiled kernel once on a short tone. The first process compiles and writes the
cache; the others wait for it and then load complete entries. Afterwards everything is in
memory and nothing is written again (callqa always passes float32 audio, the type warmed here).
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from pathlib import Path

import numpy as np
from filelock import FileLock

logger = logging.getLogger(__name__)

_LOCK_NAME = ".callqa-numba-kernels.lock"
_in_process = threading.Lock()
_ready = False


def ensure_kernels() -> None:
    """Compile or load librosa's kernels in this process, one process at a time (idempotent)."""
    global _ready
    if _ready:
        return
    with _in_process:
        if _ready:
            return
        path = kernel_lock_path()
        with FileLock(path):
            logger.debug("librosa kernels: compiling or loading under %s", path)
            _exercise_kernels()
        _ready = True


def kernel_lock_path() -> Path:
    """The lock file beside the cache numba writes librosa's kernels to.

    ``NUMBA_CACHE_DIR`` when set; else librosa's own ``__pycache__`` (numba's choice when the
    package directory is writable); else a per-user file in the temporary directory (numba
    then caches per user).
    """
    configured = os.environ.get("NUMBA_CACHE_DIR")
    import librosa  # its package init only registers lazy attributes: nothing is compiled

    beside = Path(configured) if configured else Path(librosa.__file__).parent / "__pycache__"
    try:
        beside.mkdir(parents=True, exist_ok=True)
        lock = beside / _LOCK_NAME
        lock.touch(exist_ok=True)
        return lock
    except OSError:
        return Path(tempfile.gettempdir()) / f"callqa-numba-kernels-{os.getuid()}.lock"


def _exercise_kernels() -> None:
    """Import the librosa modules callqa uses and call each compiled kernel once."""
    import librosa
    import librosa.core.audio
    import librosa.core.pitch
    import librosa.core.spectrum
    import librosa.feature
    import librosa.filters
    import librosa.sequence
    import librosa.util

    rate = 16_000
    seconds = np.arange(rate // 2, dtype=np.float32) / rate
    tone = (0.3 * np.sin(2 * np.pi * 150.0 * seconds)).astype(np.float32)
    spectrum = librosa.stft(tone, n_fft=512, hop_length=160)
    librosa.istft(spectrum, hop_length=160, length=len(tone))
    librosa.feature.zero_crossing_rate(tone, frame_length=512, hop_length=160)
    librosa.pyin(tone, fmin=60.0, fmax=600.0, sr=rate, frame_length=1024, hop_length=320)
    librosa.yin(tone, fmin=60.0, fmax=600.0, sr=rate, frame_length=1024, hop_length=320)
    envelope = np.abs(tone[::160]).astype(np.float64)
    librosa.util.peak_pick(
        envelope, pre_max=3, post_max=3, pre_avg=3, post_avg=3, delta=0.0, wait=3
    )
