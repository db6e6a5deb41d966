"""The strict PutMetricData checker itself: it must catch what real CloudWatch rejects, on the
request exactly as botocore sends it (gzip-compressed above 10 KB). No network: a handler
answers every request before it is sent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from tests.support.strict_cloudwatch import MAX_BODY_BYTES, StrictCloudWatch

ANSWER = (
    b"<PutMetricDataResponse><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>"
    b"</PutMetricDataResponse>"
)


@pytest.fixture
def checked() -> Iterator[tuple[Any, StrictCloudWatch]]:
    session = boto3.session.Session(aws_access_key_id="a", aws_secret_access_key="b", region_name="us-east-1")
    strict = StrictCloudWatch()
    strict.install(session)

    def answer(request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, 200, {}, _Raw(ANSWER))

    session.events.register("before-send.cloudwatch.PutMetricData", answer)
    yield session.client("cloudwatch", endpoint_url="http://127.0.0.1:9"), strict


class _Raw:
    """What AWSResponse reads its body from."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def test_a_body_over_one_megabyte_is_caught_although_botocore_compressed_it(
    checked: tuple[Any, StrictCloudWatch],
) -> None:
    client, strict = checked
    datums = [
        {"MetricName": "m", "Value": 1.0, "Dimensions": [{"Name": "d", "Value": f"{i:04d}" + "v" * 1000}]}
        for i in range(1000)
    ]
    client.put_metric_data(Namespace="N", MetricData=datums)
    (size,) = strict.body_sizes
    assert size > MAX_BODY_BYTES  # measured uncompressed
    assert strict.violations == [f"request body of {size} bytes (max {MAX_BODY_BYTES})"]


def test_a_request_within_the_limits_passes(checked: tuple[Any, StrictCloudWatch]) -> None:
    client, strict = checked
    client.put_metric_data(
        Namespace="N", MetricData=[{"MetricName": "m", "Values": [0.0, 2.0**360], "Counts": [1.0, 2.0**-360]}]
    )
    assert strict.violations == []


@pytest.mark.parametrize(
    ("field", "member", "fault"),
    [
        ("Values", 2.0**361, "value"),
        ("Values", -(2.0**361), "value"),
        ("Values", 2.0**-361, "value"),
        ("Counts", 2e300, "count"),
        ("Counts", 1e-300, "count"),
        ("Counts", -1.0, "count"),
    ],
)
def test_distribution_members_out_of_cloudwatchs_range_are_caught(
    checked: tuple[Any, StrictCloudWatch], field: str, member: float, fault: str
) -> None:
    client, strict = checked
    datum: dict[str, Any] = {"MetricName": "m", "Values": [1.0, 2.0], "Counts": [1.0, 1.0]}
    datum[field] = [1.0, member]
    client.put_metric_data(Namespace="N", MetricData=[datum])
    assert strict.violations == [f"MetricData[0]: {fault} {member!r} not accepted"]
