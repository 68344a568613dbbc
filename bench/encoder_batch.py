"""Would batching the language checks' encoder passes pay on this CPU?

The language-switch checks (``pipelines.transcribe.language``) probe each doubtful segment's
own audio, padded to whisper's 30 s window: one encoder pass each (72 on the 30-minute mono
call of ``bench/pipeline.py``). Their windows differ, so a cache cannot share them; the
question is whether CTranslate2 encodes a batch of windows faster than the same windows one by
one, and whether each window's output stays bit-identical (a different output could change
which segments are re-decoded, hence the record).

This bench cuts stretches of 2-6 s (segment-like) from a call, makes their features as the
probe does (``SpeechRecognizer.first_window``: the last frame left out, padded to 3000
frames), encodes them one by one and as one batch, alternating, and reports the median
seconds of each, their ratio, and whether every window's output is identical.

    .venv/bin/python bench/encoder_batch.py [--call WAV] [--windows 8] [--repeats 5]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

logger = logging.getLogger("bench.encoder_batch")


def probe_windows(samples: np.ndarray, recognizer: Any, count: int) -> list[np.ndarray]:
    """``count`` probe windows (``first_window``) of 2-6 s stretches, 3 s apart."""
    stretches = (samples[i * 3 * 16000 : (i * 3 + 2 + i % 5) * 16000] for i in range(count))
    return [recognizer.first_window(stretch) for stretch in stretches]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--call", type=Path, default=HERE / "var/corpus/alder-lost-card-long.wav")
    parser.add_argument("--windows", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    import ctranslate2

    from pipelines.core.settings import Settings
    from pipelines.registry import build_recognizer
    from voice.decode import load_call_audio

    recognizer = build_recognizer(Settings())
    whisper = recognizer.model
    samples = load_call_audio(args.call).channels[0].samples  # the agent's on stereo calls
    windows = probe_windows(samples, recognizer, args.windows)

    def encode(batch: np.ndarray) -> np.ndarray:
        view = ctranslate2.StorageView.from_array(np.ascontiguousarray(batch))
        return np.array(whisper.model.encode(view, to_cpu=True))

    one_by_one = [encode(w[None])[0] for w in windows]
    batched = encode(np.stack(windows))
    identical = all(np.array_equal(one_by_one[i], batched[i]) for i in range(len(windows)))
    single_s, batch_s = [], []
    for _ in range(args.repeats):
        started = time.perf_counter()
        for window in windows:
            encode(window[None])
        single_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        encode(np.stack(windows))
        batch_s.append(time.perf_counter() - started)
    single, batch = statistics.median(single_s), statistics.median(batch_s)
    logger.info(
        "%d windows: one by one %.2f s, one batch %.2f s (median of %d): batch/single %.3f; "
        "outputs identical: %s",
        len(windows),
        single,
        batch,
        args.repeats,
        batch / single,
        identical,
    )


if __name__ == "__main__":
    main()
