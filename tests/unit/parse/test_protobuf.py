"""The protobuf exposition (issue 16): the series Prometheus ingests for each type, the same
samples as the equivalent text, warm scrapes through the series cache, invalid messages
refused with the byte offset, bounded chunks, and fuzzing (truncated and mutated messages)."""

from __future__ import annotations

import math
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scrape_push.limits import MemoryBudgetExceeded, ScrapeBudget
from scrape_push.model import Sample
from scrape_push.parse import PROTOBUF, Histograms, ParseError, format_for, protobuf
from scrape_push.parse.protobuf import format_float
from scrape_push.protowire import varint
from scrape_push.scrape import SeriesCache

from tests.support.parsing import parse_chunks, parse_exposition
from tests.support.protobuf import (
    CONTENT_TYPE,
    COUNTER,
    GAUGE,
    GAUGE_HISTOGRAM,
    HISTOGRAM,
    SUMMARY,
    UNTYPED,
    delimited,
    double,
    exemplar,
    family,
    histogram,
    message,
    metric,
    native_part,
    string,
    summary,
    uint,
)
from tests.unit.parse.test_fuzz import outcome, snapshot

TEXT = "text/plain; version=0.0.4"
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
"""Bounded: a few seconds a test."""

EVERY_TYPE = delimited(
    family(
        "req_total",
        COUNTER,
        [
            metric({"code": "200", "path": "/a"}, counter=7),
            metric({"code": "500", "empty": ""}, counter=1.5, timestamp_ms=1_700_000_000_123),
        ],
        help_="Requests.",
    ),
    family("temp_celsius", GAUGE, [metric(gauge=-21.5)], unit="celsius"),
    family("u", UNTYPED, [metric({"x": 'q"\\\n'}, untyped=math.inf)]),
    family("lat", SUMMARY, [metric({"a": "b"}, summary=summary(3, 1.5, [(0.5, 0.2), (0.99, 1.0)]))]),
    family("nothing", SUMMARY, [metric(summary=summary(0, 0, []))]),
    family(
        "h", HISTOGRAM, [metric({"a": "1"}, histogram=histogram(10, 5.0, [(0.1, 1), (1e6, 5), (1e-5, 9)]))]
    ),
    family("hi", HISTOGRAM, [metric(histogram=histogram(4, 2.0, [(1, 2), (math.inf, 4)]))]),
    family("empty_family", GAUGE, []),
)
EVERY_TYPE_TEXT = b"""\
# HELP req_total Requests.
# TYPE req_total counter
req_total{code="200",path="/a"} 7
req_total{code="500",empty=""} 1.5 1700000000123
# TYPE temp_celsius gauge
temp_celsius -21.5
# TYPE u untyped
u{x="q\\"\\\\\\n"} +Inf
# TYPE lat summary
lat_count{a="b"} 3
lat_sum{a="b"} 1.5
lat{a="b",quantile="0.5"} 0.2
lat{a="b",quantile="0.99"} 1
# TYPE nothing summary
nothing_count 0
nothing_sum 0
# TYPE h histogram
h_count{a="1"} 10
h_sum{a="1"} 5
h_bucket{a="1",le="0.1"} 1
h_bucket{a="1",le="1e+06"} 5
h_bucket{a="1",le="1e-05"} 9
h_bucket{a="1",le="+Inf"} 10
# TYPE hi histogram
hi_count 4
hi_sum 2
hi_bucket{le="1.0"} 2
hi_bucket{le="+Inf"} 4
"""
"""What Prometheus ingests for ``EVERY_TYPE``, written as text 0.0.4 (``le`` and ``quantile`` as
Prometheus's ``formatOpenMetricsFloat`` writes them; checked on Prometheus 2.42 by
tests/integration/prometheus_proto)."""


def _view(samples: list[object]) -> list[tuple[object, ...]]:
    return [
        (s.name, s.labels, repr(s.value), s.timestamp_ms, s.family.name, s.family.type, s.exemplar)  # type: ignore[attr-defined]
        for s in samples
    ]


def test_every_type_reads_as_its_text_exposition() -> None:
    proto = parse_exposition(EVERY_TYPE, CONTENT_TYPE)
    text = parse_exposition(EVERY_TYPE_TEXT, TEXT)
    assert _view(proto) == _view(text)  # type: ignore[arg-type]
    assert {s.family.unit for s in proto if s.family.name == "temp_celsius"} == {"celsius"}


