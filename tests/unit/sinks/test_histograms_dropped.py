"""Native histograms where a sink cannot send them: CloudWatch needs its state table for their
increases (issue 16). OTLP sends them as exponential histograms (tests/unit/sinks/otlp/test_native.py)."""

from __future__ import annotations

import math

from scrape_push.deadline import Deadline
from scrape_push.delivery import DirectDelivery
from scrape_push.model import Family, NativeHistogram, Sample
from scrape_push.sinks.cloudwatch.sink import CloudWatchSink

from tests.support.cloudwatch import config, sample, wall_ms
from tests.unit.sinks.cloudwatch.test_sink import FakeCloudWatch

VALUE = NativeHistogram(count=1, sum=0.5, schema=0, positive_spans=((0, 1),), positive=(1,))


def test_cloudwatch_without_a_state_table_counts_native_histograms_dropped() -> None:
    client = FakeCloudWatch()
    histogram = Sample("lat", (), math.nan, wall_ms(), Family("lat", "histogram"), 9, histogram=VALUE)
    report = DirectDelivery(CloudWatchSink(config(), clients=lambda _: client)).push(
        [sample("temp", 20.0, ts=wall_ms()), histogram], Deadline.after(30)
    )
    assert [d["MetricName"] for d in client.datums] == ["temp"]
    assert (report.offered, report.sent, dict(report.dropped)) == (2, 1, {"no_state_table": 1})
