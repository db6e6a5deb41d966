"""Staleness markers in each sink: Remote Write sends them bit for bit; CloudWatch, Graphite and
OTLP with ``staleness: drop`` leave them out, counted as ``stale_marker``, which is not a drop
worth an alarm (OTLP's ``NO_RECORDED_VALUE`` points: tests/unit/sinks/otlp/test_native.py)."""

from __future__ import annotations

import json
import struct
from typing import Any

import pytest
from scrape_push.deadline import Deadline
from scrape_push.delivery import DirectDelivery
from scrape_push.model import (
    STALE_BITS,
    STALE_FLOAT_HISTOGRAM,
    STALE_HISTOGRAM,
    STALE_NAN,
    Family,
    NativeHistogram,
    Sample,
    is_stale_histogram,
)
from scrape_push.sinks.base import NATIVE_HISTOGRAM, STALE_MARKER, SinkReport
from scrape_push.sinks.cloudwatch.sink import CloudWatchSink
from scrape_push.sinks.remote_write.sink import RemoteWriteSink

from tests.support import cloudwatch
from tests.support.context import build_context
from tests.support.otlp import build_sink as build_otlp_sink
from tests.support.prompb_histograms import WriteRequest
from tests.support.remote_write import decode, decompress, fake_poster
from tests.support.samples import ref_of, sample
from tests.unit.sinks.graphite.test_sink import sink_for as graphite_sink
from tests.unit.sinks.graphite.test_transport import Connector, FakeSocket
from tests.unit.sinks.remote_write.test_transport import _config

JOB = (("instance", "a:1"), ("job", "j"))
STALE_WIRE = struct.pack("<d", STALE_NAN)


def test_remote_write_sends_the_marker_with_its_exact_bits() -> None:
    poster = fake_poster()
    samples = [
        sample("gone_total", JOB, STALE_NAN, 2000, Family("gone", "counter")),
        sample("kept", JOB, float("nan"), 2000),
        sample("other", JOB, 1.0, 1500),  # another timestamp: the per-sample encoding path
        sample("gone_later", JOB, STALE_NAN, 2500),
    ]
    report = DirectDelivery(RemoteWriteSink(_config(""), build_context(1), poster=poster)).push(
        samples, Deadline.after(30)
    )
    assert (report.sent, dict(report.dropped)) == (4, {})
    sent = {
        {label.name: label.value for label in series.labels}["__name__"]: bits(series.samples[0].value)
        for request in poster.sent
        for series in decode(request.body).timeseries  # type: ignore[arg-type]
    }
    assert sent["gone_total"] == sent["gone_later"] == STALE_BITS
    assert sent["kept"] != STALE_BITS  # an exposed NaN stays an ordinary NaN
    wire = b"".join(decompress(request.body) for request in poster.sent)  # type: ignore[arg-type]
    assert wire.count(STALE_WIRE) == 2


def bits(value: float) -> int:
    return int(struct.unpack("<Q", struct.pack("<d", value))[0])


def test_graphite_leaves_markers_out_as_expected_drops() -> None:
    sock = FakeSocket()
    sink = graphite_sink("{address: 'carbon:2003', template: '{__name__}'}", Connector([sock]))
    samples = [sample("a", JOB, 1.0), sample("b", JOB, STALE_NAN), sample("c", JOB, float("nan"))]
    report = DirectDelivery(sink).push(samples, Deadline.after(30))
    assert dict(report.dropped) == {STALE_MARKER: 1, "nan_or_inf": 1}
    assert report.sent == 1 and report.faulty_drops == 1


class _CloudWatch:
    def __init__(self) -> None:
        self.datums: list[dict[str, Any]] = []

    def put_metric_data(self, Namespace: str, MetricData: list[dict[str, Any]]) -> None:
        self.datums.extend(MetricData)


def test_cloudwatch_leaves_markers_out_before_any_counter_state() -> None:
    client = _CloudWatch()
    now = cloudwatch.wall_ms()
    counter = Family("req", "counter")
    samples = [
        cloudwatch.sample("req_total", STALE_NAN, ts=now, family=counter),  # would need the state table
        cloudwatch.sample("temp", 20.0, ts=now),
    ]
    sink = CloudWatchSink(cloudwatch.config(counter_mode="delta"), clients=lambda _: client)
    report = DirectDelivery(sink).push(samples, Deadline.after(30))
    assert [d["MetricName"] for d in client.datums] == ["temp"]
    assert (report.offered, report.sent, dict(report.dropped)) == (2, 1, {STALE_MARKER: 1})
    assert report.ok and report.faulty_drops == 0 and not report.errors


def test_otlp_with_staleness_drop_leaves_markers_out() -> None:
    sink, adapter = build_otlp_sink("{endpoint: 'https://collector.example/v1/metrics', staleness: drop}")
    samples = [sample("g", JOB, 3.0, 2000), sample("g_gone", JOB, STALE_NAN, 2000)]
    report = DirectDelivery(sink).push(samples, Deadline.after(30))
    assert (report.sent, dict(report.dropped)) == (1, {STALE_MARKER: 1})
    assert STALE_WIRE not in b"".join(request.body for request in adapter.sent)  # type: ignore[misc]


