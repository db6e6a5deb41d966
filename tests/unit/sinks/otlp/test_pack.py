"""Packing within a receiver's limits, and CloudWatch's documented limits enforced by our code:
1,000 data points and 1 MB uncompressed per request, 150 labels and 40 KB of labels per point."""

from __future__ import annotations

from collections import Counter

from scrape_push.deadline import Deadline
from scrape_push.model import Family, NativeHistogram, Sample
from scrape_push.sinks.base import SinkReport
from scrape_push.sinks.otlp.limits import (
    CLOUDWATCH_MAX_DATA_POINTS,
    CLOUDWATCH_MAX_LABELS,
    CLOUDWATCH_MAX_METADATA_BYTES,
    CLOUDWATCH_MAX_REQUEST_BYTES,
)

from tests.support.otlp import build_sink, decoded
from tests.support.samples import sample

CLOUDWATCH = "{cloudwatch: {region: eu-west-1}}"
GAUGE = Family("g", "gauge", "A gauge.")
JOB = (("instance", "10.0.0.1:9100"), ("job", "node"))


def gauges(count: int, *, width: int = 8, job: tuple[tuple[str, str], ...] = JOB) -> list[Sample]:
    return [
        sample(
            "g", tuple(sorted((("i", str(i).rjust(width, "x")), *job))), float(i), 1_700_000_000_000, GAUGE
        )
        for i in range(count)
    ]


def sent(entry: str, samples: list[Sample]) -> tuple[SinkReport, list[bytes]]:
    sink, adapter = build_sink(entry)
    report = SinkReport(sink.name, sink.kind, offered=len(samples))
    requests = sink.prepare(samples, report).resolve(Deadline.after(30), report)
    results = sink.deliver(requests, Deadline.after(30), report)
    report.sent = sum(
        r.samples for r, result in zip(requests, results, strict=True) if result.status == "sent"
    )
    return report, adapter.bodies()


def points_in(body: bytes) -> int:
    request = decoded(body)
    return sum(
        len(m.gauge.data_points) for r in request.resource_metrics for s in r.scope_metrics for m in s.metrics
    )


def test_cloudwatch_requests_hold_at_most_1000_data_points() -> None:
    report, bodies = sent(CLOUDWATCH, gauges(2500))
    assert [points_in(b) for b in bodies] == [1000, 1000, 500]
    assert report.sent == 2500 and max(points_in(b) for b in bodies) <= CLOUDWATCH_MAX_DATA_POINTS


def test_cloudwatch_requests_stay_under_1_mb_uncompressed() -> None:
    report, bodies = sent(CLOUDWATCH, gauges(900, width=2000))  # ~2 KB a point
    assert len(bodies) > 1 and report.sent == 900
    assert max(len(b) for b in bodies) <= CLOUDWATCH_MAX_REQUEST_BYTES
    assert sum(points_in(b) for b in bodies) == 900


def test_the_size_limit_holds_exactly_for_any_receiver() -> None:
    entry = "{endpoint: 'https://c/v1/metrics', max_request_size: 64KB, max_data_points_per_request: 100000}"
    _, bodies = sent(entry, gauges(3000, width=40))
    assert all(len(b) <= 64 * 1024 for b in bodies) and sum(points_in(b) for b in bodies) == 3000
    assert max(len(b) for b in bodies) > 60 * 1024  # packed close to the limit, not far below it


def test_a_point_larger_than_a_request_is_dropped() -> None:
    entry = "{endpoint: 'https://c/v1/metrics', max_request_size: 4KB}"
    samples = [*gauges(1), *gauges(1, width=5000, job=(("instance", "b:1"), ("job", "node")))]
    report, bodies = sent(entry, samples)
    assert report.dropped == Counter({"point_too_large": 1}) and report.sent == 1 and len(bodies) == 1


def test_cloudwatch_refuses_points_over_150_labels() -> None:
    labels = tuple(
        (f"l{i:03}", "v") for i in range(CLOUDWATCH_MAX_LABELS - 2)
    )  # + service.name, .instance.id
    ok = sample("g", tuple(sorted(labels + JOB)), 1.0, 1_700_000_000_000, GAUGE)
    over = sample("g", tuple(sorted((*labels, ("zz", "v"), *JOB))), 1.0, 1_700_000_000_000, GAUGE)
    report, bodies = sent(CLOUDWATCH, [ok, over])
    assert report.dropped == Counter({"too_many_labels": 1}) and report.sent == 1
    attributes = decoded(bodies[0]).resource_metrics[0]
    point = attributes.scope_metrics[0].metrics[0].gauge.data_points[0]
    assert len(attributes.resource.attributes) + len(point.attributes) == CLOUDWATCH_MAX_LABELS
    _, other = sent("{endpoint: 'https://c/v1/metrics'}", [ok, over])  # no such limit elsewhere
    assert points_in(other[0]) == 2


def test_cloudwatch_refuses_points_with_over_40_kb_of_labels() -> None:
    big = sample("g", (("big", "x" * CLOUDWATCH_MAX_METADATA_BYTES), *JOB), 1.0, 1_700_000_000_000, GAUGE)
    report, bodies = sent(CLOUDWATCH, [big, *gauges(1)])
    assert report.dropped == Counter({"labels_too_large": 1}) and len(bodies) == 1


def test_points_of_one_resource_and_metric_share_their_messages() -> None:
    other = (("instance", "10.0.0.2:9100"), ("job", "node"))
    samples = [*gauges(2), *gauges(2, job=other), *gauges(1)]  # the last is a duplicate series
    report, bodies = sent("{endpoint: 'https://c/v1/metrics'}", samples)
    (body,) = bodies
    request = decoded(body)
    assert [len(r.scope_metrics[0].metrics) for r in request.resource_metrics] == [1, 1]
    assert [len(r.scope_metrics[0].metrics[0].gauge.data_points) for r in request.resource_metrics] == [2, 2]
    assert report.dropped == Counter({"duplicate_series": 1})


def test_a_label_that_is_not_utf8_drops_its_series_only() -> None:
    bad = sample("g", (("a", "\ud800"), *JOB), 1.0, 1_700_000_000_000, GAUGE)
    report, bodies = sent("{endpoint: 'https://c/v1/metrics'}", [bad, *gauges(1)])
    assert report.dropped == Counter({"invalid_utf8": 1}) and points_in(bodies[0]) == 1


def test_wide_exponential_histograms_are_packed_under_1_mb_too() -> None:
    wide = NativeHistogram(
        count=4,
        sum=1.0,
        schema=8,
        positive_spans=((0, 1), (4094, 1)),  # 4,096 dense buckets a side: the widest sent as is
        positive=(2**60, 1),
        negative_spans=((0, 1), (4094, 1)),
        negative=(1, 2**60),
    )
    family = Family("h", "histogram")
    samples = [
        Sample(
            "h", (("i", str(i)), *JOB), float("nan"), 1_700_000_000_000, family, 10_000 + i, histogram=wide
        )
        for i in range(200)
    ]
    report, bodies = sent(CLOUDWATCH, samples)
    assert report.sent == 200 and len(bodies) == 2
    assert all(len(body) <= CLOUDWATCH_MAX_REQUEST_BYTES for body in bodies)
    exponential = [
        m.exponential_histogram
        for body in bodies
        for r in decoded(body).resource_metrics
        for s in r.scope_metrics
        for m in s.metrics
    ]
    points = [p for e in exponential for p in e.data_points]
    assert len(points) == 200 and {len(p.positive.bucket_counts) for p in points} == {4096}
    assert {p.scale for p in points} == {8}
