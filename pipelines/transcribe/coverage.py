"""Speech coverage: how much of the speech heard on each channel the transcript accounts for.

A party can vanish from a record without any stage failing: the recognizer returns nothing for a
quiet or band-limited leg, a guard drops its segments, a signal stage mutes it. Voice activity
detection does not depend on any of that, so comparing it with the transcript catches them all.

The record's ``metrics.speech_coverage`` (pure function `speech_coverage`)::

    {"channel_0": {"speech_s": 31.2, "transcribed_s": 30.4, "coverage": 0.974, "missed": 0},
     "channel_1": {"speech_s": 27.0, "transcribed_s": 4.1, "coverage": 0.152, "missed": 6},
     "min_coverage": 0.8,
     "gaps": ["channel_1"]}

* ``speech_s``: seconds of voice activity (Silero VAD regions) on the channel as transcribed;
* ``transcribed_s``: how many of those seconds lie inside a transcribed segment of the channel
  (segment edges widened by ``tolerance_s``: VAD regions are padded, word timings are not);
* ``coverage``: their ratio, ``None`` for a channel without speech;
* ``missed``: stretches of speech of at least ``missed_min_s`` that no segment of the channel
  touches (a lost turn shows here even when the channel's coverage stays above the threshold);
* ``gaps``: the channels whose coverage is below ``min_coverage``; each is also logged as a
  WARNING with times and the channel, never with transcript text.

Mono calls have a single ``channel_0`` entry.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipelines.core.types import Segment, SpeechRegion

logger = logging.getLogger(__name__)

Span = tuple[float, float]


@dataclass(frozen=True, slots=True)
class CoverageOptions:
    """When a channel's speech counts as not transcribed (recorded in provenance)."""

    min_coverage: float = 0.8
    tolerance_s: float = 0.25
    missed_min_s: float = 1.0


def union(spans: Sequence[Span]) -> list[Span]:
    """Sorted, non-overlapping spans covering the same time as ``spans``."""
    merged: list[Span] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def covered_seconds(speech: Sequence[Span], transcribed: Sequence[Span]) -> float:
    """Seconds of the union of ``speech`` that lie inside the union of ``transcribed``."""
    total = 0.0
    cover = union(transcribed)
    for start, end in union(speech):
        total += sum(max(0.0, min(end, b) - max(start, a)) for a, b in cover)
    return total


def channel_key(channel: int) -> str:
    return f"channel_{channel}"


def speech_coverage(
    regions: Mapping[int, Sequence[SpeechRegion]],
    segments: Sequence[Segment],
    options: CoverageOptions | None = None,
) -> dict[str, Any]:
    """The record's ``metrics.speech_coverage``: per channel in ``regions``, speech heard versus
    speech inside that channel's transcribed segments, and the channels below the threshold."""
    options = options or CoverageOptions()
    result: dict[str, Any] = {}
    gaps = []
    pad = options.tolerance_s
    for channel in sorted(regions):
        speech = union([(r.start, r.end) for r in regions[channel]])
        spoken = sum(end - start for start, end in speech)
        said = [(s.start - pad, s.end + pad) for s in segments if s.channel == channel]
        transcribed = covered_seconds(speech, said)
        coverage = round(transcribed / spoken, 3) if spoken > 0 else None
        missed = [
            (start, end)
            for start, end in speech
            if end - start >= options.missed_min_s and covered_seconds([(start, end)], said) == 0
        ]
        result[channel_key(channel)] = {
            "speech_s": round(spoken, 3),
            "transcribed_s": round(transcribed, 3),
            "coverage": coverage,
            "missed": len(missed),
        }
        if coverage is not None and coverage < options.min_coverage:
            gaps.append(channel_key(channel))
    result["min_coverage"] = options.min_coverage
    result["gaps"] = gaps
    return result


def warn_coverage_gaps(coverage: Mapping[str, Any], roles: Mapping[str, str], call_id: str) -> None:
    """One WARNING per channel in ``coverage["gaps"]``: which party, how much speech is missing.

    ``roles`` maps a channel key to the party's role for the message; no transcript text is
    logged (it may hold personal data).
    """
    for key in coverage.get("gaps", ()):
        entry = coverage[key]
        logger.warning(
            "call %s: only %.0f%% of the speech on %s (%s) was transcribed "
            "(%.1f s of %.1f s); a party may be missing from the record",
            call_id,
            100.0 * float(entry["coverage"]),
            key,
            roles.get(key, "unknown"),
            float(entry["transcribed_s"]),
            float(entry["speech_s"]),
            extra={"call_id": call_id},
        )
