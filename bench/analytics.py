"""Cost of the analytics stages (PII redaction of text and audio, voice+text emotion,
compliance with the sample policy, topics, metrics) against transcription, side by side.

A 5-minute two-channel call is built from the labelled test calls and analyzed by the full
pipeline with a timing hook, so both stages are timed in the same run on the same machine
state; the ratio analytics/transcription is taken per run and its median reported.

    python bench/analytics.py [--repeats 3] [--minutes 5]
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import statistics
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.compliance.policy import load_policy  # noqa: E402
from pipelines.core.progress import TimingHook  # noqa: E402
from pipelines.core.settings import get_settings  # noqa: E402
from pipelines.core.types import Audio, AudioSource, CallAudio  # noqa: E402
from pipelines.registry import build_pipeline  # noqa: E402

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
    full = build_pipeline(settings, policy=policy)
    call = long_call(args.minutes)
    full.analyze(call)  # warm-up: model loads, policy embeddings, first-call imports
    stages: dict[str, list[float]] = {}
    ratios = []
    for _ in range(args.repeats):
        timing = TimingHook()
        record = full.analyze(call, hook=timing)
        timing.stop()
        durations = timing.durations()
        for step, seconds in durations.items():
            stages.setdefault(step, []).append(seconds)
        ratios.append(durations["analytics"] / durations["transcribe"])
    print(
        f"call {call.duration / 60:.1f} min, 2 channels, {len(record.segments)} segments, "
        f"{len(record.pii['entities']) if record.pii else 0} PII entities"
    )
    for step, runs in stages.items():
        print(f"{step:12} median {statistics.median(runs):6.2f} s  runs {runs}")
    print(f"analytics / transcription: median {statistics.median(ratios):.3f}x  runs {ratios}")


if __name__ == "__main__":
    main()
