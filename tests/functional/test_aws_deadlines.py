"""Every AWS call ends inside the time it has: endpoints on 127.0.0.1 that accept and never
answer (CloudWatch, the backlog's S3), reached through AWS_ENDPOINT_URL_<SERVICE>, while the
rest of the account is the emulator. The handler returns before its deadline with every sample
accounted for; attempts are counted at the endpoint, never timed."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError
from scrape_push.deadline import Deadline
from scrape_push.runtime import RUNTIME

from tests.functional.conftest import Emulated
from tests.functional.test_handler import config, job, sink
from tests.support.faults import fault_proxy
from tests.support.http import Response, serve
from tests.support.tcp import Silent, silent

pytestmark = pytest.mark.once  # botocore's and our bounds on silent sockets: the same on 3.13

TIMEOUT = 12.0
"""The Lambda timeout the handler is invoked with: the old bounds (13 s per attempt, 3 attempts
for CloudWatch; 6 s per attempt, 2 attempts, several calls in a row for S3) outlast it."""

EXPOSITION = Response(b"temperature 21.5\n")


def test_a_call_to_an_endpoint_that_never_answers_ends_with_its_one_attempt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with silent() as cloudwatch:
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH", cloudwatch.url)
        client = RUNTIME.aws.client("cloudwatch", deadline=Deadline.after(4.5))  # budget 4 s: 2 s an attempt
        with pytest.raises(BotoCoreError, match="Read timeout"):
            client.put_metric_data(Namespace="N", MetricData=[{"MetricName": "m", "Value": 1.0}])
    assert cloudwatch.accepted == 1  # a retry would not have fitted the budget


@pytest.mark.parametrize(("seconds", "attempts"), [(4.5, 2), (9.0, 3)])
def test_fast_failures_are_retried_while_a_whole_attempt_still_fits(
    emulated: Emulated, monkeypatch: pytest.MonkeyPatch, seconds: float, attempts: int
) -> None:
    with fault_proxy(emulated.url) as proxy:
        proxy.mode = "unavailable"  # 503 at once
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH", proxy.url)
        client = RUNTIME.aws.client("cloudwatch", deadline=Deadline.after(seconds))
        with pytest.raises(ClientError, match="503"):
            client.put_metric_data(Namespace="N", MetricData=[{"MetricName": "m", "Value": 1.0}])
    # budget 4 s: after the second attempt botocore may wait 2 s, and an attempt takes 2 s
    assert len(proxy.exchanges) == attempts


def invoke_with_silent(
    emulated: Emulated, monkeypatch: pytest.MonkeyPatch, *services: str
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Silent]]:
    """One invocation (summary, its sink's report) while ``services`` never answer."""
    with serve(EXPOSITION) as target, ExitStack() as stack:
        endpoints = {service: stack.enter_context(silent()) for service in services}
        for service, endpoint in endpoints.items():
            monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service.upper()}", endpoint.url)
        emulated.put_config(config(job("room", target.address)))
        summary = emulated.invoke(timeout=TIMEOUT)
    assert summary["duration_seconds"] < TIMEOUT
    return summary, sink(summary), endpoints


def test_a_cloudwatch_that_never_answers_fails_the_cycle_before_the_deadline(
    emulated: Emulated, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary, report, endpoints = invoke_with_silent(emulated, monkeypatch, "cloudwatch")
    assert (report["sent"], report["failed"], summary["samples_lost"]) == (
        0,
        report["offered"],
        report["offered"],
    )
    assert "Read timeout" in report["errors"][0]
    assert endpoints["cloudwatch"].accepted >= 1


def test_a_cloudwatch_that_never_answers_gets_the_cycle_spilled_before_the_deadline(
    emulated: Emulated, backlog: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary, report, _ = invoke_with_silent(emulated, monkeypatch, "cloudwatch")
    assert (report["sent"], report["spilled"], report["failed"]) == (0, report["offered"], 0)
    assert report["backlog"]["objects"] == 1 and summary["samples_lost"] == 0


def test_an_s3_that_never_answers_leaves_time_to_send_directly(
    emulated: Emulated, backlog: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, report, endpoints = invoke_with_silent(emulated, monkeypatch, "s3")
    assert (report["sent"], report["spilled"], report["failed"]) == (report["offered"], 0, 0)
    assert report["errors"][0].startswith(f"backlog bucket {backlog}: list_objects_v2 failed")
    assert "sent directly, possibly ahead of older data" in " ".join(report["warnings"])
    assert endpoints["s3"].accepted >= 2  # the replay's listing, then the spill tried first


def test_when_cloudwatch_and_s3_both_never_answer_the_loss_is_counted_before_the_deadline(
    emulated: Emulated, backlog: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary, report, _ = invoke_with_silent(emulated, monkeypatch, "s3", "cloudwatch")
    assert (report["sent"], report["spilled"], report["failed"]) == (0, 0, report["offered"])
    assert summary["samples_lost"] == report["offered"]