def test_every_type_reads_as_its_text_exposition_through_a_series_cache() -> None:
    proto = parse_exposition(EVERY_TYPE, CONTENT_TYPE, SeriesCache())
    text = parse_exposition(EVERY_TYPE_TEXT, TEXT, SeriesCache())
    assert _view(proto) == _view(text)  # type: ignore[arg-type]


def test_the_format_is_registered_by_media_type() -> None:
    assert format_for(CONTENT_TYPE) is PROTOBUF
    assert format_for("Application/Vnd.Google.Protobuf") is PROTOBUF


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (1.0, "1.0"),
        (-1.0, "-1.0"),
        (0.25, "0.25"),
        (100.0, "100.0"),
        (999999.0, "999999.0"),
        (1e6, "1e+06"),
        (2.5e6, "2.5e+06"),
        (1e21, "1e+21"),
        (1e-4, "0.0001"),
        (1.5e-5, "1.5e-05"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (0.1 + 0.2, "0.30000000000000004"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (math.nan, "NaN"),
    ],
)
def test_le_and_quantile_are_formatted_as_prometheus_formats_them(value: float, text: str) -> None:
    assert format_float(value) == text


def test_exemplars_come_from_counters_and_classic_buckets() -> None:
    body = delimited(
        family(
            "c_total",
            COUNTER,
            [metric(counter=2, counter_exemplar=exemplar({"trace_id": "t1", "empty": ""}, 1.0, 1_500))],
        ),
        family(
            "h",
            HISTOGRAM,
            [
                metric(
                    histogram=histogram(
                        2, 1.0, [(0.5, 1), (1.0, 2)], bucket_exemplars={1: exemplar({"t": "2"}, 0.7)}
                    )
                )
            ],
        ),
    )
    found = [(s.name, s.label("le"), s.exemplar) for s in parse_exposition(body, CONTENT_TYPE, SeriesCache())]  # type: ignore[union-attr]
    assert [(name, le, e and (e.labels, e.value, e.timestamp_ms)) for name, le, e in found] == [
        ("c_total", None, ((("trace_id", "t1"),), 1.0, 1_500)),
        ("h_count", None, None),
        ("h_sum", None, None),
        ("h_bucket", "0.5", None),
        ("h_bucket", "1.0", ((("t", "2"),), 0.7, None)),
        ("h_bucket", "+Inf", None),
    ]


def test_float_counts_of_a_classic_histogram_are_read_as_prometheus_3_reads_them() -> None:
    body = delimited(
        family("h", HISTOGRAM, [metric(histogram=histogram(0, 1.0, [(1.0, 0)], count_float=2.5))])
    )
    assert [(s.name, s.value) for s in parse_exposition(body, CONTENT_TYPE)] == [
        ("h_count", 2.5),
        ("h_sum", 1.0),
        ("h_bucket", 0.0),
        ("h_bucket", 2.5),
    ]


def test_a_native_histogram_is_read_by_its_classic_part_without_native_histograms() -> None:
    native = native_part(3, 1e-9, 2, positive=[(-1, [2, 3])], negative=[(0, [1])])
    body = delimited(family("n", HISTOGRAM, [metric(histogram=histogram(8, 3.5, native=native))]))
    assert [(s.name, s.labels, s.value) for s in parse_exposition(body, CONTENT_TYPE)] == [
        ("n_count", (), 8.0),
        ("n_sum", (), 3.5),
        ("n_bucket", (("le", "+Inf"),), 8.0),
    ]


def test_a_gauge_histogram_gets_the_histogram_suffixes_as_in_prometheus_3() -> None:
    body = delimited(family("g", GAUGE_HISTOGRAM, [metric(histogram=histogram(1, 1.0, [(1, 1)]))]))
    samples = parse_exposition(body, CONTENT_TYPE)
    assert [(s.name, s.family.type) for s in samples] == [
        ("g_count", "gaugehistogram"),
        ("g_sum", "gaugehistogram"),
        ("g_bucket", "gaugehistogram"),
        ("g_bucket", "gaugehistogram"),
    ]


