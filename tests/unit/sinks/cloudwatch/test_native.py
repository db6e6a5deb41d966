"""Native histograms as CloudWatch distributions (issue 16): bucket increases through the state,
geometric midpoints as values, at most 150 values per datum with neighbouring buckets merged."""

from __future__ import annotations

import math
from dataclasses import replace

from scrape_push.histogram import compact
from scrape_push.model import Family, NativeHistogram, Sample
from scrape_push.sinks.cloudwatch.native import native_distribution

from tests.support.cloudwatch import BASE, NOW_MS, config, convert, points

FAMILY = Family("lat_seconds", "histogram")
LABELS = tuple(sorted(BASE.items()))


def _value(
    schema: int, positive: dict[int, int], negative: dict[int, int] | None = None, zero: int = 0
) -> NativeHistogram:
    p_spans, p_counts = compact(sorted(positive.items()))
    n_spans, n_counts = compact(sorted((negative or {}).items()))
    count = sum(positive.values()) + sum((negative or {}).values()) + zero
    return NativeHistogram(count, float(count), schema, 1e-9, zero, p_spans, p_counts, n_spans, n_counts)


def _sample(value: NativeHistogram, ts: int = NOW_MS) -> Sample:
    return Sample("lat_seconds", LABELS, math.nan, ts, FAMILY, 1, histogram=value)


def _datums(before: NativeHistogram, after: NativeHistogram) -> list[dict[str, object]]:
    cfg = config()
    previous = points([_sample(before, NOW_MS - 60_000)], cfg)
    return [datum.payload for datum in convert([_sample(after)], cfg, previous).datums]


def test_the_increase_of_each_bucket_is_sent_at_its_geometric_midpoint() -> None:
    before = _value(0, {1: 2, 2: 5}, {1: 1}, zero=1)
    after = _value(0, {1: 3, 2: 5, 4: 2}, {1: 4}, zero=3)  # bucket 4 is new: it counts from 0
    (datum,) = _datums(before, after)
    assert datum["MetricName"] == "lat_seconds"
    assert datum["Values"] == [-(2**0.5), 0.0, 2**0.5, 2**3.5]
    assert datum["Counts"] == [3.0, 2.0, 1.0, 2.0]


def test_a_reset_counts_from_zero_and_first_sight_sends_nothing() -> None:
    before = _value(0, {1: 10})
    after = _value(0, {1: 4})
    (datum,) = _datums(before, after)
    assert (datum["Values"], datum["Counts"]) == ([2**0.5], [4.0])
    assert convert([_sample(after)], config()).dropped == {"first_sight": 1}


def test_a_changed_schema_sends_nothing() -> None:
    assert convert(
        [_sample(_value(1, {1: 1}))],
        config(),
        points([_sample(_value(0, {1: 1}), NOW_MS - 60_000)], config()),
    ).dropped == {"layout_changed": 1}


def test_more_than_150_buckets_are_merged_with_their_neighbours() -> None:
    many = _value(8, dict.fromkeys(range(1, 1001), 1))
    values, counts, count, _ = native_distribution(*_point(many))
    assert len(values) <= 150 and sum(counts) == 1000 == count
    assert values == sorted(values)


def _point(value: NativeHistogram) -> tuple[str, tuple[float, ...]]:
    (point,) = points([_sample(value)], config()).values()
    return point.layout, point.values


def test_a_gauge_histogram_is_sent_as_it_is() -> None:
    gauge = replace(_value(0, {1: 2}), gauge=True)
    result = convert([_sample(gauge)], config())
    (datum,) = [d.payload for d in result.datums]
    assert (datum["Values"], datum["Counts"]) == ([2**0.5], [2.0])


def test_a_hostile_bucket_index_cannot_overflow_the_values() -> None:
    values, _, _, _ = native_distribution(*_point(_value(-4, {2**30: 1})))
    assert values == [2.0**1023]


def test_a_cycle_whose_first_output_is_a_distribution_converts() -> None:
    # Before issue 16 the first distribution of a cycle read a value no output had set yet.
    cfg = config(histograms="distribution")
    family = Family("h", "histogram")

    def classic(count: float, ts: int) -> list[Sample]:
        return [
            Sample("h_bucket", (*LABELS, ("le", "1")), count, ts, family, 1),
            Sample("h_bucket", (*LABELS, ("le", "+Inf")), count, ts, family, 2),
            Sample("h_count", LABELS, count, ts, family, 3),
            Sample("h_sum", LABELS, count, ts, family, 4),
        ]

    previous = points(classic(1, NOW_MS - 60_000), cfg)
    (datum,) = [d.payload for d in convert(classic(3, NOW_MS), cfg, previous).datums]
    assert (datum["Values"], datum["Counts"]) == ([0.5], [2.0])
