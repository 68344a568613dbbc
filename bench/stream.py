"""Live transcription replayed at real time: final latency, partial interval, WER, concurrency.

Recordings from tests/data (stereo calls, mono calls, 8 kHz telephony clips as PCM16 bytes,
English clips) are fed into `LiveTranscriber` in-process, 20 ms per frame, each frame when its
time comes on the wall clock. Measured:

* final latency: wall time from the end of speech (Silero VAD of the whole channel, cut at the
  final's last word) until the final segment is emitted, p50 / p95 / max;
* partial interval: wall time between consecutive partials of one segment;
* WER against the reference transcripts, streamed (finals) vs batch (`WhisperTranscriber` on
  the same files, same model), and WER of streamed against batch;
* concurrency: 1..N calls replayed at once (threads, one shared compute thread); a level
  holds when lag (oldest waiting final behind the newest audio) stays <= --max-lag s. The
  process CPU time per second of call audio is printed too: unlike wall-clock latency it
  does not depend on what else the machine runs (the load average is printed beside it).

    python bench/stream.py [--quick] [--model base] [--max-calls 4] [--max-lag 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.clips import DATA_DIR, manifest
from models.asr import SpeechRecognizer
from models.asr_stream import UtteranceDecoder
from models.vad import SileroVad
from pipelines.core.settings import get_settings
from pipelines.core.types import Samples
from pipelines.live.transcriber import (
    Event,
    Final,
    LiveOptions,
    LiveTranscriber,
    Notice,
    Partial,
    PcmInput,
    StreamScheduler,
)
from pipelines.registry import build_recognizer
from pipelines.transcribe.evaluation import error_rate
from pipelines.transcribe.stage import WhisperTranscriber
from voice.decode import load_call_audio

FRAME_S = 0.02
OPTIONS = LiveOptions()  # main() sets the tuned values given on the command line
DEFAULTS = LiveOptions()


@dataclass
class Recording:
    path: Path
    references: dict[int, str]  # channel -> reference text
    language: str = "en"

    @property
    def name(self) -> str:
        return str(self.path.relative_to(DATA_DIR))


@dataclass
class Run:
    """What one replayed call produced, with wall times relative to its audio clock."""

    recording: Recording
    finals: list[tuple[float, Final]] = field(default_factory=list)
    partials: list[tuple[float, Partial]] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    max_lag: float = 0.0
    behind: float = 0.0  # how late the feeder itself got (machine overload)


def recordings(quick: bool, only: tuple[str, ...] = ()) -> list[Recording]:
    found = []
    for path in sorted((DATA_DIR / "calls").glob("*.wav")):
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        refs: dict[int, list[str]] = {}
        for turn in meta["turns"]:
            left = meta["layout"] == "stereo-agent-left"
            channel = 0 if meta["layout"] == "mono" else int((turn["role"] == "agent") != left)
            refs.setdefault(channel, []).append(turn["text"])
        found.append(Recording(path, {c: " ".join(t) for c, t in refs.items()}))
    for clip in manifest():
        if clip.path.parent.name in ("telephony", "en"):
            found.append(Recording(clip.path, {0: clip.reference}, clip.language))
    if only:
        found = [r for r in found if any(part in r.name for part in only)]
    if quick:
        keep = ("calls/angry-customer.wav", "telephony/es_queue-periodic-announce.wav")
        found = [r for r in found if r.name in keep]
    return found


def replay(live: LiveTranscriber, recording: Recording, run: Run, clock: list[float]) -> None:
    """Feed the recording frame by frame at real time (8 kHz files as PCM16 bytes)."""
    steps = frame_feeders(live, recording)
    start = clock[0] = time.perf_counter()
    for index, feed in enumerate(steps):
        delay = start + (index + 1) * FRAME_S - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        run.behind = max(run.behind, -delay)
        feed()
        run.max_lag = max(run.max_lag, live.lag_seconds())
    live.finish()


def frame_feeders(live: LiveTranscriber, recording: Recording) -> list[Callable[[], None]]:
    """One call per 20 ms frame that feeds it (the last one also ends a byte stream)."""
    if sf.info(str(recording.path)).samplerate == 8000:
        pcm, _ = sf.read(str(recording.path), dtype="int16", always_2d=True)
        source = PcmInput(live, encoding="pcm_s16le", sample_rate=8000, channels=pcm.shape[1])
        step = int(FRAME_S * 8000)
        chunks = [pcm[i : i + step].tobytes() for i in range(0, len(pcm), step)]
        feeders = [functools.partial(source.push, chunk) for chunk in chunks]
        return [*feeders, source.close]
    call = load_call_audio(recording.path)
    step = int(FRAME_S * 16000)
    return [
        functools.partial(_feed_channels, live, [c.samples[i : i + step] for c in call.channels])
        for i in range(0, len(call.channels[0].samples), step)
    ]


def _feed_channels(live: LiveTranscriber, blocks: list[Samples]) -> None:
    for channel, block in enumerate(blocks):
        live.feed(channel, block)


def play(scheduler: StreamScheduler, decoder: UtteranceDecoder, recording: Recording) -> Run:
    run = Run(recording)
    clock = [0.0]

    def on_event(event: Event) -> None:
        at = time.perf_counter() - clock[0]
        if isinstance(event, Final):
            run.finals.append((at, event))
        elif isinstance(event, Partial):
            run.partials.append((at, event))
        else:
            run.notices.append(event)

    live = LiveTranscriber(decoder, OPTIONS, scheduler=scheduler, on_event=on_event)
    replay(live, recording, run, clock)
    return run


def speech_regions(recording: Recording) -> dict[int, list[tuple[float, float]]]:
    """Utterances as the whole-channel Silero VAD sees them (same 0.5 s endpoint)."""
    call = load_call_audio(recording.path)
    vad = SileroVad(min_silence_s=OPTIONS.endpoint_silence_s, pad_s=0.0)
    return {c.channel: [(r.start, r.end) for r in vad.regions(c)] for c in call.channels}


def latencies(run: Run) -> list[float]:
    """Per utterance: emission of its last final minus the end of its speech."""
    found = []
    for channel, regions in speech_regions(run.recording).items():
        for start, end in regions:
            emitted = [
                at
                for at, final in run.finals
                if final.segment.channel == channel
                and final.segment.start < end
                and final.segment.end > start
            ]
            if emitted:
                found.append(max(emitted) - end)
    return found


def commit_delays(run: Run) -> list[float]:
    """Finals committed mid-utterance (local agreement): emission minus their last word."""
    ends = [e for regions in speech_regions(run.recording).values() for _, e in regions]
    return [
        at - final.segment.end
        for at, final in run.finals
        if min((abs(final.segment.end - e) for e in ends), default=0.0) > 0.6
    ]


def partial_intervals(run: Run) -> list[float]:
    last: dict[int, float] = {}
    gaps = []
    for at, partial in run.partials:
        if partial.segment.id in last:
            gaps.append(at - last[partial.segment.id])
        last[partial.segment.id] = at
    return gaps


def streamed_text(run: Run, channel: int) -> str:
    finals = sorted((f.segment for _, f in run.finals if f.segment.channel == channel),
                    key=lambda s: s.start)  # fmt: skip
    return " ".join(s.text for s in finals)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def word_errors(reference: str, hypothesis: str, language: str) -> tuple[float, int]:
    words = len(reference.split())
    return error_rate(reference, hypothesis, language) * words, words


def single(
    scheduler: StreamScheduler, decoder: UtteranceDecoder, quick: bool, only: tuple[str, ...]
) -> list[Run]:
    runs = []
    print(f"{'recording':46} {'audio s':>7} {'finals':>6} {'lat p50':>7} {'p95':>5} {'max':>5}")
    for recording in recordings(quick, only):
        run = play(scheduler, decoder, recording)
        lat = latencies(run)
        duration = sf.info(str(recording.path)).duration
        print(f"{recording.name:46} {duration:7.1f} {len(run.finals):6d} "
              f"{pct(lat, 50):7.2f} {pct(lat, 95):5.2f} {max(lat, default=0):5.2f}")  # fmt: skip
        runs.append(run)
    lat = [x for run in runs for x in latencies(run)]
    gaps = [x for run in runs for x in partial_intervals(run)]
    print(f"final latency over {len(lat)} utterances: p50 {pct(lat, 50):.2f} s, "
          f"p95 {pct(lat, 95):.2f} s, max {max(lat):.2f} s")  # fmt: skip
    print(
        f"partial interval over {len(gaps)}: p50 {pct(gaps, 50):.2f} s, p95 {pct(gaps, 95):.2f} s"
    )
    notices = [n for run in runs for n in run.notices]
    print(f"notices: {len(notices)} ({', '.join(sorted({n.kind for n in notices})) or 'none'})")
    return runs


def accuracy(runs: list[Run], recognizer: SpeechRecognizer) -> None:
    batch = WhisperTranscriber(recognizer)  # the batch defaults, on the same loaded model
    totals = {"batch": [0.0, 0], "stream": [0.0, 0], "stream-vs-batch": [0.0, 0]}
    print(f"{'recording':46} {'ch':>2} {'WER batch':>9} {'stream':>7} {'vs batch':>8}")
    for run in runs:
        rec = run.recording
        transcript = batch.transcribe(load_call_audio(rec.path))
        for channel, reference in sorted(rec.references.items()):
            batch_text = " ".join(s.text for s in transcript.segments if s.channel == channel)
            stream_text = streamed_text(run, channel)
            row = []
            for key, ref, hyp in (
                ("batch", reference, batch_text),
                ("stream", reference, stream_text),
                ("stream-vs-batch", batch_text, stream_text),
            ):
                errors, words = word_errors(ref, hyp, rec.language)
                totals[key][0] += errors
                totals[key][1] += words
                row.append(errors / max(words, 1))
            print(f"{rec.name:46} {channel:2d} {row[0]:9.3f} {row[1]:7.3f} {row[2]:8.3f}")
    wer = {k: e / max(n, 1) for k, (e, n) in totals.items()}
    print(f"WER over all words: batch {wer['batch']:.3f}, streamed {wer['stream']:.3f} "
          f"(difference {100 * (wer['stream'] - wer['batch']):+.1f} points); "
          f"streamed vs batch {wer['stream-vs-batch']:.3f}")  # fmt: skip


def _play_into(
    scheduler: StreamScheduler, decoder: UtteranceDecoder, recording: Recording, runs: list[Run]
) -> None:
    runs.append(play(scheduler, decoder, recording))  # list.append is atomic


def concurrency(
    scheduler: StreamScheduler, decoder: UtteranceDecoder, levels: list[int], max_lag: float
) -> None:
    calls = [r for r in recordings(False) if r.path.parent.name == "calls" and "mono" not in r.name]
    print(f"{'calls':>5} {'max lag s':>9} {'lat p50':>7} {'p95':>5} {'lag notices':>11} "
          f"{'feeder late s':>13} {'CPU s/call s':>12} {'load':>5} {'bounded':>7}")  # fmt: skip
    for level in levels:
        runs: list[Run] = []
        cpu = time.process_time()
        threads = [
            threading.Thread(
                target=_play_into, args=(scheduler, decoder, calls[i % len(calls)], runs)
            )
            for i in range(level)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        cpu = time.process_time() - cpu
        audio = sum(sf.info(str(r.recording.path)).duration for r in runs)
        lag = max(r.max_lag for r in runs)
        lat = [x for r in runs for x in latencies(r)]
        notices = sum(n.kind == "lag" for r in runs for n in r.notices)
        behind = max(r.behind for r in runs)
        print(f"{level:5d} {lag:9.2f} {pct(lat, 50):7.2f} {pct(lat, 95):5.2f} {notices:11d} "
              f"{behind:13.2f} {cpu / audio:12.3f} {os.getloadavg()[0]:5.1f} "
              f"{'yes' if lag <= max_lag else 'no':>7}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="two recordings; 1 and 3 calls")
    parser.add_argument("--model", default="base")
    parser.add_argument("--max-calls", type=int, default=4)
    parser.add_argument("--max-lag", type=float, default=3.0)
    parser.add_argument("--skip-wer", action="store_true")
    parser.add_argument("--only", nargs="*", default=[], help="recordings whose name has these")
    parser.add_argument("--endpoint", type=float, default=DEFAULTS.endpoint_silence_s)
    parser.add_argument("--agreement-after", type=float, default=DEFAULTS.agreement_after_s)
    parser.add_argument("--partial-interval", type=float, default=DEFAULTS.partial_interval_s)
    parser.add_argument("--final-beam", type=int, default=DEFAULTS.final.beam_size)
    args = parser.parse_args()
    global OPTIONS
    OPTIONS = dataclasses.replace(
        DEFAULTS,
        endpoint_silence_s=args.endpoint,
        agreement_after_s=args.agreement_after,
        partial_interval_s=args.partial_interval,
        final=dataclasses.replace(DEFAULTS.final, beam_size=args.final_beam),
    )
    logging.basicConfig(level=logging.WARNING)
    recognizer = build_recognizer(get_settings(), args.model)
    decoder = UtteranceDecoder(recognizer)
    scheduler = StreamScheduler()
    print(f"model {recognizer.info.name} ({recognizer.compute_type}); {os.cpu_count()} CPUs; "
          f"load average at start {os.getloadavg()[0]:.2f}")  # fmt: skip
    o = OPTIONS
    print(f"endpoint {o.endpoint_silence_s} s, agreement after {o.agreement_after_s} s, "
          f"partials every {o.partial_interval_s} s, final beam {o.final.beam_size}")  # fmt: skip
    runs = single(scheduler, decoder, args.quick, tuple(args.only))
    if not args.skip_wer:
        accuracy(runs, recognizer)
    levels = [1, 3] if args.quick else list(range(1, args.max_calls + 1))
    if levels:
        concurrency(scheduler, decoder, levels, args.max_lag)
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    scheduler.close()


if __name__ == "__main__":
    main()
