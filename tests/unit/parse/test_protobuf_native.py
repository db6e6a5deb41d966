"""Native histograms in the protobuf exposition (issue 16): read as Prometheus reads them with
``scrape_native_histograms``, classic parts with ``always_scrape_classic_histograms``, refused
when their buckets do not add up, and kept warm through the series cache."""

from __future__ import annotations

import math

import pytest
from scrape_push.model import NativeHistogram, Sample
from scrape_push.parse import PROTOBUF, Histograms, ParseError
from scrape_push.parse.protohist import MAX_NATIVE_BUCKETS
from scrape_push.scrape import SeriesCache

from tests.support.protobuf import (
    CONTENT_TYPE,
    GAUGE_HISTOGRAM,
    HISTOGRAM,
    delimited,
    exemplar,
    family,
    histogram,
    message,
    metric,
    native_part,
    packed_sint,
    sint,
    uint,
)

NATIVE = Histograms(native=True)
BOTH = Histograms(native=True, classic=True)

INTEGER = histogram(
    12,
    3.5,
    [(0.5, 4), (1.0, 9)],
    native=native_part(3, 2**-128, 2, positive=[(-1, [2, 3]), (2, [2])], negative=[(-2, [1, 2])]),
)
"""Research notes §9.4's integer example (as 2.42 sent it on: the same spans and deltas)."""
INTEGER_VALUE = NativeHistogram(
    count=12,
    sum=3.5,
    schema=3,
    zero_threshold=2**-128,
    zero_count=2,
    positive_spans=((-1, 2), (2, 1)),
    positive=(2, 3, 2),
    negative_spans=((-2, 2),),
    negative=(1, 2),
)
FLOAT = histogram(
    0,
    7.25,
    count_float=10.5,
    native=native_part(0, 0.001, 1.5, positive=[(0, [1.0, 3.0, 5.0])], floats=True),
)


def read(body: bytes, histograms: Histograms = NATIVE, cache: SeriesCache | None = None) -> list[Sample]:
    cache = SeriesCache() if cache is None else cache
    return [s for chunk in cache.read(body, CONTENT_TYPE, 1, histograms=histograms) for s in chunk]


def test_an_integer_native_histogram_is_one_series_with_absolute_counts() -> None:
    (sample,) = read(delimited(family("h", HISTOGRAM, [metric({"a": "1"}, histogram=INTEGER)])))
    assert (sample.name, sample.labels, sample.histogram) == ("h", (("a", "1"),), INTEGER_VALUE)
    assert math.isnan(sample.value)
    assert all(isinstance(count, int) for count in (*INTEGER_VALUE.positive, INTEGER_VALUE.count))


def test_a_float_native_histogram_keeps_its_float_counts() -> None:
    (sample,) = read(delimited(family("f", HISTOGRAM, [metric(histogram=FLOAT)])))
    assert sample.histogram == NativeHistogram(
        count=10.5,
        sum=7.25,
        schema=0,
        zero_threshold=0.001,
        zero_count=1.5,
        positive_spans=((0, 3),),
        positive=(1.0, 3.0, 5.0),
        floats=True,
    )


def test_classic_parts_follow_the_native_series_when_asked_for() -> None:
    body = delimited(family("h", HISTOGRAM, [metric(histogram=INTEGER)]))
    names = [(s.name, s.label("le"), s.histogram is not None) for s in read(body, BOTH)]
    assert names == [
        ("h", None, True),
        ("h_count", None, False),
        ("h_sum", None, False),
        ("h_bucket", "0.5", False),
        ("h_bucket", "1.0", False),
        ("h_bucket", "+Inf", False),
    ]


def test_without_native_histograms_the_classic_part_is_read() -> None:
    body = delimited(family("h", HISTOGRAM, [metric(histogram=INTEGER)]))
    assert [s.name for s in read(body, Histograms())] == [
        "h_count",
        "h_sum",
        "h_bucket",
        "h_bucket",
        "h_bucket",
    ]


def test_the_first_metric_decides_for_its_family_as_in_prometheus() -> None:
    classic = histogram(1, 1.0, [(1.0, 1)])
    native_first = delimited(
        family("h", HISTOGRAM, [metric({"i": "1"}, histogram=INTEGER), metric({"i": "2"}, histogram=classic)])
    )
    assert [s.name for s in read(native_first)] == ["h", "h"]
    classic_first = delimited(
        family("h", HISTOGRAM, [metric({"i": "2"}, histogram=classic), metric({"i": "1"}, histogram=INTEGER)])
    )
    assert [s.name for s in read(classic_first)][:3] == ["h_count", "h_sum", "h_bucket"]


def test_a_no_op_span_makes_an_empty_histogram_native() -> None:
    empty = histogram(0, 0.0, native=message(12, sint(1, 0) + uint(2, 0)))
    (sample,) = read(delimited(family("h", HISTOGRAM, [metric(histogram=empty)])))
    assert sample.histogram == NativeHistogram(count=0, sum=0.0, schema=0)


