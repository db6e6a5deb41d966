"""Histogram buckets as CloudWatch Values/Counts, with documented representative values."""

from __future__ import annotations

import math

import pytest
from scrape_push.sinks.cloudwatch.histograms import (
    chunks,
    distribution,
    parse_bound,
    representatives,
    within_range,
)
from scrape_push.sinks.cloudwatch.limits import MAX_ABS_VALUE

INF = math.inf

REPRESENTATIVES = {
    "midpoints, first bucket from 0, +Inf at the last finite bound": (
        [0.1, 1.0, 10.0, INF],
        None,
        [0.05, 0.55, 5.5, 10.0],
    ),
    "first bucket at or below zero keeps its bound": ([-1.0, 0.0, 1.0, INF], None, [-1.0, -0.5, 0.5, 1.0]),
    "only +Inf: the interval's mean, never an invented value": ([INF], 2.5, [2.5]),
    "only +Inf and no observations: nothing": ([INF], None, [None]),
}


@pytest.mark.parametrize("bounds,mean,expected", REPRESENTATIVES.values(), ids=REPRESENTATIVES.keys())
def test_representatives(bounds: list[float], mean: float | None, expected: list[float | None]) -> None:
    assert representatives(bounds, mean) == expected


def test_distribution_un_accumulates_and_leaves_out_empty_buckets() -> None:
    values, counts = distribution([0.1, 1.0, 10.0, INF], [4.0, 4.0, 9.0, 10.0])
    assert values == [0.05, 5.5, 10.0]
    assert counts == [4.0, 5.0, 1.0]
    assert sum(counts) == 10.0  # SampleCount is the +Inf bucket's (= _count's) increase


def test_an_inconsistent_bucket_is_empty_not_negative() -> None:
    assert distribution([1.0, 2.0, INF], [5.0, 3.0, 6.0]) == ([0.5, 2.0], [5.0, 1.0])


def test_chunks_of_at_most_150_values() -> None:
    values = [float(i) for i in range(400)]
    parts = list(chunks(values, [1.0] * 400))
    assert [len(v) for v, _ in parts] == [150, 150, 100]
    assert [x for v, _ in parts for x in v] == values


@pytest.mark.parametrize(
    "le,bound", [("0.5", 0.5), ("+Inf", INF), ("1e3", 1000.0), ("x", None), ("NaN", None)]
)
def test_parse_bound(le: str, bound: float | None) -> None:
    assert parse_bound(le) == bound


RANGES = {
    "in range: unchanged": ([-1.0, 0.0, 0.5], [1.0, 2.0, 3.0], ([-1.0, 0.0, 0.5], [1.0, 2.0, 3.0], False)),
    "beyond 2^360 either way: clamped": (
        [-(2.0**400), 1.0, 2.0**361],
        [1.0, 1.0, 1.0],
        ([-MAX_ABS_VALUE, 1.0, MAX_ABS_VALUE], [1.0, 1.0, 1.0], True),
    ),
    "clamped onto each other: merged": ([2.0**370, 2.0**380], [1.0, 2.0], ([MAX_ABS_VALUE], [3.0], True)),
    "below 2^-360: zero, merged with zero": (
        [0.0, 2.0**-400, 1.0],
        [1.0, 1.0, 1.0],
        ([0.0, 1.0], [2.0, 1.0], True),
    ),
    "a count below 2^-360: an empty bucket": ([1.0, 2.0], [1e-300, 1.0], ([2.0], [1.0], False)),
}


@pytest.mark.parametrize("values,counts,expected", RANGES.values(), ids=RANGES.keys())
def test_distributions_are_kept_inside_cloudwatchs_range(
    values: list[float], counts: list[float], expected: tuple[list[float], list[float], bool]
) -> None:
    assert within_range(values, counts) == expected


@pytest.mark.parametrize("counts", [[2e300, 1.0], [MAX_ABS_VALUE, MAX_ABS_VALUE]], ids=["one", "merged"])
def test_a_count_beyond_2_360_cannot_be_sent(counts: list[float]) -> None:
    assert within_range([2.0**400, 2.0**500], counts) is None
