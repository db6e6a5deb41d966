"""Native histograms as exponential histograms, and staleness markers as ``NO_RECORDED_VALUE``
points, through the sink (golden files decoded with the official ``opentelemetry-proto``
package; regenerate after a deliberate change with ``UPDATE_GOLDEN=1 make unit``)."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict
from scrape_push.deadline import Deadline
from scrape_push.delivery import DirectDelivery
from scrape_push.labels import merge_labels
from scrape_push.model import STALE_HISTOGRAM, STALE_NAN, Exemplar, Family, NativeHistogram, Sample
from scrape_push.parse.formats import Histograms
from scrape_push.scrape import SeriesCache
from scrape_push.sinks.base import STALE_MARKER, SinkReport
from scrape_push.sinks.otlp.sink import NO_RECORDED_VALUE

from tests.support import protobuf as pb
from tests.support.otlp import Clock, MemoryTable, build_sink, decoded, points_of, scraped
from tests.support.samples import sample

GOLDEN = Path(__file__).parent / "golden"
T1 = 1_700_000_060.0
TARGET = (("instance", "10.0.0.1:8080"), ("job", "api"))
FLAG = 1  # DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK


def exposition(scale: int) -> bytes:
    """A native histogram (both sides, a zero bucket, a gap between spans) and a classic one."""
    native = pb.native_part(
        3,
        1e-9,
        2 * scale,
        positive=[(-2, [1 * scale, 3 * scale]), (2, [5 * scale])],
        negative=[(1, [4 * scale])],
    )
    return pb.delimited(
        pb.family(
            "rpc_latency_seconds",
            pb.HISTOGRAM,
            [pb.metric({"path": "/a"}, histogram=pb.histogram(15 * scale, 2.5 * scale, native=native))],
            help_="RPC latency.",
            unit="seconds",
        ),
        pb.family("queue_depth", pb.GAUGE, [pb.metric(gauge=float(scale))]),
    )


def scrape_protobuf(body: bytes, cache: SeriesCache, time_ms: int) -> list[Sample]:
    found = cache.read(body, pb.CONTENT_TYPE, time_ms, histograms=Histograms(native=True))
    return [
        s._replace(labels=merge_labels(s.labels, TARGET, False), timestamp_ms=time_ms)
        for chunk in found
        for s in chunk
    ]


def markers_of(samples: list[Sample], time_ms: int, *, shaped: bool) -> list[Sample]:
    """The staleness markers of ``samples``' series, as the scrape stage makes them (``shaped``:
    a native histogram's marker carries a histogram whose sum is StaleNaN)."""
    out = []
    for s in samples:
        histogram = None
        if shaped and s.histogram is not None:
            histogram = NativeHistogram(count=0, sum=STALE_NAN, schema=s.histogram.schema)
        out.append(s._replace(value=STALE_NAN, timestamp_ms=time_ms, histogram=histogram, exemplar=None))
    return out


def run(entry: str, shaped: bool) -> dict[str, Any]:
    clock = Clock(T1)
    sink, adapter = build_sink(entry, table=MemoryTable(), clock=clock)
    cache = SeriesCache()
    cycles = []
    last: list[Sample] = []
    for step in (1, 2, 0):
        now_ms = int(clock.now * 1000)
        samples = (
            scrape_protobuf(exposition(step), cache, now_ms)
            if step
            else markers_of(last, now_ms, shaped=shaped)
        )
        last = samples or last
        report = DirectDelivery(sink).push(samples, Deadline.after(30))
        cycles.append(
            {
                "offered": report.offered,
                "sent": report.sent,
                "dropped": dict(report.dropped),
                "adjusted": dict(report.adjusted),
            }
        )
        clock.now += 60
    return {"cycles": cycles, "requests": [MessageToDict(decoded(body)) for body in adapter.bodies()]}