def test_created_timestamps_are_checked_and_not_ingested_as_in_prometheus() -> None:
    body = delimited(family("c_total", COUNTER, [metric(counter=1, created_ms=1_000)]))
    assert [s.name for s in parse_exposition(body, CONTENT_TYPE)] == ["c_total"]


def test_a_warm_scrape_reuses_every_series_without_decoding_labels() -> None:
    cache = SeriesCache()
    first = cache.samples(EVERY_TYPE, CONTENT_TYPE, 1_000)
    chunks = list(PROTOBUF.chunks(EVERY_TYPE, cache.entries, dict(cache.families)))
    assert all(not chunk.parsed.at for chunk in chunks)
    second = cache.samples(EVERY_TYPE, CONTENT_TYPE, 2_000)
    assert [s.series for s in second] == [s.series for s in first]
    assert all(a.labels is b.labels for a, b in zip(first, second, strict=True))
    assert cache.added == 0


def test_a_changed_help_text_gives_its_series_new_refs() -> None:
    cache = SeriesCache()
    before = cache.samples(delimited(family("g", GAUGE, [metric(gauge=1)], help_="a")), CONTENT_TYPE, 1)
    after = cache.samples(delimited(family("g", GAUGE, [metric(gauge=1)], help_="b")), CONTENT_TYPE, 2)
    assert before[0].series != after[0].series
    assert cache.take_retired() == [before[0].series]


def test_a_switch_from_text_starts_the_cache_afresh_and_the_same_series_keeps_its_ref() -> None:
    cache = SeriesCache()
    text = cache.samples(b"g 1\n", TEXT, 1)
    (entry,) = cache.entries.values()
    proto = cache.samples(delimited(family("g", UNTYPED, [metric(untyped=1)])), CONTENT_TYPE, 2)
    assert list(cache.entries.values()) != [entry]  # the entries are the new format's
    # One series (name, labels and family) has one ref whatever its format, as with two
    # spellings of its labels: the sinks' memories of it stay right, no marker ends it.
    assert text[0].series == proto[0].series
    assert cache.take_retired() == []


def _metric_field(payload: bytes) -> bytes:
    return message(4, payload)


INVALID = [
    (b"\x80\x80\x80\x80\x80\x01", "metric family 1: truncated varint", 0),
    (
        b"\xff\xff\xff\xff\x0f",
        "metric family 1: message of 4294967295 bytes runs past the end of the body",
        0,
    ),
    (b"\x06\x0a\x03abc", "metric family 1: message of 6 bytes runs past the end of the body", 0),
    (
        delimited(string(1, "1a") + uint(3, 1) + _metric_field(b"")),
        "metric family 1: invalid metric name '1a'",
        1,
    ),
    (
        delimited(string(1, "a") + uint(3, 9) + _metric_field(b"")),
        "metric family 1: a: unknown metric type 9",
        1,
    ),
    (
        delimited(string(1, "a") + uint(3, 1) + string(5, "seconds") + _metric_field(b"")),
        "metric family 1: a: unit 'seconds' is not a suffix of the metric name",
        1,
    ),
    (delimited(b"\x0a\x02\xff\xfe" + _metric_field(b"")), "metric family 1: invalid UTF-8 in a string", 3),
    (delimited(string(1, "a") + uint(4, 1)), "metric family 1: metric: wrong wire type 0", 4),
    (delimited(string(1, "a") + b"\x0b"), "metric family 1: field 1: wire type 3 is not supported", 4),
    (delimited(string(1, "a") + b"\x00"), "metric family 1: invalid field number 0", 4),
    (
        delimited(family("a", GAUGE, [metric({"a.b": "1"}, gauge=1)])),
        "metric family 1: invalid label name 'a.b'",
        10,
    ),
    (
        delimited(family("a", GAUGE, [metric({"x": "1"}, gauge=1) + message(1, string(1, "x"))])),
        'metric family 1: label name "x" is not unique',
        29,
    ),
    (
        delimited(family("a", GAUGE, [metric({"__name__": "b"}, gauge=1)])),
        'label name "__name__" is not unique',
        10,
    ),
    (
        delimited(family("h", HISTOGRAM, [metric({"le": "1"}, histogram=histogram(1, 1))])),
        '"le" is not unique',
        10,
    ),
    (delimited(family("s", SUMMARY, [metric({"quantile": "1"}, summary=summary(1, 1, []))])), "quantile", 10),
    (
        delimited(family("a", GAUGE, [message(2, b"\x09\x00")])),
        "metric family 1: field 1: truncated fixed-size",
        10,
    ),
    (
        delimited(family("a", GAUGE, [message(2, uint(1, 5))])),
        "metric family 1: value: wrong wire type 0",
        10,
    ),
    (
        delimited(family("c", COUNTER, [message(3, double(1, 1) + message(3, uint(1, 1 << 62)))])),
        "metric family 1: timestamp 4611686018427387904s is beyond int64 milliseconds",
        21,
    ),
    (
        delimited(family("g", GAUGE, [metric(gauge=1)]), b"\x0a\x01"),
        "metric family 2: field 1: length 1 runs past the end of its message",
        20,
    ),
    (b"\x0b" + b"\xff" * 11, "metric family 1: varint longer than 10 bytes", 1),
]


