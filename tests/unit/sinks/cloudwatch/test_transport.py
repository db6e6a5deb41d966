"""PutMetricData sending: one rejected request never stops the others."""

from __future__ import annotations

import threading
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError
from scrape_push.deadline import Deadline
from scrape_push.sinks.base import SinkReport
from scrape_push.sinks.cloudwatch.convert import Datum
from scrape_push.sinks.cloudwatch.transport import put_all


class FakeCloudWatch:
    """Rejects the requests whose first metric name is listed in ``reject``."""

    def __init__(self, reject: dict[str, Exception]) -> None:
        self.reject = reject
        self.calls: list[list[str]] = []
        self.lock = threading.Lock()

    def put_metric_data(self, Namespace: str, MetricData: list[dict[str, Any]]) -> None:
        names = [d["MetricName"] for d in MetricData]
        with self.lock:
            self.calls.append(names)
        error = self.reject.get(names[0])
        if error is not None:
            raise error


def batch(prefix: str, size: int) -> list[Datum]:
    return [Datum({"MetricName": f"{prefix}{i}"}, 10) for i in range(size)]


def test_failed_requests_are_counted_and_the_rest_sent() -> None:
    rejected = ClientError(
        {"Error": {"Code": "InvalidParameterValue", "Message": "bad " * 200}}, "PutMetricData"
    )
    client = FakeCloudWatch({"b0": rejected, "c0": EndpointConnectionError(endpoint_url="http://x")})
    report = SinkReport("cloudwatch/N", "cloudwatch", offered=6)
    put_all(
        client,
        [("N", batch("a", 3)), ("N", batch("b", 2)), ("N", batch("c", 1))],
        deadline=Deadline.after(30),
        report=report,
        max_concurrency=2,
    )
    assert len(client.calls) == 3
    assert (report.sent, report.failed, report.requests, report.failed_requests) == (3, 3, 3, 2)
    assert report.errors[0].startswith("PutMetricData rejected: InvalidParameterValue: bad bad")
    assert len(report.errors[0]) <= len("PutMetricData rejected: ") + 256
    assert report.errors[1].startswith("PutMetricData failed: Could not connect")


def test_samples_are_accounted_by_datum_weight() -> None:
    client = FakeCloudWatch({})
    report = SinkReport("cloudwatch/N", "cloudwatch")
    weighted = [Datum({"MetricName": "h"}, 10, weight=7), Datum({"MetricName": "h"}, 10, weight=0)]
    put_all(client, [("N", weighted)], deadline=Deadline.after(30), report=report, max_concurrency=1)
    assert (report.sent, report.requests) == (7, 1)


def test_nothing_is_started_past_the_deadline() -> None:
    client = FakeCloudWatch({})
    report = SinkReport("cloudwatch/N", "cloudwatch")
    put_all(client, [("N", batch("a", 2))], deadline=Deadline.after(0), report=report, max_concurrency=1)
    assert client.calls == []
    assert (report.sent, report.failed) == (0, 2)
    assert report.errors == ["not sent: invocation deadline reached"]