def test_native_histograms_and_their_markers_match_the_golden_file() -> None:
    found = run("{endpoint: 'https://collector.example/v1/metrics'}", shaped=True)
    path = GOLDEN / "native_histograms.json"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    assert found == json.loads(path.read_text())


def exponential_points(found: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        point
        for request in found["requests"]
        for resource in request["resourceMetrics"]
        for scope in resource["scopeMetrics"]
        for metric in scope["metrics"]
        if "exponentialHistogram" in metric
        for point in metric["exponentialHistogram"]["dataPoints"]
    ]


def test_a_native_histogram_is_a_cumulative_exponential_histogram_started_when_first_seen() -> None:
    found = run("{endpoint: 'https://collector.example/v1/metrics'}", shaped=False)
    first, second, marker = exponential_points(found)
    assert first["scale"] == 3 and first["zeroThreshold"] == 1e-9 and first["zeroCount"] == "2"
    assert first["positive"] == {"offset": -3, "bucketCounts": ["1", "3", "0", "0", "5"]}
    assert first["negative"] == {"bucketCounts": ["4"]}  # offset 0 (bucket 1 minus one), not printed
    assert (first["count"], first["sum"]) == ("15", 2.5)  # 2 + 1 + 3 + 5 + 4
    assert first["startTimeUnixNano"] == first["timeUnixNano"]  # first seen: a true reset point
    assert second["startTimeUnixNano"] == first["startTimeUnixNano"] and second["count"] == "30"
    # The stream ended: a point with the flag and no value, with the stream's start.
    assert marker["flags"] == FLAG and marker["startTimeUnixNano"] == first["startTimeUnixNano"]
    assert not {"count", "sum", "scale", "positive", "negative", "zeroCount"} & set(marker)
    (metric,) = {
        m["name"]: m
        for r in found["requests"][:1]
        for rm in r["resourceMetrics"]
        for s in rm["scopeMetrics"]
        for m in s["metrics"]
        if "exponentialHistogram" in m
    }.values()
    assert metric["unit"] == "s" and metric["description"] == "RPC latency."
    assert metric["exponentialHistogram"]["aggregationTemporality"] == "AGGREGATION_TEMPORALITY_CUMULATIVE"
    assert found["cycles"][2]["adjusted"] == {NO_RECORDED_VALUE: 2}  # the histogram's and the gauge's


def test_markers_are_left_out_and_counted_with_staleness_drop() -> None:
    found = run("{endpoint: 'https://collector.example/v1/metrics', staleness: drop}", shaped=True)
    assert found["cycles"][2] == {"offered": 2, "sent": 0, "dropped": {STALE_MARKER: 2}, "adjusted": {}}
    assert len(exponential_points(found)) == 2


def test_cloudwatch_leaves_markers_out_by_default() -> None:
    found = run("{cloudwatch: {region: eu-west-1}, endpoint: 'https://cw.example/v1/metrics'}", shaped=False)
    assert found["cycles"][2]["dropped"] == {STALE_MARKER: 2} and found["cycles"][2]["sent"] == 0


COUNTERS = """\
# TYPE jobs counter
jobs_total 5
# TYPE temp gauge
temp 21.5
# TYPE rpc histogram
rpc_bucket{le="0.5"} 1
rpc_bucket{le="+Inf"} 3
rpc_sum 1.5
rpc_count 3
# TYPE size summary
size{quantile="0.5"} 12
size_sum 40
size_count 4
# EOF
"""


