"""A native histogram's conversion to an exponential histogram's content, rule by rule of the
compatibility specification ("Native Histograms"), and its bound on the dense expansion."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scrape_push.histogram import indexed
from scrape_push.model import NativeHistogram
from scrape_push.sinks.otlp.exponential import MAX_DENSE_BUCKETS, Exponential, Side, convert, index_range


def native(**fields: object) -> NativeHistogram:
    base: dict[str, object] = {"count": 0, "sum": 0.0, "schema": 0}
    return NativeHistogram(**{**base, **fields})  # type: ignore[arg-type]


def converted(histogram: NativeHistogram) -> Exponential:
    found = convert(histogram)
    assert isinstance(found, Exponential), found
    return found


def test_spans_become_an_offset_one_lower_and_dense_counts_with_zeros_in_the_gaps() -> None:
    found = converted(
        native(
            count=12,
            sum=3.5,
            schema=3,
            zero_threshold=1e-9,
            zero_count=2,
            positive_spans=((2, 2), (3, 1)),  # buckets 2, 3, then 7
            positive=(1, 4, 2),
            negative_spans=((-1, 1),),
            negative=(3,),
        )
    )
    assert found == Exponential(
        scale=3,
        count=12,
        sum=3.5,
        zero_count=2,
        zero_threshold=1e-9,
        positive=Side(1, (1, 4, 0, 0, 0, 2)),
        negative=Side(-2, (3,)),
    )


def test_the_count_is_the_zero_count_plus_the_buckets_not_the_exposed_count() -> None:
    # a NaN observation counts in Prometheus's count but in no bucket: OTLP's must add up
    found = converted(native(count=5, zero_count=1, positive_spans=((0, 1),), positive=(3,)))
    assert found.count == 4


def test_buckets_outside_the_range_of_a_double_are_dropped_and_not_counted() -> None:
    low, high = index_range(0)
    found = converted(
        native(
            count=7,
            positive_spans=((low - 1, 1), (0, 1), (high - low - 1, 1), (0, 1)),  # low-1, low, high, high+1
            positive=(1, 2, 3, 1),
        )
    )
    assert found.positive.offset == low - 1 and found.count == 5
    assert (found.positive.counts[0], found.positive.counts[-1]) == (2, 3)


@pytest.mark.parametrize("schema", [-4, -3, -1, 0, 3, 8])
def test_the_range_holds_exactly_the_buckets_of_positive_doubles(schema: int) -> None:
    # bucket i holds (2**e(i-1), 2**e(i)], e(i) = i / 2**schema; a positive double is in [2**-1074, 2**1024)
    low, high = index_range(schema)
    e = lambda index: Fraction(index) / Fraction(2) ** schema  # noqa: E731
    assert e(low) >= -1074 > e(low - 1)  # the lowest holds the smallest subnormal, the one below none
    assert e(high - 1) < 1024 <= e(high)  # the highest holds the largest double, the one above none


def test_spans_far_apart_lower_the_scale_until_the_dense_side_fits() -> None:
    # offsets as large as the protobuf exposition allows: 2**31 - 1 zeros if expanded as they are
    hostile = native(count=2, schema=8, positive_spans=((-250_000, 1), (2**31 - 1, 1)), positive=(1, 1))
    found = converted(hostile)
    assert found.count == 1  # the second bucket is far past the largest double: dropped
    wide = native(count=2, schema=8, positive_spans=((-270_000, 1), (530_000, 1)), positive=(1, 1))
    found = converted(wide)
    assert len(found.positive.counts) <= MAX_DENSE_BUCKETS and found.scale < 8
    assert found.count == 2 and sum(found.positive.counts) == 2


def test_a_histogram_that_fits_keeps_its_resolution() -> None:
    found = converted(native(count=2, schema=8, positive_spans=((0, 1), (4000, 1)), positive=(1, 1)))
    assert found.scale == 8 and len(found.positive.counts) == 4002


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"floats": True, "count": 1.5, "positive_spans": ((0, 1),), "positive": (1.5,)}, "float_histogram"),
        ({"gauge": True}, "gauge_histogram"),
        ({"schema": 9}, "invalid_native_histogram"),
        ({"schema": -5}, "invalid_native_histogram"),
        ({"positive_spans": ((0, 1),), "positive": (2**64,)}, "invalid_native_histogram"),
        ({"positive_spans": ((0, 1),), "positive": (-1,)}, "invalid_native_histogram"),
        ({"positive_spans": ((5, 1), (-3, 1)), "positive": (1, 2)}, "invalid_native_histogram"),
    ],
)
def test_what_the_specification_drops(fields: dict[str, object], reason: str) -> None:
    assert convert(native(**fields)) == reason


spans = st.lists(st.tuples(st.integers(0, 2**31 - 1), st.integers(1, 3)), max_size=6).flatmap(
    lambda found: st.integers(-(2**31), 2**31 - 1).map(
        lambda first: [(first, n) for _, n in found[:1]] + found[1:]
    )
)
"""Spans as Prometheus allows them: the first at any index, the others after a gap of 0 or more."""


@given(
    schema=st.integers(-4, 8),
    positive=spans,
    negative=spans,
    data=st.data(),
)
def test_any_histogram_converts_within_bounds_and_keeps_its_count(
    schema: int, positive: list[tuple[int, int]], negative: list[tuple[int, int]], data: st.DataObject
) -> None:
    def side(found: list[tuple[int, int]]) -> tuple[tuple[tuple[int, int], ...], tuple[int, ...]]:
        counts = data.draw(
            st.lists(
                st.integers(1, 1000), min_size=sum(n for _, n in found), max_size=sum(n for _, n in found)
            )
        )
        return tuple(found), tuple(counts)

    p_spans, p_counts = side(positive)
    n_spans, n_counts = side(negative)
    histogram = native(
        schema=schema, positive_spans=p_spans, positive=p_counts, negative_spans=n_spans, negative=n_counts
    )
    found = converted(histogram)
    low, high = index_range(schema)
    inside = sum(c for i, c in indexed(p_spans, p_counts) if low <= i <= high)
    inside += sum(c for i, c in indexed(n_spans, n_counts) if low <= i <= high)
    assert found.count == inside == sum(found.positive.counts) + sum(found.negative.counts)
    assert len(found.positive.counts) <= MAX_DENSE_BUCKETS and len(found.negative.counts) <= MAX_DENSE_BUCKETS
