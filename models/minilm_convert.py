"""Convert the packaged all-MiniLM-L6-v2 for CTranslate2 (float32), in a process of its own.

    python -m models.minilm_convert SOURCE_DIR OUTPUT_DIR

Run by ``models.text_embedding.minilm_ct2`` once per model cache: the converter reads the weights
through transformers and torch, which the process that embeds text then never has to load.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    source, output = argv
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import ctranslate2

    ctranslate2.converters.TransformersConverter(source).convert(output, quantization=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
