"""What `bench/live_server.py` measures on the events of one streamed call.

A `CallRun` keeps, on one monotonic clock, when each 20 ms frame left the client and when each
server event arrived; the figures are differences of those two clocks, with the call time a
segment or alert names mapped to the wall time its audio was sent.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pipelines.transcribe.evaluation import error_rate

FRAME_S = 0.02  # api.cli.stream.FRAME_S: one frame per 20 ms of call audio


@dataclass(frozen=True)
class Turn:
    role: str
    start: float
    end: float
    text: str
    language: str


@dataclass(frozen=True)
class CallPlan:
    """One corpus call, cut, and how it is streamed (``protocol`` callqa or twilio)."""

    call_id: str
    protocol: str
    layout: str
    policy: str
    cut_s: float
    turns: tuple[Turn, ...]  # the reference turns that end before the cut

    @property
    def label(self) -> str:
        return f"{self.call_id}:{self.protocol}"

    def channel(self, role: str) -> int:
        """The server's channel for a role: Twilio's outbound (agent) track is 0, inbound 1,
        and a mono call goes in as the inbound track."""
        if self.layout == "mono":
            return 1 if self.protocol == "twilio" else 0
        if self.protocol == "twilio":
            return 0 if role == "agent" else 1
        left = self.layout == "stereo-agent-left"
        return 0 if (role == "agent") == left else 1

    def references(self, batch: bool = False) -> dict[int, list[Turn]]:
        """Reference turns by channel: the server's channels, or the batch record's."""
        found: dict[int, list[Turn]] = {}
        for turn in self.turns:
            if self.layout == "mono":
                channel = 0 if batch else self.channel(turn.role)
            else:
                left = self.layout == "stereo-agent-left"
                batch_channel = 0 if (turn.role == "agent") == left else 1
                channel = batch_channel if batch else self.channel(turn.role)
            found.setdefault(channel, []).append(turn)
        return found


def cut_point(turns: list[Turn], seconds: float | None, duration: float) -> float:
    """The latest time at or before ``seconds`` that falls inside no reference turn, so the
    cut audio and the reference hold the same whole lines."""
    if seconds is None or seconds >= duration:
        return duration
    candidates = [seconds] + [t.end + 0.25 for t in turns if t.end + 0.25 <= seconds]
    free = [c for c in candidates if not any(t.start < c < t.end for t in turns)]
    return max(free, default=seconds)


@dataclass
class CallRun:
    """Wall times (time.monotonic) of the frames sent and of the events received."""

    plan: CallPlan
    sent: list[float] = field(default_factory=list)
    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    status: int | None = None
    error: str = ""

    def sent_at(self, call_time: float) -> float:
        """When the frame holding ``call_time`` had been handed to the socket."""
        if not self.sent:
            return math.nan
        index = min(len(self.sent) - 1, max(0, int(call_time / FRAME_S)))
        return self.sent[index]

    def of(self, kind: str) -> list[tuple[float, dict[str, Any]]]:
        return [(at, e) for at, e in self.events if e.get("type") == kind]


def final_latencies(run: CallRun) -> list[float]:
    return [at - run.sent_at(e["segment"]["end"]) for at, e in run.of("final")]


def partial_intervals(run: CallRun) -> list[float]:
    last: dict[str, float] = {}
    gaps = []
    for at, event in run.of("partial"):
        key = str(event["segment"]["id"])
        if key in last:
            gaps.append(at - last[key])
        last[key] = at
    return gaps


def first_partials(run: CallRun) -> list[float]:
    """Per segment: its first partial's arrival minus the wall time its start was sent."""
    seen: set[str] = set()
    delays = []
    for at, event in run.of("partial"):
        key = str(event["segment"]["id"])
        if key not in seen:
            seen.add(key)
            delays.append(at - run.sent_at(event["segment"]["start"]))
    return delays


def alert_delays(run: CallRun) -> list[tuple[str, float]]:
    """(kind, arrival minus the wall time of the alert's ``at_s``: the end of the line that
    raised it, or the deadline a missing line passed)."""
    return [
        (str(e.get("kind")), at - run.sent_at(float(e["at_s"])))
        for at, e in run.of("alert")
        if "at_s" in e
    ]


def translation_delays(run: CallRun) -> list[float]:
    ends = {str(e["segment"]["id"]): e["segment"]["end"] for _, e in run.of("final")}
    return [
        at - run.sent_at(ends[str(e["segment_id"])])
        for at, e in run.of("translation")
        if str(e.get("segment_id")) in ends
    ]


