"""Early warnings for a contact center's managers, from daily counts. Pure functions, no database:
the API layer loads the series and calls them.

Volume (``volume_alerts``): a call driver's or topic's calls per day against its expected level.

* The series runs from its first day (``min(counts)``) to ``end``; a day missing from ``counts``
  had 0 calls. Days before the first day do not exist: they are not zeros in anyone's history
  (a caller whose data starts earlier than a key's first call passes a 0 for that earlier day).
* Expected level of a day: the median of its same-weekday days in the ``history_weeks`` weeks
  before it, so a weekday pattern (busy Mondays) is the baseline, not an alert. Earlier spike days
  are left out of it while they are a minority of those days and at least ``min_history`` remain:
  an isolated spike does not raise its own baseline, and a sustained level shift becomes the new
  baseline once it fills half the window (it alerts for about ``history_weeks / 2`` weeks of each
  weekday, as a plain rolling median would).
* Scale: ``max(sqrt(expected), 1.4826 * MAD, 1)``: Poisson-like noise at least, the robust spread
  of those days when wider, never below one call. A day spikes when ``(count - expected) / scale
  >= z``, ``count >= min_ratio * expected`` and ``count >= min_count``; with fewer than
  ``min_history`` same-weekday days before it, a day is not judged.
* Monthly seasonality: spikes are detected over the whole series in day order (history before
  ``start`` included). A spike is ``recurring="monthly"`` when the same day of month spiked in
  earlier months too, ``monthly_min_repeats`` months in all, with no more than
  ``monthly_max_gap`` months between one occurrence and the next (one month may be missed: a
  closed day, or a month without enough history). The day of month is clamped to the month's
  length: a pattern on the 31st falls on Feb 28 (29), Apr 30 and so on, and a spike on the last
  day of a month may continue a pattern on any later day of month. ``seen`` lists the earlier
  occurrences, ``next_expected`` is the same (clamped) day next month. Recurring spikes are still
  alerts: the flag tells a billing-day rush from news.

Rates (``rate_alerts``): the share of an agent's, topic's or driver's calls with a negative
emotion, or that failed, in the last ``recent_days`` days up to ``end`` (not before ``start``)
against every earlier call. It alerts when the rate rose by at least ``rate_margin`` (absolute)
and the one-sided pooled two-proportion z is at least ``rate_z``, with at least ``min_calls``
calls in the recent window and in the baseline. The z is a normal approximation: with few calls
it is rough, which the margin and ``min_calls`` guard against.

Everything is deterministic; alerts come out in day order.
"""

from __future__ import annotations

import calendar
import logging
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pipelines.core.errors import InvalidRequestError

logger = logging.getLogger(__name__)

MONTHLY = "monthly"
_MAD_TO_SIGMA = 1.4826  # MAD of a normal sample times this estimates its standard deviation
_EPS = 1e-9  # float slack on thresholds: 0.3 - 0.1 is a rise of 0.2


@dataclass(frozen=True, slots=True)
class AlertOptions:
    """Alert thresholds; every volume condition must hold for a volume alert, every rate one for
    a rate alert.

    * ``history_weeks`` 8: eight same-weekday days, enough for a median and a MAD, recent enough
      to follow seasonal drift. ``min_history`` 3: the smallest median that outvotes one outlier.
    * ``z`` 3: about 1 in 1000 days per key under Gaussian noise, as managers read many keys.
      ``min_ratio`` 2: on a busy key 3 sigma is a few percent, not news; managers act on a
      doubling. ``min_count`` 5: on a quiet key a few calls more is noise.
    * ``monthly_min_repeats`` 2: the second month on the same day is a pattern (the spike still
      alerts). ``monthly_max_gap`` 2: one month may be missed between occurrences.
    * ``recent_days`` 7: a week, every weekday once. ``rate_margin`` 0.2: a rise of 20 points is
      worth a manager's look. ``rate_z`` 2.58: one-sided p about 0.005, as many agents and topics
      are tested at once. ``min_calls`` 8, in the recent window and the baseline each.
    """

    history_weeks: int = 8
    min_history: int = 3
    z: float = 3.0
    min_ratio: float = 2.0
    min_count: int = 5
    monthly_min_repeats: int = 2
    monthly_max_gap: int = 2
    recent_days: int = 7
    rate_margin: float = 0.2
    rate_z: float = 2.58
    min_calls: int = 8

    def __post_init__(self) -> None:
        if not 1 <= self.min_history <= self.history_weeks:
            raise InvalidRequestError("alerts: need 1 <= min_history <= history_weeks")
        if self.monthly_min_repeats < 2 or self.monthly_max_gap < 1:
            raise InvalidRequestError("alerts: need monthly_min_repeats >= 2, monthly_max_gap >= 1")
        if self.recent_days < 1 or self.min_calls < 1:
            raise InvalidRequestError("alerts: need recent_days >= 1 and min_calls >= 1")
        if self.z <= 0 or self.min_ratio < 1 or self.rate_margin < 0 or self.rate_z < 0:
            raise InvalidRequestError("alerts: need z > 0, min_ratio >= 1, rate thresholds >= 0")