@pytest.mark.parametrize(("body", "reason", "offset"), INVALID)
def test_invalid_messages_fail_with_the_reason_and_byte_offset(body: bytes, reason: str, offset: int) -> None:
    with pytest.raises(ParseError) as caught:
        parse_exposition(body, CONTENT_TYPE)
    assert reason in caught.value.reason
    assert caught.value.offset == offset
    assert str(caught.value).startswith(f"byte {offset}: metric family")


def test_a_frame_length_prefix_longer_than_five_bytes_is_refused() -> None:
    with pytest.raises(ParseError) as caught:
        parse_exposition(b"\x80\x80\x80\x80\x80\x00", CONTENT_TYPE)
    assert caught.value.reason == "metric family 1: truncated varint"


def test_a_body_of_tiny_metrics_is_yielded_in_bounded_chunks() -> None:
    body = delimited(family("g", GAUGE, [b""] * 100_000))
    sizes = [len(chunk) for chunk in parse_chunks(body, CONTENT_TYPE)]
    assert sum(sizes) == 100_000 and max(sizes) <= protobuf.LINES_PER_CHUNK


def test_one_huge_histogram_is_yielded_in_bounded_chunks() -> None:
    buckets = [(float(i), i) for i in range(50_000)]
    body = delimited(family("h", HISTOGRAM, [metric(histogram=histogram(50_000, 1.0, buckets))]))
    sizes = [len(chunk) for chunk in parse_chunks(body, CONTENT_TYPE)]
    assert sum(sizes) == 50_003 and max(sizes) <= protobuf.LINES_PER_CHUNK


def test_the_memory_budget_stops_a_body_of_tiny_metrics() -> None:
    body = delimited(family("g", GAUGE, [b""] * 200_000))
    cache = SeriesCache()
    with pytest.raises(MemoryBudgetExceeded):
        for _ in cache.read(body, CONTENT_TYPE, 1, budget=ScrapeBudget(max_bytes=1 << 20)):
            pass
    assert len(cache) == 0


# -- fuzzing ------------------------------------------------------------------------------------

LABELS = st.dictionaries(
    st.sampled_from(["a", "b", "le", "x_1", "é", "__name__"]),
    st.sampled_from(["", "1", "é", '"']),
    max_size=3,
)
FLOATS = st.sampled_from([0.0, 1.0, -1.5, 0.1, 1e6, 1e-5, math.inf, -math.inf, math.nan, 5e-324])


@st.composite
def _metric(draw: st.DrawFn, kind: int) -> bytes:
    labels = draw(LABELS)
    stamp = draw(st.sampled_from([None, 0, 1_700_000_000_000, (1 << 64) - 1]))
    value = draw(FLOATS)
    if kind == COUNTER:
        found = draw(st.sampled_from([None, exemplar({"t": "1"}, 1.0, 1_000), exemplar({"t": ""}, 2.0)]))
        return metric(labels, counter=value, counter_exemplar=found, timestamp_ms=stamp)
    if kind == GAUGE:
        return metric(labels, gauge=value, timestamp_ms=stamp)
    if kind == UNTYPED:
        return metric(labels, untyped=value, timestamp_ms=stamp)
    if kind == SUMMARY:
        quantiles = draw(st.lists(st.tuples(FLOATS, FLOATS), max_size=3))
        return metric(labels, summary=summary(draw(st.integers(0, 9)), value, quantiles), timestamp_ms=stamp)
    buckets = draw(st.lists(st.tuples(FLOATS, st.integers(0, 9)), max_size=4))
    native = draw(st.sampled_from(NATIVE_PARTS))
    return metric(
        labels,
        histogram=histogram(draw(st.integers(0, 9)), value, buckets, native=native),
        timestamp_ms=stamp,
    )


