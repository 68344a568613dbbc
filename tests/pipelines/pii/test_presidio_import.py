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