DEFAULT_OPTIONS = AlertOptions()


@dataclass(frozen=True, slots=True)
class VolumeAlert:
    """A day whose count is far above its weekday baseline."""

    dimension: str
    key: str
    day: date
    count: int
    expected: float
    score: float
    recurring: str | None = None
    seen: tuple[date, ...] = ()
    next_expected: date | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "volume",
            "dimension": self.dimension,
            "key": self.key,
            "day": self.day.isoformat(),
            "count": self.count,
            "expected": round(self.expected, 3),
            "score": round(self.score, 3),
            "recurring": self.recurring,
            "seen": [day.isoformat() for day in self.seen],
            "next_expected": self.next_expected.isoformat() if self.next_expected else None,
        }


@dataclass(frozen=True, slots=True)
class RateAlert:
    """A rate that jumped in the recent window [start, end] against the calls before it."""

    dimension: str
    key: str
    metric: str
    start: date
    end: date
    rate: float
    calls: int
    baseline_rate: float
    baseline_calls: int
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "rate",
            "dimension": self.dimension,
            "key": self.key,
            "metric": self.metric,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "rate": round(self.rate, 3),
            "calls": self.calls,
            "baseline_rate": round(self.baseline_rate, 3),
            "baseline_calls": self.baseline_calls,
            "score": round(self.score, 3),
        }


