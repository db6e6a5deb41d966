"""Several cycles of the real handler with changing counter values, for every counter mode:
deltas and rates across a counter reset, read back from the emulator; state in emulated DynamoDB."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from scrape_push.runtime import RUNTIME

from tests.functional.conftest import Emulated
from tests.support.cloudwatch import metric_data
from tests.support.http import OPENMETRICS_FORMAT, Response, serve

NAMESPACE = "CounterTest"
EXPOSITION = """\
# TYPE jobs_processed counter
jobs_processed_total{{queue="a"}} {value}
jobs_processed_created{{queue="a"}} {created}
# EOF
"""
# 10 -> 15 -> 3 (the process restarted: lower value, newer _created) -> 7
CYCLES = [(10, 1000.0), (15, 1000.0), (3, 2000.0), (7, 2000.0)]


@dataclass
class Target:
    """An exposition endpoint whose counter value the test moves between cycles."""

    address: str
    value: float = 0.0
    created: float = 0.0


@pytest.fixture
def target() -> Iterator[Target]:
    state = Target("")

    def respond(_path: str) -> Response:
        body = EXPOSITION.format(value=state.value, created=state.created)
        return Response(body.encode(), OPENMETRICS_FORMAT)

    with serve(respond) as endpoint:
        state.address = endpoint.address
        yield state


def config(address: str, mode: str) -> str:
    return (
        "scrape_configs:\n"
        f"  - job_name: worker\n    static_configs:\n      - targets: ['{address}']\n"
        f"cloudwatch:\n  - namespace: {NAMESPACE}\n    counter_mode: {mode}\n"
        "    dimensions: [job, queue]\n"
    )


def run_cycles(emulated: Emulated, target: Target, mode: str) -> list[dict[str, Any]]:
    emulated.put_config(config(target.address, mode))
    reports = []
    for value, created in CYCLES:
        target.value, target.created = value, created
        summary = emulated.invoke()
        (report,) = summary["sinks"]
        assert report["ok"] and report["failed"] == 0, report
        reports.append(report)
    return reports


def sent(emulated: Emulated) -> list[tuple[datetime, float, str | None]]:
    return [
        (d["Timestamp"], d["Value"], d.get("Unit"))
        for d in emulated.strict.datums
        if d["MetricName"] == "jobs_processed_total"
    ]


def statistic(emulated: Emulated, stat: str) -> float:
    cloudwatch = emulated.client("cloudwatch")
    points = metric_data(cloudwatch, NAMESPACE, "jobs_processed_total", stat, job="worker", queue="a")
    values = [v for _, v in points]
    return max(values) if stat == "Maximum" else sum(values)


def test_cumulative_sends_raw_values_without_state(emulated: Emulated, target: Target) -> None:
    calls: list[str] = []
    RUNTIME.aws.session().events.register("before-call.dynamodb", lambda **kw: calls.append(kw["event_name"]))
    reports = run_cycles(emulated, target, "cumulative")
    assert [v for _, v, _ in sent(emulated)] == [10.0, 15.0, 3.0, 7.0]
    assert all(r["dropped"] == {} for r in reports) and calls == []
    assert statistic(emulated, "Maximum") == 15.0


def test_delta_counts_a_reset_from_zero(emulated: Emulated, target: Target, state_table: str) -> None:
    calls: list[str] = []
    RUNTIME.aws.session().events.register("before-call.dynamodb", lambda **kw: calls.append(kw["event_name"]))
    reports = run_cycles(emulated, target, "delta")
    # one BatchGetItem and one PutItem per invocation; and the staleness record: read by the
    # first invocation, written by the second (at most one request of its own a cycle)
    assert len(calls) == 2 * len(CYCLES) + 2
    assert reports[0]["dropped"] == {"first_sight": 2}  # the counter and its _created
    assert [r["sent"] for r in reports] == [5, 7, 7, 7]  # up/scrape_* always; the counter after
    assert [(v, unit) for _, v, unit in sent(emulated)] == [(5.0, "Count"), (3.0, "Count"), (4.0, "Count")]
    assert statistic(emulated, "Sum") == 12.0
    assert statistic(emulated, "SampleCount") == 3.0


def test_rate_is_the_increase_per_second_between_scrapes(
    emulated: Emulated, target: Target, state_table: str
) -> None:
    run_cycles(emulated, target, "rate")
    up_stamps = sorted(d["Timestamp"] for d in emulated.strict.datums if d["MetricName"] == "up")
    rates = sent(emulated)
    assert [unit for _, _, unit in rates] == ["Count/Second"] * 3
    for (stamp, rate, _), before, increase in zip(rates, up_stamps, (5.0, 3.0, 4.0), strict=False):
        seconds = (stamp - before).total_seconds() if stamp != before else None
        assert seconds is None or rate == pytest.approx(increase / seconds, rel=1e-3)
    assert statistic(emulated, "SampleCount") == 3.0


def test_an_overlapping_invocation_that_wrote_first_owns_the_interval(
    emulated: Emulated, target: Target, state_table: str
) -> None:
    dynamodb = emulated.client("dynamodb")
    armed, raced = [False], []

    def other_invocation_writes_first(params: dict[str, Any], **_: Any) -> None:
        if armed[0] and not raced:  # between this invocation's read and its write, another writes
            raced.append(params["Item"]["pk"]["S"])
            item = {**params["Item"], "version": {"N": str(int(params["Item"]["version"]["N"]) + 7)}}
            dynamodb.put_item(TableName=state_table, Item=item)

    RUNTIME.aws.session().events.register(
        "provide-client-params.dynamodb.PutItem", other_invocation_writes_first
    )
    emulated.put_config(config(target.address, "delta"))
    target.value, target.created = 10, 1000.0
    emulated.invoke()
    armed[0] = True
    target.value = 15
    (report,) = emulated.invoke()["sinks"]
    assert raced and report["dropped"] == {"state_conflict": 2} and report["ok"]
    assert sent(emulated) == []  # the interval belongs to the invocation that wrote first
    target.value = 18
    emulated.invoke()
    assert [v for _, v, _ in sent(emulated)] == [3.0]
