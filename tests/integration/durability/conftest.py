"""Fault injection against real receivers: the real handler with its S3 backlog and DynamoDB
lease (moto server), cycle after cycle, while a destination is down, stuck or contended.

``Cycles`` runs the handler and remembers each invocation's window and summary; ``Exposition``
serves values that say which scrape they came from, so every point a receiver holds can be
traced back to exactly one cycle.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.functional.conftest import (  # noqa: F401  (fixtures re-exported)
    Emulated,
    emulated,
    moto_server,
    state_table,
)
from tests.integration.remote_write.conftest import Receiver, prometheus_receiver
from tests.support.faults import FaultProxy
from tests.support.http import Response
from tests.support.integration import started
from tests.support.remote_write import decode, series_of

BUCKET = "scrape-push-backlog"

CODES = ("200", "201", "204", "301", "404", "500")
EXPOSED = frozenset({"durable_scrape", "durable_requests_total"})
SYNTHETIC = frozenset(
    {
        "up",
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_samples_post_metric_relabeling",
        "scrape_series_added",
    }
)
SAMPLES_PER_SCRAPE = 1 + len(CODES) + len(SYNTHETIC)

Labels = tuple[tuple[str, str], ...]


def value(labels: Labels | dict[str, str], scrape: int) -> float:
    """What scrape number ``scrape`` served for an exposed series."""
    named = dict(labels)
    if named["__name__"] == "durable_scrape":
        return float(scrape)
    return float(scrape * (CODES.index(named["code"]) + 1))


@dataclass
class Exposition:
    """A target whose n-th scrape serves values made of n, with ``timestamp(n)`` (ms) when given."""

    timestamp: Callable[[int], int] | None = None
    scrapes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def respond(self, _path: str) -> Response:
        with self.lock:
            self.scrapes += 1
            n = self.scrapes
        ts = f" {self.timestamp(n)}" if self.timestamp else ""
        lines = [
            "# TYPE durable_scrape gauge",
            f"durable_scrape {n}{ts}",
            "# TYPE durable_requests_total counter",
        ]
        lines += [
            f'durable_requests_total{{code="{code}"}} {value({"__name__": "x", "code": code}, n):g}{ts}'
            for code in CODES
        ]
        return Response(("\n".join(lines) + "\n").encode())


@dataclass
class Run:
    """One invocation: the scrape it made, when it ran (ms) and what it returned."""

    scrape: int
    started_ms: int
    ended_ms: int = 0
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def sink(self) -> dict[str, Any]:
        (report,) = self.summary["sinks"]
        return dict(report)

    @property
    def backlog(self) -> dict[str, Any]:
        return dict(self.sink["backlog"])


@dataclass
class Cycles:
    """Runs the real handler once per cycle against ``exposition``."""

    emulated: Emulated
    exposition: Exposition
    runs: list[Run] = field(default_factory=list)

    def run(self, timeout: float = 30.0) -> Run:
        """One invocation (of one scrape: start the next only once this one has scraped)."""
        run = Run(self.exposition.scrapes + 1, int(time.time() * 1000))
        self.runs.append(run)
        run.summary = self.emulated.invoke(timeout=timeout)
        run.ended_ms = int(time.time() * 1000)
        (target,) = run.summary["targets"]
        assert target["up"] == 1, target
        assert run.sink["offered"] == run.summary["samples"] == SAMPLES_PER_SCRAPE
        return run


@pytest.fixture
def backlog_bucket(emulated: Emulated, monkeypatch: pytest.MonkeyPatch) -> str:  # noqa: F811
    """The backlog bucket, created in the emulator and named by BACKLOG_BUCKET."""
    emulated.client("s3").create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("BACKLOG_BUCKET", BUCKET)
    return BUCKET


@pytest.fixture
def cycles(emulated: Emulated, backlog_bucket: str, state_table: str) -> Cycles:  # noqa: F811
    """The handler with a durable backlog (bucket and lease table) and a fresh exposition."""
    return Cycles(emulated, Exposition())


@pytest.fixture(scope="module")
def prometheus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    with started(prometheus_receiver(tmp_path_factory.mktemp("prometheus"))) as server:
        yield server


@pytest.fixture
def prometheus(prometheus_server: Receiver) -> Receiver:
    """The module's Prometheus receiver, running (a test that stopped it and failed left it so)."""
    if not prometheus_server.running:
        prometheus_server.start()
    return prometheus_server


