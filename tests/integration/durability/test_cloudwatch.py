"""CloudWatch (the moto server behind a fault-injecting proxy) answering 503 for several cycles,
then recovering: every cycle's datapoint is stored once, at its own timestamp. S3 and DynamoDB
(backlog and lease) keep going to the emulator directly."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.functional.conftest import Emulated
from tests.integration.durability.conftest import CODES, Cycles, Exposition, run_through_outage, value
from tests.support.cloudwatch import metric_data
from tests.support.faults import fault_proxy
from tests.support.http import serve

pytestmark = pytest.mark.integration

NAMESPACE = "DurableTest"
PERIOD = 60
"""The period ``metric_data`` reads by."""
OUTAGE_CYCLES = 2


def query(emulated: Emulated, name: str, stat: str, since: datetime, **dims: str) -> list[tuple[int, float]]:
    """``(period start, statistic)`` of each period holding datapoints, read from the emulator."""
    points = metric_data(emulated.client("cloudwatch"), NAMESPACE, name, stat, since, **dims)
    return [(int(t.timestamp()), v) for t, v in points]


def test_cloudwatch_unavailable_then_recovered_stores_every_cycle_once(
    cycles: Cycles, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulated = cycles.emulated
    start = (int(time.time()) // PERIOD - 10) * PERIOD  # ten minutes ago, on a period boundary
    # A period of its own per scrape (in the middle of it), none of them in the future.
    cycles.exposition = Exposition(timestamp=lambda n: (start + n * PERIOD + PERIOD // 2) * 1000)
    with serve(cycles.exposition.respond) as endpoint, fault_proxy(emulated.url) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH", proxy.url)
        emulated.put_config(
            "scrape_configs:\n"
            f"  - job_name: durable\n    static_configs: [{{targets: ['{endpoint.address}']}}]\n"
            f"cloudwatch:\n  - namespace: {NAMESPACE}\n    dimensions: [job, instance, code]\n"
        )

        def fail() -> None:
            proxy.mode = "unavailable"

        def recover() -> None:
            proxy.mode = "forward"

        run_through_outage(cycles, fail, recover, "503", OUTAGE_CYCLES)

    assert proxy.accepted() and all(e.path == "/" for e in proxy.exchanges)  # only CloudWatch went there
    scrapes = [run.scrape for run in cycles.runs]
    assert scrapes == list(range(1, OUTAGE_CYCLES + 3))
    since = datetime.fromtimestamp(start, UTC)
    target = {"job": "durable", "instance": endpoint.address}
    exposed: list[tuple[str, dict[str, Any]]] = [("durable_scrape", {})]
    exposed += [("durable_requests_total", {"code": code}) for code in CODES]
    periods = [start + n * PERIOD for n in scrapes]
    for name, labels in exposed:
        values = [value({"__name__": name, **labels}, n) for n in scrapes]
        assert query(emulated, name, "SampleCount", since, **target, **labels) == [(p, 1.0) for p in periods]
        assert query(emulated, name, "Maximum", since, **target, **labels) == list(
            zip(periods, values, strict=True)
        )
    # The series without a timestamp of their own (up, scrape_*) carry the scrape time: one
    # datapoint per cycle in all.
    for name in ("up", "scrape_samples_scraped"):
        counts = query(emulated, name, "SampleCount", since, **target)
        assert sum(count for _, count in counts) == len(scrapes), (name, counts)
