"""PutMetricData sending: one rejected request never stops the others."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from scrape_push.deadline import Deadline
from scrape_push.sinks.base import Result
from scrape_push.sinks.cloudwatch.convert import Datum
from scrape_push.sinks.cloudwatch.transport import decode_request, encode_request, put_all


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


def puts(*batches: list[Datum]) -> list[tuple[str, list[dict[str, Any]]]]:
    return [("N", [d.payload for d in b]) for b in batches]


def test_a_rejected_request_never_stops_the_others() -> None:
    rejected = ClientError(
        {
            "Error": {"Code": "InvalidParameterValue", "Message": "bad " * 200},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        "PutMetricData",
    )
    client = FakeCloudWatch({"b0": rejected})
    results = put_all(
        lambda _: client,
        puts(batch("a", 3), batch("b", 2), batch("c", 1)),
        deadline=Deadline.after(30),
        max_concurrency=2,
    )
    assert len(client.calls) == 3
    assert [r.status for r in results] == ["sent", "rejected", "sent"]
    assert results[1].error is not None
    assert results[1].error.startswith("PutMetricData rejected: InvalidParameterValue: bad bad")
    assert len(results[1].error) <= len("PutMetricData rejected: ") + 256


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="http://x"),
        ClientError(
            {
                "Error": {"Code": "Throttling", "Message": "Rate exceeded"},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            },
            "PutMetricData",
        ),
        ClientError(
            {
                "Error": {"Code": "InternalFailure", "Message": "x"},
                "ResponseMetadata": {"HTTPStatusCode": 500},
            },
            "PutMetricData",
        ),
    ],
)
def test_a_failure_worth_retrying_fails_the_request_and_skips_those_not_started(error: Exception) -> None:
    client = FakeCloudWatch({"a0": error})
    results = put_all(
        lambda _: client, puts(batch("a", 1), batch("b", 1)), deadline=Deadline.after(30), max_concurrency=1
    )
    assert [r.status for r in results] == ["failed", "skipped"]
    assert results[0].error is not None and results[0].error.startswith("PutMetricData failed:")
    assert client.calls == [["a0"]]


def test_nothing_is_started_past_the_deadline() -> None:
    client = FakeCloudWatch({})
    results = put_all(lambda _: client, puts(batch("a", 2)), deadline=Deadline.after(0), max_concurrency=1)
    assert client.calls == []
    assert results == [Result("failed", "not sent: invocation deadline reached")]


def test_a_request_survives_the_backlog_encoding() -> None:
    when = datetime(2026, 11, 29, 12, 0, 0, 250000, tzinfo=UTC)
    data = [{"MetricName": "m", "Timestamp": when, "Value": 0.1, "Dimensions": [{"Name": "a", "Value": "é"}]}]
    namespace, decoded = decode_request(encode_request("NS/x", data))
    assert namespace == "NS/x"
    assert decoded == [{**data[0], "Timestamp": when.timestamp()}]
