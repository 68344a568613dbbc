"""Cost of the analytics stages (PII redaction of text and audio, voice+text emotion,
compliance with the sample policy, topics, metrics) against transcription, side by side.

A 5-minute two-channel call is built from the labelled test calls. Each run alternates the
pipeline without analytics and the pipeline with them on the same audio; the added time is
reported as a ratio of the transcription-only time (median of the runs).

    python bench/analytics.py [--repeats 3] [--minutes 5]
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.policy import load_policy  # noqa: E402
from pipelines.registry import build_pipeline  # noqa: E402
from pipelines.settings import get_settings  # noqa: E402
from pipelines.types import Audio, AudioSource, CallAudio  # noqa: E402

CALLS = ("compliant-return", "missing-lines-cancel", "payment-card", "angry-customer")


def long_call(minutes: float) -> CallAudio:
    """The labelled stereo calls, one after another, until the call lasts ``minutes``."""
    pieces = []
    total = 0
    while total < minutes * 60 * 16000:
        for name in CALLS:
            samples, rate = sf.read(
                ROOT / "tests" / "data" / "calls" / f"{name}.wav", dtype="float32"
            )
            assert rate == 16000
            pieces.append(samples)
            total += len(samples)
    stereo = np.concatenate(pieces)[: int(minutes * 60 * 16000)]
    source = AudioSource(
        hashlib.sha256(stereo.tobytes()).hexdigest(), "wav", 16000, 2, len(stereo) / 16000
    )
    return CallAudio(
        source, tuple(Audio(np.ascontiguousarray(stereo[:, c]), 16000, c) for c in range(2))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=5.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    settings = get_settings()
    policy = load_policy(ROOT / "samples" / "policies" / "ecommerce-aftersales.yaml")
    bare = build_pipeline(settings, analytics=False)
    full = build_pipeline(settings, policy=policy)
    call = long_call(args.minutes)
    full.analyze(call)  # warm-up: model loads, policy embeddings, first-call imports
    bare_times, full_times = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        bare.analyze(call)
        bare_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        record = full.analyze(call)
        full_times.append(time.perf_counter() - start)
    b, f = statistics.median(bare_times), statistics.median(full_times)
    print(
        f"call {call.duration / 60:.1f} min, 2 channels, {len(record.segments)} segments, "
        f"{len(record.pii['entities']) if record.pii else 0} PII entities"
    )
    print(f"transcription pipeline (no analytics): median {b:.1f} s of {bare_times}")
    print(f"with analytics:                        median {f:.1f} s of {full_times}")
    print(f"analytics add {f - b:.1f} s = {(f - b) / b:.3f}x the transcription time")


if __name__ == "__main__":
    main()
