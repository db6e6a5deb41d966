"""2,000 targets of 1,000 series in 8 shards, the workers in parallel processes, into a real
VictoriaMetrics: every series arrives exactly once per cycle, with a timestamp of that cycle."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools import target_fleet
from devtools.fleet import FleetCycle, LocalFleet, emulated_account, fragments, put_config
from tests.integration.fleet.conftest import VictoriaMetrics

TARGETS = 2000
SERIES = 1000
SHARDS = 8
SYNTHETIC = 5
"""``up``, ``scrape_duration_seconds``, ``scrape_samples_scraped``,
``scrape_samples_post_metric_relabeling``, ``scrape_series_added``."""
MEMORY_MB = 1769
"""One full vCPU's worth of Lambda memory; the issue's bound on a worker's peak."""
TIMEOUT_SECONDS = 300.0
"""Generous: 8 workers share this machine's CPUs, where Lambda gives each its own."""
ALL = '{job=~"fleet-.+"}'


pytestmark = pytest.mark.scale


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[target_fleet.Targets]:
    with target_fleet.running(tmp_path_factory.mktemp("fleet-app"), TARGETS, SERIES) as running:
        yield running


def test_every_series_arrives_once_per_cycle_with_its_cycle_s_timestamp(
    app: target_fleet.Targets, receiver: VictoriaMetrics, tmp_path: Path
) -> None:
    with emulated_account(tmp_path) as (env, queues):
        put_config(env, fragments(app.addresses, receiver.write_url, SHARDS, scrape_timeout="60s"))
        fleet = LocalFleet(tmp_path, env, queues, workers=SHARDS)
        try:
            windows = [_timed(fleet) for _ in range(2)]
        finally:
            fleet.stop()
    receiver.flush()
    expected = TARGETS * (SERIES + SYNTHETIC)
    for cycle, start_ms, end_ms in windows:
        planned = cycle.planned["shards"]
        assert (planned["planned"], planned["sent"], planned["unsent"]) == (SHARDS, SHARDS, [])
        shards = sorted(w.shard["shard"] for w in cycle.workers if w.shard)
        assert shards == list(range(SHARDS)), _unfinished(cycle)  # each shard once, none retried
        summaries = [s for w in cycle.workers for s in w.summaries if s and "sinks" in s]
        assert sum(s["targets_up"] for s in summaries) == TARGETS
        assert all(s["ok"] and s["samples_lost"] == 0 for s in summaries)
        assert all(w.max_rss_kb < MEMORY_MB * 1024 for w in cycle.workers)
        span = f"{(end_ms - start_ms) / 1000 + 0.001:.3f}s"
        at = end_ms / 1000
        assert receiver.points_per_series(ALL, span, at) == {1: expected}  # every series, once each
    first, last = windows[0][1], windows[-1][2]
    whole = f"{(last - first) / 1000 + 0.001:.3f}s"
    assert receiver.points_per_series(ALL, whole, last / 1000) == {2: expected}  # and nothing between


def _unfinished(cycle: FleetCycle) -> list[object]:
    """What the shard runs that did not finish said, and the invocations that erred."""
    return [
        w.shard if w.shard and w.shard["status"] != "done" else w.error
        for w in cycle.workers
        if w.error is not None or (w.shard and w.shard["status"] != "done")
    ]


def _timed(fleet: LocalFleet) -> tuple[FleetCycle, int, int]:
    """Run a cycle; with it the time it was planned at and the time its last shard was done."""
    cycle = fleet.cycle(TIMEOUT_SECONDS, MEMORY_MB)
    start_ms = next(w.shard["cycle_ms"] for w in cycle.workers if w.shard)
    return cycle, start_ms, int(time.time() * 1000)
