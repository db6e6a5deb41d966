"""Counter deltas through the sink with its state in moto's in-process DynamoDB: scrapes that
arrive out of order (overlapping invocations, exposed timestamps) never count an interval twice."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from scrape_push.deadline import Deadline
from scrape_push.delivery import DirectDelivery
from scrape_push.model import Family
from scrape_push.sinks.cloudwatch.sink import CloudWatchSink

from devtools.resources import STATE_TABLE, create_state_table
from tests.support.cloudwatch import config, sample
from tests.unit.sinks.cloudwatch.test_sink import FakeCloudWatch

COUNTER = Family("jobs", "counter")


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_state_table(client)
        yield client


def test_deltas_of_scrapes_out_of_order_add_up_to_the_true_increase(dynamodb: Any) -> None:
    cloudwatch = FakeCloudWatch()
    sink = CloudWatchSink(
        config(counter_mode="delta"),
        clients=lambda _: cloudwatch,
        state_clients=lambda _: dynamodb,
        state_table=STATE_TABLE,
    )
    t0 = int(time.time() * 1000) - 60_000
    reports = [
        DirectDelivery(sink).push(
            [sample("jobs_total", value, ts=t0 + offset, family=COUNTER)], Deadline.after(30)
        )
        for value, offset in [(10.0, 0), (30.0, 2000), (20.0, 1000), (40.0, 3000)]
    ]
    deltas = [d["Value"] for d in cloudwatch.datums if d["MetricName"] == "jobs_total"]
    assert deltas == [20.0, 10.0] and sum(deltas) == 40.0 - 10.0
    assert [dict(r.dropped) for r in reports] == [
        {"first_sight": 1},
        {},
        {"timestamp_not_advanced": 1},
        {},
    ]
