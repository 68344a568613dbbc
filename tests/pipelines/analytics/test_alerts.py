"""Volume and rate alerts on deterministic synthetic series (seeded noise or fixed lists)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from pipelines.analytics.alerts import (
    MONTHLY,
    AlertOptions,
    monthly_pattern,
    on_day_of_month,
    rate_alerts,
    volume_alerts,
)
from pipelines.core.errors import InvalidRequestError


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def poisson(first: date, last: date, lam: float, seed: int) -> dict[date, int]:
    rng = np.random.default_rng(seed)
    return {day: int(rng.poisson(lam)) for day in days(first, last)}


def test_flat_noise_raises_nothing() -> None:
    for seed in range(5):
        counts = poisson(date(2024, 1, 1), date(2024, 3, 30), 20.0, seed)
        assert volume_alerts("driver", "billing", counts, date(2024, 1, 1), date(2024, 3, 30)) == ()


def test_weekday_pattern_raises_nothing() -> None:
    rng = np.random.default_rng(7)
    counts = {
        day: int(rng.poisson(60.0 if day.weekday() == 0 else 20.0))
        for day in days(date(2024, 1, 1), date(2024, 3, 30))
    }
    assert volume_alerts("topic", "returns", counts, date(2024, 1, 1), date(2024, 3, 30)) == ()


def test_monthly_spikes_found_and_recurring() -> None:
    first, last = date(2024, 1, 1), date(2024, 4, 30)
    counts = poisson(first, last, 20.0, 3)
    spike_days = (date(2024, 2, 8), date(2024, 3, 8), date(2024, 4, 8))
    for day in spike_days:
        counts[day] = 120
    alerts = volume_alerts("driver", "billing", counts, first, last)
    assert [alert.day for alert in alerts] == list(spike_days)
    feb, mar, apr = alerts
    assert feb.recurring is None and feb.seen == () and feb.next_expected is None
    assert mar.recurring == MONTHLY and mar.seen == (date(2024, 2, 8),)
    assert mar.next_expected == date(2024, 4, 8)
    assert apr.recurring == MONTHLY and apr.seen == spike_days[:2]
    assert apr.next_expected == date(2024, 5, 8)
    assert all(alert.count == 120 and 15 <= alert.expected <= 25 for alert in alerts)
    # spikes before ``start`` count as earlier occurrences, but are not returned
    later = volume_alerts("driver", "billing", counts, date(2024, 4, 1), last)
    assert later == (apr,)


def test_one_off_spike_exact_numbers() -> None:
    counts = dict.fromkeys(days(date(2024, 1, 1), date(2024, 2, 29)), 10)
    counts[date(2024, 2, 14)] = 60
    (alert,) = volume_alerts("topic", "outage", counts, date(2024, 2, 1), date(2024, 2, 29))
    assert (alert.dimension, alert.key, alert.day, alert.count) == (
        "topic",
        "outage",
        date(2024, 2, 14),
        60,
    )
    assert alert.expected == 10.0 and alert.score == pytest.approx(50 / 10**0.5)
    assert alert.recurring is None and alert.seen == () and alert.next_expected is None
    assert alert.to_dict() == {
        "kind": "volume",
        "dimension": "topic",
        "key": "outage",
        "day": "2024-02-14",
        "count": 60,
        "expected": 10.0,
        "score": 15.811,
        "recurring": None,
        "seen": [],
        "next_expected": None,
    }


def test_spike_left_out_of_later_baselines() -> None:
    counts = dict.fromkeys(days(date(2024, 1, 1), date(2024, 2, 29)), 10)
    counts[date(2024, 1, 24)] = counts[date(2024, 1, 31)] = 60  # two Wednesdays
    alerts = volume_alerts("driver", "promo", counts, date(2024, 1, 1), date(2024, 2, 29))
    assert [(a.day, a.expected) for a in alerts] == [
        (date(2024, 1, 24), 10.0),
        (date(2024, 1, 31), 10.0),  # not 35 (median of 10, 10, 10, 60 with the spike)
    ]


def test_too_short_history_raises_nothing() -> None:
    # two weeks of history: fewer than min_history (3) same-weekday days before each day
    counts = dict.fromkeys(days(date(2024, 3, 1), date(2024, 3, 20)), 10)
    counts[date(2024, 3, 15)] = 100
    assert volume_alerts("driver", "billing", counts, date(2024, 3, 1), date(2024, 3, 20)) == ()
    # days before the first one are not zeros: an empty start date changes nothing
    assert volume_alerts("driver", "billing", counts, date(2024, 1, 1), date(2024, 3, 20)) == ()
    # with a known zero three weeks earlier the same-weekday history suffices
    counts[date(2024, 2, 23)] = 0
    (alert,) = volume_alerts("driver", "billing", counts, date(2024, 3, 1), date(2024, 3, 20))
    assert alert.day == date(2024, 3, 15) and alert.expected == 10.0
    assert volume_alerts("driver", "billing", {}, date(2024, 3, 1), date(2024, 3, 20)) == ()


def test_small_and_modest_rises_raise_nothing() -> None:
    counts = dict.fromkeys(days(date(2024, 1, 1), date(2024, 2, 29)), 1)
    counts[date(2024, 2, 14)] = 4  # 4 sigma on a quiet key, but under min_count
    busy = dict.fromkeys(days(date(2024, 1, 1), date(2024, 2, 29)), 1000)
    busy[date(2024, 2, 14)] = 1500  # 15 sigma, but not twice the level
    assert volume_alerts("driver", "quiet", counts, date(2024, 2, 1), date(2024, 2, 29)) == ()
    assert volume_alerts("driver", "busy", busy, date(2024, 2, 1), date(2024, 2, 29)) == ()


def test_level_shift_becomes_the_baseline() -> None:
    counts = dict.fromkeys(days(date(2024, 1, 1), date(2024, 2, 29)), 10)
    counts.update(dict.fromkeys(days(date(2024, 3, 1), date(2024, 5, 31)), 40))
    alerts = volume_alerts("driver", "app", counts, date(2024, 1, 1), date(2024, 5, 31))
    assert alerts and max(a.day for a in alerts) < date(2024, 3, 29)  # four weeks of each weekday
    assert all(a.recurring is None for a in alerts)  # a plateau is no monthly pattern


def test_month_end_clamping() -> None:
    first, last = date(2023, 12, 1), date(2024, 5, 31)
    counts = dict.fromkeys(days(first, last), 10)
    ends = (date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30))
    for day in ends:
        counts[day] = 80
    alerts = volume_alerts("driver", "statement", counts, first, last)
    assert [a.day for a in alerts] == list(ends)
    jan, feb, mar, apr = alerts
    assert jan.recurring is None
    assert feb.recurring == MONTHLY and feb.seen == ends[:1]
    assert feb.next_expected == date(2024, 3, 31)
    assert mar.seen == ends[:2] and mar.next_expected == date(2024, 4, 30)
    assert apr.seen == ends[:3] and apr.next_expected == date(2024, 5, 31)


def test_monthly_pattern_helpers() -> None:
    assert on_day_of_month(2023, 2, 31) == date(2023, 2, 28)
    assert on_day_of_month(2024, 2, 30) == date(2024, 2, 29)
    spikes = {date(2023, 1, 28): None, date(2023, 3, 28): None}
    # one missed month is allowed, two are not
    assert monthly_pattern(date(2023, 4, 28), spikes, date(2022, 1, 1), 2) == (
        (date(2023, 1, 28), date(2023, 3, 28)),
        date(2023, 5, 28),
    )
    assert monthly_pattern(date(2023, 4, 28), spikes, date(2022, 1, 1), 1) == (
        (date(2023, 3, 28),),
        date(2023, 5, 28),
    )
    assert monthly_pattern(date(2023, 6, 28), spikes, date(2022, 1, 1), 2) == (
        (),
        date(2023, 7, 28),
    )
    # Feb 28 of a common year may continue the 28th or the 31st: the longer chain wins
    ends = {date(2022, 12, 31): None, date(2023, 1, 31): None, date(2023, 1, 28): None}
    assert monthly_pattern(date(2023, 2, 28), ends, date(2022, 1, 1), 2) == (
        (date(2022, 12, 31), date(2023, 1, 31)),
        date(2023, 3, 31),
    )


def outcomes(
    rng: np.random.Generator, first: date, n_days: int, per_day: int, rate: float
) -> list[tuple[date, bool]]:
    return [
        (first + timedelta(days=i), bool(rng.random() < rate))
        for i in range(n_days)
        for _ in range(per_day)
    ]


def fixed(first: date, n_days: int, per_day: int, hits_per_day: int) -> list[tuple[date, bool]]:
    return [
        (first + timedelta(days=i), j < hits_per_day) for i in range(n_days) for j in range(per_day)
    ]


def test_rate_jump_alerts_once() -> None:
    first, end = date(2024, 1, 1), date(2024, 3, 7)
    history = fixed(first, 60, 10, 1)  # 10% over 60 days
    recent = fixed(date(2024, 3, 1), 7, 5, 3)  # 60% over the last 7 days
    (alert,) = rate_alerts(
        "agent", "a-17", history + recent, date(2024, 2, 1), end, "negative_emotion_rate"
    )
    assert (alert.start, alert.end) == (date(2024, 3, 1), end)
    assert alert.rate == pytest.approx(0.6) and alert.calls == 35
    assert alert.baseline_rate == pytest.approx(0.1) and alert.baseline_calls == 600
    pooled = (21 + 60) / 635
    z = 0.5 / (pooled * (1 - pooled) * (1 / 35 + 1 / 600)) ** 0.5
    assert alert.score == pytest.approx(z)
    assert alert.to_dict()["kind"] == "rate" and alert.to_dict()["start"] == "2024-03-01"


def test_rate_jump_with_seeded_noise() -> None:
    rng = np.random.default_rng(11)
    history = outcomes(rng, date(2024, 1, 1), 60, 10, 0.1)
    recent = outcomes(rng, date(2024, 3, 1), 7, 4, 0.6)
    (alert,) = rate_alerts(
        "topic", "returns", history + recent, date(2024, 1, 1), date(2024, 3, 7), "failure_rate"
    )
    assert alert.rate > alert.baseline_rate + 0.2 and alert.score >= 2.58


def test_rate_too_few_calls_or_no_change() -> None:
    first, end = date(2024, 1, 1), date(2024, 3, 7)
    history = fixed(first, 60, 10, 1)
    few = [(date(2024, 3, 5), True)] * 3 + [(date(2024, 3, 6), False)] * 2  # 60% of 5 calls
    assert rate_alerts("agent", "a-17", history + few, first, end, "failure_rate") == ()
    same = fixed(date(2024, 3, 1), 7, 10, 1)  # still 10%
    assert rate_alerts("agent", "a-17", history + same, first, end, "failure_rate") == ()
    none_hit = fixed(first, 67, 10, 0)
    assert rate_alerts("agent", "a-17", none_hit, first, end, "failure_rate") == ()
    # no history: nothing to compare with
    assert rate_alerts("agent", "a-17", fixed(date(2024, 3, 1), 7, 5, 3), first, end, "x") == ()


def test_rate_margin_is_inclusive_and_later_calls_ignored() -> None:
    first, end = date(2024, 1, 1), date(2024, 3, 7)
    history = fixed(first, 60, 10, 1)
    recent = fixed(date(2024, 3, 1), 7, 10, 3)  # 30%: a rise of exactly 0.2
    later = fixed(date(2024, 3, 8), 7, 10, 10)
    (alert,) = rate_alerts("driver", "billing", history + recent + later, first, end, "m")
    assert alert.rate == pytest.approx(0.3) and alert.calls == 70
    strict = AlertOptions(rate_margin=0.21)
    assert rate_alerts("driver", "billing", history + recent, first, end, "m", strict) == ()


def test_options_validated() -> None:
    with pytest.raises(InvalidRequestError):
        AlertOptions(min_history=9)
    with pytest.raises(InvalidRequestError):
        AlertOptions(monthly_min_repeats=1)
    with pytest.raises(InvalidRequestError):
        AlertOptions(recent_days=0)
