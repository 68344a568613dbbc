"""presidio's pattern recognizers load without its NLP engines' heavy backends."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from pipelines.pii.detect import recognizers
assert recognizers().is_card("4111111111111111")
print(sorted(m for m in ("torch", "transformers", "stanza") if m in sys.modules))
import transformers  # still importable afterwards, for the stages that use it
print("transformers" in sys.modules)
"""


def test_recognizers_import_neither_torch_nor_transformers() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=300
    )
    assert done.stdout.split() == ["[]", "True"]


THREADS = """
import sys, threading
from pipelines.pii import detect
failures = []
inside, done = threading.Event(), threading.Event()

def scipy_meanwhile():
    inside.wait()
    try:
        import numpy as np
        import scipy.stats  # checks sys.modules["torch"] as it imports
        from scipy._lib.array_api_compat.common._helpers import is_torch_array
        assert not is_torch_array(np.zeros(3))
    except Exception as exc:
        failures.append(repr(exc))
    done.set()

thread = threading.Thread(target=scipy_meanwhile)
thread.start()
with detect._without(detect.NLP_BACKENDS):  # presidio's first import, in another thread
    inside.set()
    done.wait(120)
    try:
        import torch
        failures.append("torch imported while hidden")
    except ImportError:
        pass
thread.join()
print(failures, "torch" in sys.modules)
"""


def test_hiding_the_backends_does_not_break_another_threads_imports() -> None:
    """While presidio's first import hides torch, a thread importing and using scipy (the voice
    features, built beside it) works: nothing is put in ``sys.modules`` for others to trip on."""
    done = subprocess.run(
        [sys.executable, "-c", THREADS], capture_output=True, text=True, check=True, timeout=300
    )
    assert done.stdout.split() == ["[]", "False"], done.stdout + done.stderr
