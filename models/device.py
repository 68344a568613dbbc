"""Which device the models run on (``CALLQA_DEVICE``): the CPU by default, or a CUDA GPU."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
import sys

from pipelines.core.errors import ConfigError

logger = logging.getLogger(__name__)

MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter number for MALLOC_ARENA_MAX


@functools.cache
def check_device(device: str) -> str:
    """``device`` when the models can run there; a ``ConfigError`` that says why not. Asked
    once per process (every stage's builder asks; the GPU count is read the first time)."""
    if device == "cpu":
        return device
    if device != "cuda":
        raise ConfigError(f"CALLQA_DEVICE must be cpu or cuda, not {device!r}")
    import ctranslate2

    count = ctranslate2.get_cuda_device_count()
    if count < 1:
        raise ConfigError(
            "CALLQA_DEVICE=cuda, but no CUDA GPU is visible (CTranslate2 finds none): check the "
            "NVIDIA driver and the CUDA 12 libraries, or unset CALLQA_DEVICE to run on the CPU"
        )
    logger.info("running models on cuda (%d GPU(s) visible)", count)
    return device


def limit_threads(cpu_threads: int) -> None:
    """Hold the numeric libraries' thread pools (OpenBLAS, MKL, OpenMP: numpy's matrix products
    in the emotion and speaker encoders, scikit-learn) to ``cpu_threads`` for this process, as
    whisper is held by its own setting; 0 leaves them at every core. A worker process set to
    one thread then uses one core, so N of them share N cores instead of contending."""
    if cpu_threads <= 0:
        return
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=cpu_threads)
    logger.info("numeric libraries limited to %d thread(s)", cpu_threads)


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Hold glibc's malloc to ``arenas`` arenas in this process (unless ``MALLOC_ARENA_MAX`` is
    set: the operator's choice stands); True when applied. Called at the start of ``callqa``.

    glibc gives threads that allocate at once arenas of their own (up to 8 per core), and each
    keeps the memory its thread freed. whisper's, ONNX Runtime's and the analytics' threads so
    held about 100 MiB more at the peak of a warm 1-minute call (962 -> 859 MiB, same speed;
    bench/pipeline.py measures it). Does nothing where the C library is not glibc.
    """
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    applied = bool(mallopt(ctypes.c_int(_M_ARENA_MAX), ctypes.c_int(arenas)))
    logger.debug("malloc arenas limited to %d: %s", arenas, applied)
    return applied
