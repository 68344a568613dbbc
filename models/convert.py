"""Model weights converted, once per model cache, for a runtime without torch; run in a process
of its own because reading the original weights takes torch (and, for MiniLM, transformers),
which the process that then uses them never has to load (600 MiB resident for torch alone).

    python -m models.convert minilm SOURCE_DIR OUTPUT_DIR   # CTranslate2, float32
    python -m models.convert ge2e PRETRAINED_PT OUTPUT_DIR  # numpy arrays (weights.npz)

``models.weights.converted`` runs it and checks the result against the source's SHA-256.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

GE2E_FILE = "weights.npz"


def minilm(source: str, output: str) -> None:
    import ctranslate2

    ctranslate2.converters.TransformersConverter(source).convert(output, quantization=None)


def ge2e(source: str, output: str) -> None:
    """resemblyzer's ``pretrained.pt``: its ``model_state`` tensors as float32 arrays."""
    import numpy as np
    import torch

    state = torch.load(source, map_location="cpu", weights_only=False)["model_state"]
    Path(output).mkdir(parents=True, exist_ok=True)
    arrays = {name: tensor.numpy().astype(np.float32) for name, tensor in state.items()}
    np.savez(Path(output) / GE2E_FILE, **arrays)  # type: ignore[arg-type]


CONVERTERS = {"minilm": minilm, "ge2e": ge2e}


def main(argv: list[str]) -> int:
    kind, source, output = argv
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    CONVERTERS[kind](source, output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