def test_only_faulty_drops_count_as_drops_for_alarms() -> None:
    report = SinkReport("s", "k")
    report.drop(STALE_MARKER, 5)
    assert report.faulty_drops == 0
    report.drop("nan_or_inf", 2)
    assert report.faulty_drops == 2


def test_self_metrics_count_markers_apart_from_drops(capsys: pytest.CaptureFixture[str]) -> None:
    from scrape_push import selfmetrics
    from scrape_push.config.model import Config
    from scrape_push.config.source import LoadedConfig
    from scrape_push.pipeline import CycleResult

    report = SinkReport("graphite/x", "graphite")
    report.drop(STALE_MARKER, 3)
    report.drop("nan_or_inf", 1)
    capsys.readouterr()
    selfmetrics.publish(CycleResult(sinks=[report]), LoadedConfig(Config(), "test", "0"), "ScrapePush/Self")
    values = {}
    for line in capsys.readouterr().out.splitlines():
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            values |= {metric["Name"]: document[metric["Name"]] for metric in directive["Metrics"]}
    assert values["SamplesDropped"] == [1.0] and values["StaleMarkers"] == [0.0]


HISTOGRAM = Family("h", "histogram")


def _stale_histogram(marker: NativeHistogram, name: str = "h") -> Sample:
    return Sample(name, JOB, STALE_NAN, 2000, HISTOGRAM, ref_of(name, JOB), None, marker)


def _remote_write(send: bool, samples: list[Sample]) -> tuple[SinkReport, list[bytes]]:
    poster = fake_poster()
    extra = "    send_native_histograms: true\n" if send else ""
    sink = RemoteWriteSink(_config(extra), build_context(1), poster=poster)
    report = DirectDelivery(sink).push(samples, Deadline.after(30))
    return report, [decompress(request.body) for request in poster.sent]  # type: ignore[arg-type]


def test_remote_write_sends_a_stale_histogram_in_histograms_with_the_exact_bits() -> None:
    samples = [_stale_histogram(STALE_HISTOGRAM), _stale_histogram(STALE_FLOAT_HISTOGRAM, "f")]
    report, bodies = _remote_write(True, samples)
    assert (report.sent, dict(report.dropped)) == (2, {})
    series = {
        {label.name: label.value for label in ts.labels}["__name__"]: ts
        for body in bodies
        for ts in WriteRequest.FromString(body).timeseries
    }
    integer, floats = series["h"], series["f"]
    (h,) = integer.histograms
    assert bits(h.sum) == STALE_BITS and h.timestamp == 2000
    assert h.HasField("count_int") and h.HasField("zero_count_int") and not h.HasField("count_float")
    assert (h.count_int, h.zero_count_int) == (0, 0)
    assert (h.schema, h.zero_threshold, len(h.positive_spans), len(h.negative_spans)) == (0, 0.0, 0, 0)
    assert not h.positive_deltas and not h.negative_deltas and h.reset_hint == 0
    (f,) = floats.histograms
    assert bits(f.sum) == STALE_BITS and f.HasField("count_float") and f.HasField("zero_count_float")
    assert (f.count_float, f.zero_count_float, f.HasField("count_int")) == (0.0, 0.0, False)
    assert b"".join(bodies).count(STALE_WIRE) == 2  # in the two histograms: no float marker besides


def test_remote_write_without_native_histograms_counts_the_marker_as_the_histogram_it_ends() -> None:
    report, bodies = _remote_write(False, [_stale_histogram(STALE_HISTOGRAM), sample("up", JOB, 1.0)])
    assert (report.sent, dict(report.dropped)) == (1, {NATIVE_HISTOGRAM: 1})
    assert STALE_WIRE not in b"".join(bodies)


def test_graphite_and_cloudwatch_leave_a_stale_histogram_out_as_a_marker() -> None:
    samples = [_stale_histogram(STALE_HISTOGRAM), sample("a", JOB, 1.0)]
    sock = FakeSocket()
    graphite = graphite_sink("{address: 'carbon:2003', template: '{__name__}'}", Connector([sock]))
    report = DirectDelivery(graphite).push(samples, Deadline.after(30))
    assert (report.sent, dict(report.dropped)) == (1, {STALE_MARKER: 1})
    assert [line.split(b" ")[0] for line in sock.written] == [b"a.instance.a:1.job.j"]
    client = _CloudWatch()
    now = cloudwatch.wall_ms()
    marker = _stale_histogram(STALE_HISTOGRAM)._replace(timestamp_ms=now)
    sink = CloudWatchSink(cloudwatch.config(histograms="distribution"), clients=lambda _: client)
    report = DirectDelivery(sink).push([marker, cloudwatch.sample("temp", 20.0, ts=now)], Deadline.after(30))
    assert [d["MetricName"] for d in client.datums] == ["temp"]
    assert (report.sent, dict(report.dropped)) == (1, {STALE_MARKER: 1}) and report.faulty_drops == 0


def test_a_stale_histogram_is_recognisable_and_a_float_marker_or_a_histogram_is_not() -> None:
    assert is_stale_histogram(_stale_histogram(STALE_HISTOGRAM))
    assert is_stale_histogram(_stale_histogram(STALE_FLOAT_HISTOGRAM))
    assert not is_stale_histogram(sample("g", JOB, STALE_NAN))
    live = NativeHistogram(0, float("nan"), 0)  # a histogram whose sum is an ordinary NaN
    assert not is_stale_histogram(_stale_histogram(live))