def assert_sent_live(run: Run) -> None:
    """The cycle's samples were sent, with the lease held and nothing left waiting; the report
    is ``ok`` unless the cycle discarded backlog past its bounds."""
    sink = run.sink
    assert (sink["sent"], sink["spilled"], sink["failed"], sink["rejected"]) == (
        SAMPLES_PER_SCRAPE,
        0,
        0,
        0,
    ), sink
    assert run.backlog["lease"] == "held" and run.backlog["objects"] == 0, sink
    assert run.backlog["rejected"] == 0, sink
    assert sink["ok"] is (not run.backlog["lost"]), sink


def assert_spilled(run: Run) -> None:
    """The cycle's samples went to the backlog, none lost."""
    sink = run.sink
    assert (sink["sent"], sink["spilled"], sink["failed"], sink["rejected"]) == (
        0,
        SAMPLES_PER_SCRAPE,
        0,
        0,
    ), sink
    assert not sink["ok"] and run.backlog["lost"] == {}, sink


def run_through_outage(
    cycles: Cycles, stop: Callable[[], None], restart: Callable[[], None], error: str, outage_cycles: int = 3
) -> None:
    """A healthy cycle; ``stop`` the destination; ``outage_cycles`` cycles that keep their samples
    in the backlog (their first error says ``error``), which grows by one item each; ``restart``
    it; a cycle that replays the whole backlog, then sends its own samples."""
    assert_sent_live(cycles.run())
    stop()
    for outage in range(1, outage_cycles + 1):
        run = cycles.run()
        assert_spilled(run)
        assert error in run.sink["errors"][0], run.sink
        assert run.backlog["objects"] == outage, run.backlog
        assert run.backlog["samples"] == outage * SAMPLES_PER_SCRAPE, run.backlog
        assert run.backlog["replayed"] == 0, run.backlog
    restart()
    recovery = cycles.run()
    assert recovery.backlog["replayed"] == outage_cycles * SAMPLES_PER_SCRAPE, recovery.sink
    assert recovery.backlog["lost"] == {}, recovery.sink
    assert_sent_live(recovery)


def remote_write_config(target: str, url: str, backlog: str = "{}") -> str:
    """One job, one Remote Write sink. A failed request is not retried within the cycle (the
    backoff outlasts it): the outage is what is under test, not the retry policy."""
    return (
        f"scrape_configs:\n  - job_name: durable\n    static_configs: [{{targets: ['{target}']}}]\n"
        f"remote_write:\n  - url: {url}/api/v1/write\n    name: receiver\n"
        "    queue_config: {min_backoff: 1m, max_backoff: 1m}\n"
        f"    backlog: {backlog}\n"
    )


def stored(prometheus: Receiver, instance: str) -> dict[Labels, list[tuple[int, float]]]:
    """Every raw sample Prometheus holds for the target ``instance``, per series, oldest first."""
    found = prometheus.api("query", query=f'{{job="durable",instance="{instance}"}}[1h]')
    return {
        tuple(sorted(series["metric"].items())): [
            (round(float(t) * 1000), float(v)) for t, v in series["values"]
        ]
        for series in found["result"]
    }


def written(proxy: FaultProxy) -> list[list[tuple[Labels, int]]]:
    """The samples of each write request the receiver accepted, in the order they arrived."""
    requests = []
    for exchange in proxy.accepted():
        if exchange.path == "/api/v1/write":
            samples = [
                (labels, ts)
                for labels, points in series_of(decode(exchange.body)).items()
                for ts, _ in points
            ]
            if samples:
                requests.append(samples)
    return requests


def assert_delivered_once(
    prometheus: Receiver, proxy: FaultProxy, instance: str, runs: Sequence[Run]
) -> None:
    """Prometheus holds, for every scraped series, one sample from each of ``runs`` (in scrape
    order) with its scrape time and value, and nothing else; each was written exactly once,
    and the accepted write requests arrived in time order (Prometheus refuses older samples)."""
    series = stored(prometheus, instance)
    assert {dict(labels)["__name__"] for labels in series} == EXPOSED | SYNTHETIC
    assert len(series) == SAMPLES_PER_SCRAPE
    for labels, points in series.items():
        assert len(points) == len(runs), (labels, points, [r.scrape for r in runs])
        for (ts, stored_value), run in zip(points, runs, strict=True):
            assert run.started_ms <= ts <= run.ended_ms, (labels, ts, run)
            if dict(labels)["__name__"] in EXPOSED:
                assert stored_value == value(labels, run.scrape), (labels, ts, run)
    requests = written(proxy)
    counts = Counter(sample for request in requests for sample in request)
    assert set(counts) == {(labels, ts) for labels, points in series.items() for ts, _ in points}
    assert set(counts.values()) == {1}, "a sample was written twice"
    for earlier, later in itertools.pairwise(requests):
        assert max(ts for _, ts in earlier) <= min(ts for _, ts in later), "written out of order"