def sender_late(run: CallRun) -> float:
    """How far behind the wall clock the client's last-sent frame fell (backpressure or an
    overloaded machine), in seconds."""
    if not run.sent:
        return math.nan
    return max(at - (run.sent[0] + i * FRAME_S) for i, at in enumerate(run.sent))


def notices(run: CallRun) -> Counter[str]:
    return Counter(str(e.get("kind")) for _, e in run.of("notice"))


def wrong_language(run: CallRun) -> list[dict[str, Any]]:
    """Finals whose language is none of the reference languages of their channel."""
    refs = run.plan.references()
    every = {t.language for t in run.plan.turns}
    wrong = []
    for _, event in run.of("final"):
        segment = event["segment"]
        expected = {t.language for t in refs.get(segment.get("channel") or 0, [])} or every
        if segment.get("language") not in expected:
            wrong.append(
                {
                    "channel": segment.get("channel"),
                    "language": segment.get("language"),
                    "expected": sorted(expected),
                    "text": segment.get("text", "")[:80],
                }
            )
    return wrong


def _language(turns: list[Turn]) -> str:
    return Counter(t.language for t in turns).most_common(1)[0][0]


def call_wer(refs: dict[int, list[Turn]], texts: dict[int, list[tuple[float, str]]]) -> float:
    """Word errors over all channels / reference words (each channel in its main language)."""
    errors = words = 0.0
    for channel, turns in refs.items():
        reference = " ".join(t.text for t in turns)
        hypothesis = " ".join(text for _, text in sorted(texts.get(channel, [])))
        count = len(reference.split())
        errors += error_rate(reference, hypothesis, _language(turns)) * count
        words += count
    return errors / words if words else math.nan


def streamed_texts(run: CallRun) -> dict[int, list[tuple[float, str]]]:
    """The finals' text by channel, with their start times."""
    texts: dict[int, list[tuple[float, str]]] = {}
    for _, event in run.of("final"):
        segment = event["segment"]
        texts.setdefault(segment.get("channel") or 0, []).append(
            (segment["start"], segment["text"])
        )
    return texts


def streamed_wer(run: CallRun) -> float:
    return call_wer(run.plan.references(), streamed_texts(run))


def batch_wer(plan: CallPlan, record: dict[str, Any]) -> float:
    """WER of a `callqa analyze` record of the same cut audio against the same reference."""
    texts: dict[int, list[tuple[float, str]]] = {}
    for segment in record.get("segments", []):
        channel = 0 if plan.layout == "mono" else segment.get("channel") or 0
        texts.setdefault(channel, []).append((segment["start"], segment["text"]))
    return call_wer(plan.references(batch=True), texts)


def pct(values: list[float], q: float) -> float:
    clean = sorted(v for v in values if not math.isnan(v))
    if not clean:
        return math.nan
    rank = (len(clean) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(clean) - 1)
    return clean[low] + (clean[high] - clean[low]) * (rank - low)


def median(values: list[float]) -> float:
    clean = [v for v in values if not math.isnan(v)]
    return statistics.median(clean) if clean else math.nan


def call_summary(run: CallRun, batch: float | None) -> dict[str, Any]:
    """Every figure of one call, as written to summary.json."""
    latencies = final_latencies(run)
    alerts = alert_delays(run)
    return {
        "call": run.plan.label,
        "cut_s": round(run.plan.cut_s, 2),
        "status": run.status,
        "error": run.error,
        "finals": len(latencies),
        "partials": len(run.of("partial")),
        "final_latency_s": [round(x, 3) for x in latencies],
        "final_events": [
            {
                "channel": e["segment"].get("channel"),
                "start": e["segment"]["start"],
                "end": e["segment"]["end"],
                "latency_s": round(x, 3),
                "text": e["segment"]["text"],
            }
            for (_, e), x in zip(run.of("final"), latencies, strict=True)
        ],
        "final_latency_p50": pct(latencies, 50),
        "partial_interval_p50": pct(partial_intervals(run), 50),
        "first_partial_p50": pct(first_partials(run), 50),
        "sender_late_s": sender_late(run),
        "notices": dict(notices(run)),
        "wrong_language": wrong_language(run),
        "alerts": [{"kind": k, "delay_s": round(d, 3)} for k, d in alerts],
        "translations": len(run.of("translation")),
        "translation_delay_p50": pct(translation_delays(run), 50),
        "streamed_wer": streamed_wer(run),
        "batch_wer": batch,
        "streamed_text": {
            c: " ".join(t for _, t in sorted(v)) for c, v in streamed_texts(run).items()
        },
        "reference_text": {
            c: " ".join(t.text for t in v) for c, v in run.plan.references().items()
        },
    }


