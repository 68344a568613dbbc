"""Which device the models run on (``CALLQA_DEVICE``): the CPU by default, or a CUDA GPU."""

from __future__ import annotations

import functools
import logging

from pipelines.core.errors import ConfigError

logger = logging.getLogger(__name__)


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
