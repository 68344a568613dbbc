"""Cost of live alerts (redaction, the caller's voice+text emotion, script compliance) against
decoding the same finals, side by side.

The labelled test calls are cut into their finals (batch transcription, roles by channel). Each
final is decoded by the live utterance decoder (the final's options) and then handed to a
`LiveMonitor` with the sample policy, as a live call does; both are timed in the same run. The
ratio alerts/decoding is taken per run over all finals and its median reported, with the median
and worst time of one final's alerts, customers' finals (one emotion encoder pass each) apart.

    python bench/live_alerts.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.asr_stream import UtteranceDecoder, UtteranceOptions  # noqa: E402
from models.text_embedding import SentenceEmbedder  # noqa: E402
from pipelines.compliance.checker import ScriptComplianceChecker  # noqa: E402
from pipelines.compliance.policy import load_policy  # noqa: E402
from pipelines.core.settings import get_settings  # noqa: E402
from pipelines.core.types import CallAudio, Segment  # noqa: E402
from pipelines.live.alerts import LiveMonitor  # noqa: E402
from pipelines.registry import build_analytics, build_pipeline, build_recognizer  # noqa: E402
from voice.decode import load_call_audio  # noqa: E402

CALLS = ROOT / "tests" / "data" / "calls"
RATE = 16_000
FINAL = UtteranceOptions(word_timestamps=True, context_margin_s=5.0)  # as live finals decode


def labelled_calls() -> list[tuple[tuple[Segment, ...], CallAudio]]:
    names = [k for k in json.loads((CALLS / "expected.json").read_text()) if k[0] != "_"]
    pipeline = build_pipeline(get_settings(), analytics=False)
    out = []
    for name in names:
        audio = load_call_audio(CALLS / f"{name}.wav")
        out.append((pipeline.analyze(audio).segments, audio))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    settings = get_settings()
    policy = load_policy(ROOT / "samples" / "policies" / "ecommerce-aftersales.yaml")
    decoder = UtteranceDecoder(build_recognizer(settings))
    # its own emotion encoder and a compliance checker, as a server's live calls have
    stages = replace(
        build_analytics(settings), compliance=ScriptComplianceChecker(SentenceEmbedder(threads=1))
    )
    calls = labelled_calls()
    ratios: list[float] = []
    customer_ms: list[float] = []
    agent_ms: list[float] = []
    for run in range(args.repeats + 1):  # run 0 warms the models up and is not counted
        decode_s = alerts_s = 0.0
        for segments, audio in calls:
            monitor = LiveMonitor(stages, policy)
            for segment in sorted(segments, key=lambda s: s.end):
                channel = audio.channels[segment.channel].samples
                samples = channel[int(segment.start * RATE) : int(segment.end * RATE)]
                t0 = time.perf_counter()
                decoder.decode(samples, FINAL)
                t1 = time.perf_counter()
                monitor.on_final(segment, samples)
                t2 = time.perf_counter()
                if run:
                    decode_s += t1 - t0
                    alerts_s += t2 - t1
                    (customer_ms if segment.role == "customer" else agent_ms).append(
                        1000 * (t2 - t1)
                    )
        if run:
            ratios.append(alerts_s / decode_s)
    finals = sum(len(s) for s, _ in calls)
    print(f"{len(calls)} calls, {finals} finals per run, {args.repeats} runs")
    for who, times in (("customer", customer_ms), ("agent", agent_ms)):
        print(
            f"alerts per {who} final: median {statistics.median(times):.0f} ms, "
            f"max {max(times):.0f} ms"
        )
    print(f"alerts / decoding: median {statistics.median(ratios):.3f}x  runs {ratios}")


if __name__ == "__main__":
    main()