def on_day_of_month(year: int, month: int, day: int) -> date:
    """``day`` of that month, clamped to its last day (31 in April is April 30)."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + months
    return index // 12, index % 12 + 1


def baseline(
    counts: Mapping[date, int],
    first: date,
    day: date,
    spikes: Mapping[date, object],
    options: AlertOptions = DEFAULT_OPTIONS,
) -> tuple[float, float] | None:
    """(expected, scale) of ``day`` from its same-weekday days since ``first``, or None with
    fewer than ``min_history`` of them; ``spikes`` are the earlier spike days."""
    window = [day - timedelta(weeks=k) for k in range(1, options.history_weeks + 1)]
    window = [prior for prior in window if prior >= first]
    if len(window) < options.min_history:
        return None
    calm = [prior for prior in window if prior not in spikes]
    if len(calm) >= options.min_history and 2 * len(calm) > len(window):
        window = calm
    values = [counts.get(prior, 0) for prior in window]
    expected = float(statistics.median(values))
    mad = float(statistics.median(abs(value - expected) for value in values))
    return expected, max(math.sqrt(expected), _MAD_TO_SIGMA * mad, 1.0)


def monthly_pattern(
    day: date, spikes: Mapping[date, object], first: date, max_gap: int
) -> tuple[tuple[date, ...], date]:
    """The earlier spikes on ``day``'s day of month (oldest first) and the next expected one.

    Walks back month by month while at most ``max_gap`` months separate occurrences. On the last
    day of a month every later nominal day (30 on Feb 29 ...) is tried: the longest chain wins,
    the smallest day on a tie.
    """
    last = calendar.monthrange(day.year, day.month)[1]
    best: tuple[tuple[date, ...], int] = ((), day.day)
    for nominal in range(day.day, 32 if day.day == last else day.day + 1):
        seen: list[date] = []
        year, month, gap = day.year, day.month, 0
        while gap < max_gap:
            year, month = _add_months(year, month, -1)
            candidate = on_day_of_month(year, month, nominal)
            if candidate < first:
                break
            gap += 1
            if candidate in spikes:
                seen.append(candidate)
                gap = 0
        if len(seen) > len(best[0]):
            best = (tuple(reversed(seen)), nominal)
    return best[0], on_day_of_month(*_add_months(day.year, day.month, 1), best[1])


def volume_alerts(
    dimension: str,
    key: str,
    counts: Mapping[date, int],
    start: date,
    end: date,
    options: AlertOptions = DEFAULT_OPTIONS,
) -> tuple[VolumeAlert, ...]:
    """Days in [start, end] whose count is far above the expected level, in day order.

    ``counts`` holds every day with calls, history before ``start`` included (days missing from it
    had 0 calls; the series starts at ``min(counts)``, and days before it are not judged nor
    counted in any history). Spikes before ``start`` are found too, to exclude them from later
    baselines and to recognise monthly patterns, but not returned.
    """
    if not counts or end < start:
        return ()
    first = min(counts)
    spikes: dict[date, VolumeAlert] = {}
    day = first
    while day <= end:
        level = baseline(counts, first, day, spikes, options)
        count = counts.get(day, 0)
        if level is not None:
            expected, scale = level
            score = (count - expected) / scale
            if (
                count >= options.min_count
                and count >= options.min_ratio * expected - _EPS
                and score >= options.z - _EPS
            ):
                seen, next_expected = monthly_pattern(day, spikes, first, options.monthly_max_gap)
                monthly = len(seen) + 1 >= options.monthly_min_repeats
                spikes[day] = VolumeAlert(
                    dimension,
                    key,
                    day,
                    count,
                    expected,
                    score,
                    MONTHLY if monthly else None,
                    seen if monthly else (),
                    next_expected if monthly else None,
                )
        day += timedelta(days=1)
    alerts = tuple(alert for alert in spikes.values() if alert.day >= start)
    logger.debug("volume alerts %s=%s: %d in %s..%s", dimension, key, len(alerts), start, end)
    return alerts


def rate_alerts(
    dimension: str,
    key: str,
    outcomes: Sequence[tuple[date, bool]],
    start: date,
    end: date,
    metric: str,
    options: AlertOptions = DEFAULT_OPTIONS,
) -> tuple[RateAlert, ...]:
    """At most one alert: the rate of the last ``recent_days`` days up to ``end`` (from ``start``
    at the earliest) against every call before them, history included.

    ``outcomes`` is (day, hit) per call: hit is a negative emotion, or a failure. Calls after
    ``end`` are ignored.
    """
    if end < start:
        return ()
    recent_start = max(start, end - timedelta(days=options.recent_days - 1))
    hits = calls = baseline_hits = baseline_calls = 0
    for day, hit in outcomes:
        if day > end:
            continue
        if day >= recent_start:
            calls += 1
            hits += int(hit)
        else:
            baseline_calls += 1
            baseline_hits += int(hit)
    if calls < options.min_calls or baseline_calls < options.min_calls:
        return ()
    rate, baseline_rate = hits / calls, baseline_hits / baseline_calls
    pooled = (hits + baseline_hits) / (calls + baseline_calls)
    variance = pooled * (1 - pooled) * (1 / calls + 1 / baseline_calls)
    if variance <= 0:  # every call hit, or none: nothing changed
        return ()
    score = (rate - baseline_rate) / math.sqrt(variance)
    if rate - baseline_rate < options.rate_margin - _EPS or score < options.rate_z - _EPS:
        return ()
    alert = RateAlert(
        dimension, key, metric, recent_start, end, rate, calls, baseline_rate, baseline_calls, score
    )
    logger.debug("rate alert %s=%s %s: %.3f vs %.3f", dimension, key, metric, rate, baseline_rate)
    return (alert,)
