"""Native histograms sent in ``TimeSeries.histograms`` (issue 16), checked by decoding with the
protobuf library against prompb's field numbers, as Prometheus 2.42 sent the same histograms
(research notes §9.4: the same spans, deltas and counts)."""

from __future__ import annotations

import math

import cramjam
from scrape_push.deadline import Deadline
from scrape_push.delivery import DirectDelivery
from scrape_push.model import Family, NativeHistogram, Sample
from scrape_push.sinks.remote_write.histograms import encode_histogram
from scrape_push.sinks.remote_write.sink import RemoteWriteSink

from tests.support.context import build_context
from tests.support.prompb_histograms import Histogram, WriteRequest
from tests.support.remote_write import fake_poster
from tests.unit.parse.test_protobuf_native import INTEGER_VALUE
from tests.unit.sinks.remote_write.test_transport import _config


def _decoded(histogram: NativeHistogram, stamp: int = 5) -> object:
    return Histogram.FromString(encode_histogram(histogram, stamp))


def test_an_integer_histogram_is_sent_with_deltas_as_prometheus_sends_it() -> None:
    h = _decoded(INTEGER_VALUE)
    assert (h.count_int, h.sum, h.schema, h.zero_threshold, h.zero_count_int) == (12, 3.5, 3, 2**-128, 2)
    assert [(s.offset, s.length) for s in h.negative_spans] == [(-2, 2)]
    assert list(h.negative_deltas) == [1, 1]
    assert [(s.offset, s.length) for s in h.positive_spans] == [(-1, 2), (2, 1)]
    assert list(h.positive_deltas) == [2, 1, -1]
    assert (h.HasField("count_float"), h.reset_hint, h.timestamp) == (False, 0, 5)


def test_a_float_gauge_histogram_is_sent_with_counts_and_the_gauge_hint() -> None:
    value = NativeHistogram(10.5, 7.25, 0, 0.001, 1.5, ((0, 3),), (1.0, 3.0, 5.0), floats=True, gauge=True)
    h = _decoded(value)
    assert (h.count_float, h.zero_count_float, h.HasField("schema"), h.reset_hint) == (10.5, 1.5, False, 3)
    assert list(h.positive_counts) == [1.0, 3.0, 5.0] and not h.positive_deltas


def test_an_empty_integer_histogram_still_carries_its_zero_counts() -> None:
    h = _decoded(NativeHistogram(0, 0.0, 0))
    assert h.HasField("count_int") and h.HasField("zero_count_int") and not h.HasField("sum")


def _push(send: bool) -> tuple[object, list[bytes]]:
    extra = "    send_native_histograms: true\n" if send else ""
    poster = fake_poster()
    sink = RemoteWriteSink(_config(extra), build_context(), poster=poster)
    report = DirectDelivery(sink).push(SAMPLES, Deadline.after(30))
    return report, [bytes(cramjam.snappy.decompress_raw(sent.body)) for sent in poster.sent]


SAMPLES = [
    Sample("h", (("a", "1"),), math.nan, 1_000, Family("h", "histogram"), 7, histogram=INTEGER_VALUE),
    Sample("up", (), 1.0, 1_000, Family("up"), 8),
]


def test_native_histograms_are_sent_only_with_send_native_histograms_else_counted() -> None:
    report, _ = _push(False)
    assert (report.offered, report.sent, dict(report.dropped)) == (2, 1, {"native_histogram": 1})

    report, bodies = _push(True)
    assert (report.offered, report.sent, dict(report.dropped)) == (2, 2, {})
    series = [ts for body in bodies for ts in WriteRequest.FromString(body).timeseries if ts.histograms]
    (ts,) = series
    assert [(label.name, label.value) for label in ts.labels] == [("__name__", "h"), ("a", "1")]
    assert (ts.histograms[0].count_int, ts.histograms[0].timestamp) == (12, 1_000)