def test_every_kind_of_marker_is_a_point_of_its_own_type_with_the_flag() -> None:
    sink, adapter = build_sink(table=MemoryTable(), clock=Clock(T1))
    live = scraped(COUNTERS, int(T1 * 1000))
    gone = [s._replace(value=STALE_NAN, timestamp_ms=int(T1 * 1000) + 60_000) for s in live]
    for samples in (live, gone):
        report = DirectDelivery(sink).push(samples, Deadline.after(30))
    assert (report.offered, report.sent, report.adjusted) == (
        len(gone),
        len(gone),
        Counter({NO_RECORDED_VALUE: len(gone)}),
    )
    first, markers = (dict(points_of(decoded(body))) for body in adapter.bodies())
    by_name = {name: point for (name, _), point in markers.items()}
    assert set(by_name) == {"jobs_total", "temp", "rpc", "size"}
    for name, point in by_name.items():
        assert point["flags"] == FLAG, name
        assert not {"asDouble", "count", "sum"} & set(point), name
    assert by_name["rpc"]["explicitBounds"] == [0.5] and by_name["rpc"]["bucketCounts"] == ["0", "0"]
    assert by_name["size"]["quantileValues"] == [{"quantile": 0.5}]
    started = {name: p.get("startTimeUnixNano") for (name, _), p in first.items()}
    assert by_name["jobs_total"]["startTimeUnixNano"] == started["jobs_total"]  # the stream's start
    assert "startTimeUnixNano" not in by_name["temp"]  # a gauge has none


def test_a_marker_beside_a_live_count_is_only_an_absent_part() -> None:
    sink, adapter = build_sink()
    family = Family("rpc", "histogram")
    samples = [
        sample("rpc_bucket", (("job", "j"), ("le", "+Inf")), 3.0, family=family),
        sample("rpc_count", (("job", "j"),), 3.0, family=family),
        sample("rpc_sum", (("job", "j"),), STALE_NAN, family=family),
    ]
    report = DirectDelivery(sink).push(samples, Deadline.after(30))
    assert (report.sent, dict(report.adjusted)) == (3, {})
    ((_, point),) = points_of(decoded(adapter.bodies()[0]))
    assert "flags" not in point and "sum" not in point and point["count"] == "3"


def test_a_float_sample_named_as_a_histogram_family_is_unexpected() -> None:
    sink, _ = build_sink()
    report = SinkReport(sink.name, sink.kind)
    odd = sample("rpc", (("job", "j"),), 1.0, family=Family("rpc", "histogram"))
    assert sink.prepare([odd], report).resolve(Deadline.after(5), report) == []
    assert report.dropped == Counter({"unexpected_series": 1})


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (
            NativeHistogram(
                count=1.5, sum=1.0, schema=0, positive_spans=((0, 1),), positive=(1.5,), floats=True
            ),
            "float_histogram",
        ),
        (
            NativeHistogram(count=1, sum=1.0, schema=0, positive_spans=((3, 1), (-2, 1)), positive=(1, 1)),
            "invalid_native_histogram",
        ),
    ],
)
def test_native_histograms_the_specification_drops_are_counted(value: NativeHistogram, reason: str) -> None:
    sink, _ = build_sink()
    report = SinkReport(sink.name, sink.kind)
    found = Sample(
        "h", (("job", "j"),), float("nan"), 1_700_000_000_000, Family("h", "histogram"), 77, histogram=value
    )
    assert sink.prepare([found], report).resolve(Deadline.after(5), report) == []
    assert report.dropped == Counter({reason: 1})


def test_a_native_histograms_exemplar_goes_with_its_point() -> None:
    sink, adapter = build_sink()
    value = NativeHistogram(count=1, sum=0.2, schema=0, positive_spans=((0, 1),), positive=(1,))
    exemplar = Exemplar((("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"),), 0.2, 1_699_999_999_500)
    found = Sample(
        "h", (("job", "j"),), float("nan"), 1_700_000_000_000, Family("h", "histogram"), 78, exemplar, value
    )
    DirectDelivery(sink).push([found], Deadline.after(5))
    ((_, point),) = points_of(decoded(adapter.bodies()[0]))
    (sent,) = point["exemplars"]
    assert sent["asDouble"] == 0.2 and sent["timeUnixNano"] == "1699999999500000000" and "traceId" in sent