def test_empty_buckets_are_compacted_away() -> None:
    native = native_part(1, 0.0, 0, positive=[(3, [1, 0, 0, 2]), (0, [4])])
    (sample,) = read(delimited(family("h", HISTOGRAM, [metric(histogram=histogram(7, 1.0, native=native))])))
    assert (sample.histogram.positive_spans, sample.histogram.positive) == (((3, 1), (2, 2)), (1, 2, 4))


def test_a_gauge_histogram_is_marked_gauge() -> None:
    (sample,) = read(delimited(family("g", GAUGE_HISTOGRAM, [metric(histogram=INTEGER)])))
    assert sample.histogram.gauge and sample.family.type == "gaugehistogram"


def test_the_exemplar_is_the_first_with_a_timestamp() -> None:
    native = (
        INTEGER + message(16, exemplar({"t": "no"}, 1.0)) + message(16, exemplar({"t": "yes"}, 2.0, 3_000))
    )
    (sample,) = read(delimited(family("h", HISTOGRAM, [metric(histogram=native)])))
    assert (sample.exemplar.labels, sample.exemplar.timestamp_ms) == ((("t", "yes"),), 3_000)


def test_a_warm_scrape_keeps_the_ref_and_reads_new_counts() -> None:
    cache = SeriesCache()
    first = read(delimited(family("h", HISTOGRAM, [metric(histogram=INTEGER)])), cache=cache)
    more = histogram(13, 4.0, native=native_part(3, 2**-128, 3, positive=[(-1, [2, 3]), (2, [2])]))
    second = read(delimited(family("h", HISTOGRAM, [metric(histogram=more)])), cache=cache)
    assert first[0].series == second[0].series and cache.added == 0
    assert (second[0].histogram.count, second[0].histogram.zero_count) == (13, 3)


def test_switching_native_histograms_on_starts_the_cache_afresh() -> None:
    cache = SeriesCache()
    body = delimited(family("h", HISTOGRAM, [metric(histogram=INTEGER)]))
    classic = read(body, Histograms(), cache)
    native = read(body, NATIVE, cache)
    assert native[0].series not in {s.series for s in classic}
    assert len(cache.take_retired()) == len(classic)


def test_the_format_with_options_equals_itself() -> None:
    assert PROTOBUF.configured(NATIVE) == PROTOBUF.configured(NATIVE) != PROTOBUF
    assert PROTOBUF.configured(Histograms()) is PROTOBUF


def _bad(native: bytes) -> bytes:
    return delimited(family("h", HISTOGRAM, [metric(histogram=histogram(1, 1.0, native=native))]))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (_bad(native_part(53, 0.1, 0)), "native histogram schema 53 is out of range [-4, 52]"),
        (_bad(native_part(-5, 0.1, 0)), "native histogram schema -5 is out of range [-4, 52]"),
        (
            _bad(native_part(0, 0.1, 0, positive=[(2, [1]), (-3, [0])])),
            "bucket span 2 has a negative offset -3",
        ),
        (_bad(native_part(0, 0.1, 1, positive=[(2, [1])])), "count 1 is less than its buckets' 2"),
        (
            _bad(native_part(0, 0.1, 0) + message(12, sint(1, 0) + uint(2, 3)) + packed_sint(13, [1])),
            "spans need 3 buckets, have 1",
        ),
        (
            _bad(native_part(0, 0.1, 0, positive=[(0, [1])]) + packed_sint(13, [5])),
            "spans need 1 buckets, have 2",
        ),
        (
            _bad(native_part(0, 0.1, 0) + message(12, sint(1, 0) + uint(2, 2)) + packed_sint(13, [3, -4])),
            "a bucket count is negative",
        ),
        (_bad(native_part(0, 0.1, 1.0, positive=[(0, [-1.0])], floats=True)), "count is negative or NaN"),
        (
            _bad(native_part(0, 0.1, 0) + message(12, sint(1, 0) + uint(2, MAX_NATIVE_BUCKETS + 1))),
            "more than 65536 buckets",
        ),
        (_bad(native_part(0, 0.1, 0) + message(14, b"\x00" * 7)), "not a multiple of 8"),
    ],
)
def test_a_native_histogram_whose_buckets_do_not_add_up_is_refused(body: bytes, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        read(body)
    assert reason in caught.value.reason


def test_a_finer_schema_than_8_is_reduced_to_8_as_prometheus_3_appends_it() -> None:
    """Schemas 9 to 52 are valid exponential schemas Prometheus 3.x reduces to 8 (2.42 keeps the
    scrape and stores a histogram it cannot query): buckets 2^(i/2^s) merge into schema 8's."""
    native = native_part(10, 0.1, 0, positive=[(1, [1, 2, 3, 4, 5])])  # indexes 1..5 at schema 10
    (sample,) = read(delimited(family("h", HISTOGRAM, [metric(histogram=histogram(15, 1.0, native=native))])))
    assert sample.histogram is not None
    assert (sample.histogram.schema, sample.histogram.positive_spans, sample.histogram.positive) == (
        8,
        ((1, 2),),  # schema 8's index ((i - 1) >> 2) + 1: 1..4 -> 1, 5 -> 2
        (10, 5),
    )
