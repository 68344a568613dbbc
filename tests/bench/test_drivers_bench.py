"""bench/drivers.py: the offline arrival replays the store's placement rule."""

from __future__ import annotations

import numpy as np

from bench.drivers import arrive, options_from, separation
from pipelines.analytics.drivers import DriverOptions


def _near(axis: int, wobble: float, dims: int = 6) -> np.ndarray:
    vector = np.zeros(dims)
    vector[axis] = 1.0
    vector[(axis + 1) % dims] = wobble
    return vector / np.linalg.norm(vector)


def test_arrival_forms_a_driver_once_three_calls_link_and_then_joins() -> None:
    calls = np.array(
        [_near(0, 0.1), _near(3, 0.0), _near(0, 0.2), _near(0, 0.0), _near(0, 0.3), _near(3, 0.1)]
    )
    placed = arrive(calls, DriverOptions(join=0.8, link=0.8, min_size=3))
    # the third call about axis 0 founds d0 with the two before it; the fourth joins it; the
    # two calls about axis 3 stay unplaced (only two)
    assert placed == [0, None, 0, 0, 0, None]


def test_separation_ranks_same_driver_pairs_above_different_ones() -> None:
    calls = np.array([_near(0, 0.1), _near(0, 0.2), _near(3, 0.1), _near(3, 0.2)])
    figures = separation(calls, ["a", "a", "b", "b"])
    assert figures["auc"] == 1.0
    assert figures["same"] > figures["different"]
    assert separation(calls[:2], ["a", "a"]) == {}


def test_options_from_overrides_by_name() -> None:
    options = options_from(["join=0.5", "min_size=4"])
    assert (options.join, options.min_size, options.link) == (0.5, 4, DriverOptions().link)