def level_summary(
    level: int, runs: list[CallRun], cpu_s: float, batch: dict[str, float]
) -> dict[str, Any]:
    """One row of the table: pooled over the finals/partials/alerts of all calls of the level,
    medians across calls for the per-call figures (WER)."""
    latencies = [x for run in runs for x in final_latencies(run)]
    alerts = [d for run in runs for _, d in alert_delays(run)]
    audio_s = sum(run.plan.cut_s for run in runs)
    calls = [call_summary(run, batch.get(run.plan.call_id)) for run in runs]
    return {
        "level": level,
        "calls": calls,
        "audio_s": audio_s,
        "finals": len(latencies),
        "final_latency": {
            "p50": pct(latencies, 50),
            "p95": pct(latencies, 95),
            "max": max(latencies, default=math.nan),
        },
        "partial_interval_p50": pct([x for r in runs for x in partial_intervals(r)], 50),
        "partial_interval_p95": pct([x for r in runs for x in partial_intervals(r)], 95),
        "first_partial_p50": pct([x for r in runs for x in first_partials(r)], 50),
        "cpu_s_per_call_s": cpu_s / audio_s if audio_s else math.nan,
        "sender_late_max_s": max((sender_late(r) for r in runs), default=math.nan),
        "backpressure": sum(notices(r)["backpressure"] for r in runs),
        "other_notices": sum(sum(notices(r).values()) - notices(r)["backpressure"] for r in runs),
        "wrong_language": sum(len(wrong_language(r)) for r in runs),
        "alerts": len(alerts),
        "alert_delay_p50": pct(alerts, 50),
        "alert_delay_max": max(alerts, default=math.nan),
        "translation_delay_p50": pct([x for r in runs for x in translation_delays(r)], 50),
        "streamed_wer_median": median([c["streamed_wer"] for c in calls]),
        "batch_wer_median": median([c["batch_wer"] for c in calls if c["batch_wer"] is not None]),
        "failed_calls": sum(1 for r in runs if r.status != 0),
    }


COLUMNS = (
    ("calls", "level", "{:d}"),
    ("finals", "finals", "{:d}"),
    ("final lat p50 s", "final_latency.p50", "{:.2f}"),
    ("p95", "final_latency.p95", "{:.2f}"),
    ("max", "final_latency.max", "{:.2f}"),
    ("partial every s", "partial_interval_p50", "{:.2f}"),
    ("1st partial s", "first_partial_p50", "{:.2f}"),
    ("server CPU s/call-s", "cpu_s_per_call_s", "{:.2f}"),
    ("sender late s", "sender_late_max_s", "{:.2f}"),
    ("backpressure", "backpressure", "{:d}"),
    ("wrong-lang finals", "wrong_language", "{:d}"),
    ("alerts", "alerts", "{:d}"),
    ("alert delay p50", "alert_delay_p50", "{:.2f}"),
    ("max", "alert_delay_max", "{:.2f}"),
    ("translation delay p50", "translation_delay_p50", "{:.2f}"),
    ("WER streamed (median)", "streamed_wer_median", "{:.3f}"),
    ("WER batch (median)", "batch_wer_median", "{:.3f}"),
    ("failed calls", "failed_calls", "{:d}"),
)


def _cell(row: dict[str, Any], key: str, form: str) -> str:
    value: Any = row
    for part in key.split("."):
        value = value[part]
    return "-" if isinstance(value, float) and math.isnan(value) else form.format(value)


def report_lines(rows: list[dict[str, Any]]) -> list[str]:
    """One line per call of each level, then the table."""
    lines = []
    for row in rows:
        for call in row["calls"]:
            batch = "-" if call["batch_wer"] is None else f"{call['batch_wer']:.3f}"
            lines.append(
                f"- {row['level']} at once, {call['call']} ({call['cut_s']} s): "
                f"{call['finals']} finals, latency p50 {call['final_latency_p50']:.2f} s, "
                f"streamed WER {call['streamed_wer']:.3f}, batch WER {batch}, "
                f"notices {call['notices']}, alerts {len(call['alerts'])}, "
                f"wrong-language {len(call['wrong_language'])}"
                + (f", error {call['error']}" if call["error"] else "")
            )
    return [*lines, "", *markdown(rows), ""]


def no_nan(value: Any) -> Any:
    """NaN (no data) as null, so summary.json is strict JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: no_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [no_nan(v) for v in value]
    return value


def markdown(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| " + " | ".join(title for title, _, _ in COLUMNS) + " |"]
    lines.append("|" + "---|" * len(COLUMNS))
    for row in rows:
        lines.append("| " + " | ".join(_cell(row, k, f) for _, k, f in COLUMNS) + " |")
    return lines