def test_a_native_histogram_whose_count_goes_down_starts_again() -> None:
    clock = Clock(T1)
    sink, adapter = build_sink(table=MemoryTable(), clock=clock)
    family = Family("h", "histogram")
    for count in (5, 9, 2):  # the process behind it restarted before the third scrape
        value = NativeHistogram(count=count, sum=1.0, schema=0, positive_spans=((0, 1),), positive=(count,))
        now_ms = int(clock.now * 1000)
        found = Sample("h", TARGET, float("nan"), now_ms, family, 79, histogram=value)
        DirectDelivery(sink).push([found], Deadline.after(5))
        clock.now += 60
    starts = [
        int(point["startTimeUnixNano"]) for body in adapter.bodies() for _, point in points_of(decoded(body))
    ]
    first_ns = int(T1 * 1e9)
    assert starts == [first_ns, first_ns, first_ns + 120_000_000_000 - 1_000_000]


def test_a_marker_known_only_from_the_staleness_record_is_a_gauge_point_under_its_own_name() -> None:
    sink, adapter = build_sink()
    seeded = sample("rpc_bucket", (("job", "j"), ("le", "0.5")), STALE_NAN)  # Family("rpc_bucket"): untyped
    report = DirectDelivery(sink).push([seeded], Deadline.after(5))
    assert (report.sent, dict(report.adjusted)) == (1, {NO_RECORDED_VALUE: 1})
    (metric,) = decoded(adapter.bodies()[0]).resource_metrics[0].scope_metrics[0].metrics
    assert metric.name == "rpc_bucket" and metric.WhichOneof("data") == "gauge"
    (point,) = metric.gauge.data_points
    assert point.flags == FLAG and point.WhichOneof("value") is None
    assert [(a.key, a.value.string_value) for a in point.attributes] == [("le", "0.5")]


def test_the_scrape_stage_s_marker_of_a_vanished_native_histogram_is_a_flagged_exponential_point() -> None:
    """The marker the scrape stage makes itself (``model.STALE_HISTOGRAM``, not one shaped by this
    test) reaches the receiver as an exponential-histogram point with nothing but the flag."""
    clock = Clock(T1)
    sink, adapter = build_sink(table=MemoryTable(), clock=clock)
    cache = SeriesCache()
    gauge_only = pb.delimited(pb.family("queue_depth", pb.GAUGE, [pb.metric(gauge=1.0)]))
    for body in (exposition(1), gauge_only):
        now_ms = int(clock.now * 1000)
        samples = scrape_protobuf(body, cache, now_ms)
        stale = cache.tracker.take_stale()
        samples += [s._replace(labels=merge_labels(s.labels, TARGET, False)) for s in stale]
        DirectDelivery(sink).push(samples, Deadline.after(30))
        clock.now += 60
    assert [s.name for s in stale] == ["rpc_latency_seconds"]
    markers = exponential_points({"requests": [MessageToDict(decoded(adapter.bodies()[-1]))]})
    assert len(markers) == 1 and markers[0]["flags"] == FLAG
    assert not {"count", "sum", "positive", "negative", "zeroCount"} & set(markers[0])


def test_a_histogram_marker_from_the_staleness_record_is_an_exponential_point_too() -> None:
    """After a cold start the record's marker knows no family (untyped), but its histogram says
    it ends a native histogram: the same flagged exponential point as a warm marker."""
    sink, adapter = build_sink(table=MemoryTable(), clock=Clock(T1))
    name = "rpc_latency_seconds"
    marker = Sample(name, TARGET, STALE_NAN, int(T1 * 1000), Family(name), 7, None, STALE_HISTOGRAM)
    report = DirectDelivery(sink).push([marker], Deadline.after(30))
    assert (report.sent, dict(report.adjusted)) == (1, {NO_RECORDED_VALUE: 1})
    (point,) = exponential_points({"requests": [MessageToDict(decoded(adapter.bodies()[0]))]})
    assert point["flags"] == FLAG and not {"count", "sum", "positive", "negative"} & set(point)
