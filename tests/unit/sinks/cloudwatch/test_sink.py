"""The sink's wiring without the network: state missing or failing, EMF through an injected writer."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError
from scrape_push.deadline import Deadline
from scrape_push.delivery import DirectDelivery
from scrape_push.model import Family
from scrape_push.sinks.cloudwatch.sink import CloudWatchSink

from tests.support.cloudwatch import config, sample, wall_ms

COUNTER = Family("req", "counter")


class FakeCloudWatch:
    def __init__(self) -> None:
        self.datums: list[dict[str, Any]] = []

    def put_metric_data(self, Namespace: str, MetricData: list[dict[str, Any]]) -> None:
        self.datums.extend(MetricData)


class BrokenDynamoDB:
    def batch_get_item(self, **_: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "BatchGetItem")


def samples() -> list[Any]:
    return [sample("req_total", 5.0, ts=wall_ms(), family=COUNTER), sample("temp", 20.0, ts=wall_ms())]


def test_without_a_state_table_tracked_series_are_dropped_and_the_rest_sent() -> None:
    client = FakeCloudWatch()
    report = DirectDelivery(CloudWatchSink(config(counter_mode="delta"), clients=lambda _: client)).push(
        samples(), Deadline.after(30)
    )
    assert [d["MetricName"] for d in client.datums] == ["temp"]
    assert report.dropped == {"no_state_table": 1} and report.sent == 1
    assert "STATE_TABLE" in report.errors[0]


def test_a_failing_state_table_fails_only_the_tracked_series() -> None:
    client = FakeCloudWatch()
    sink = CloudWatchSink(
        config(counter_mode="rate"),
        clients=lambda _: client,
        state_clients=lambda _: BrokenDynamoDB(),
        state_table="t",
    )
    report = DirectDelivery(sink).push(samples(), Deadline.after(30))
    assert (report.sent, report.failed) == (1, 1)
    assert report.errors == ["state table t: AccessDeniedException: no"]


def test_emf_mode_writes_through_the_writer_and_calls_no_api() -> None:
    lines: list[str] = []
    sink = CloudWatchSink(config(mode="emf"), clients=lambda _: object(), emf_writer=lines.append)
    report = DirectDelivery(sink).push([sample("temp", 20.0, ts=wall_ms())], Deadline.after(30))
    (line,) = lines
    assert json.loads(line)["temp"] == 20.0
    assert (report.sent, report.requests, report.failed) == (1, 1, 0)