NATIVE_PARTS = [
    b"",
    native_part(3, 1e-9, 2, positive=[(-1, [2, 3]), (2, [1])], negative=[(0, [1])]),
    native_part(0, 0.001, 1.5, positive=[(0, [1.0, 0.0, 3.0])], floats=True),
    native_part(-4, 0.0, 0, positive=[(5, [1])]),
    native_part(9, 0.5, 1),
]
"""Native parts for the fuzzed histograms: integer, float, coarse, and an invalid schema."""


@st.composite
def _body(draw: st.DrawFn) -> bytes:
    families = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from([COUNTER, GAUGE, SUMMARY, UNTYPED, HISTOGRAM, GAUGE_HISTOGRAM]))
        name = draw(st.sampled_from(["a", "b_total", "lat", "x:y"]))
        metrics = draw(st.lists(_metric(kind), max_size=3))
        families.append(family(name, kind, metrics, help_=draw(st.sampled_from(["", "h"]))))
    return delimited(*families)


@st.composite
def _mutated(draw: st.DrawFn, data: bytes) -> bytes:
    body = bytearray(data)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(body)))
        kind = draw(st.sampled_from(["insert", "delete", "replace", "truncate", "varint"]))
        if kind == "insert":
            body[at:at] = bytes([draw(st.integers(0, 255))])
        elif kind == "delete":
            del body[at : at + draw(st.integers(1, 4))]
        elif kind == "replace" and at < len(body):
            body[at] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del body[at:]
        elif kind == "varint":
            body[at:at] = varint(draw(st.sampled_from([0, 127, 128, 1 << 31, (1 << 64) - 1])))
    return bytes(body)


def _read(data: bytes, cache: SeriesCache, histograms: Histograms) -> object:
    """The samples (native histograms included), or the error with its offset."""
    try:
        samples = [s for chunk in cache.read(data, CONTENT_TYPE, 1, histograms=histograms) for s in chunk]
    except ParseError as exc:
        return ("error", exc.reason, exc.offset)
    return [(*_sample_view(s), repr(s.histogram)) for s in samples]  # repr: a NaN sum equals itself


def _sample_view(s: Sample) -> tuple[object, ...]:
    value = "NaN" if math.isnan(s.value) else repr(s.value)
    return (s.name, s.labels, value, s.timestamp_ms, s.family, s.exemplar)


@pytest.mark.once  # long, interpreter-independent: not run again on 3.13
@FUZZ
@given(st.data(), st.sampled_from([Histograms(), Histograms(native=True), Histograms(True, True)]))
def test_fuzzed_protobuf_expositions(data: st.DataObject, histograms: Histograms) -> None:
    base = data.draw(_body(), label="base")
    exposition = data.draw(_mutated(base), label="exposition")
    cold = _read(exposition, SeriesCache(), histograms)

    warm_cache = SeriesCache()
    _read(base, warm_cache, histograms)
    before = snapshot(warm_cache)
    assert _read(exposition, warm_cache, histograms) == cold
    if isinstance(cold, tuple):
        assert snapshot(warm_cache) == before

    with patch.object(protobuf, "LINES_PER_CHUNK", 1):
        assert _read(exposition, SeriesCache(), histograms) == cold


@pytest.mark.once  # long, interpreter-independent: not run again on 3.13
@FUZZ
@given(st.data(), st.integers(0, 4000))
def test_fuzzed_protobuf_expositions_within_a_memory_budget(data: st.DataObject, max_bytes: int) -> None:
    base = data.draw(_body(), label="base")
    exposition = data.draw(_mutated(base), label="exposition")
    cache = SeriesCache()
    outcome(base, CONTENT_TYPE, cache)
    before = snapshot(cache)
    with patch.object(protobuf, "LINES_PER_CHUNK", 2):
        try:
            parse_exposition(exposition, CONTENT_TYPE, cache, ScrapeBudget(max_bytes=max_bytes + 1))
        except (ParseError, MemoryBudgetExceeded):
            assert snapshot(cache) == before
