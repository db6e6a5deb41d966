"""Staleness against the real Prometheus 2.42: one Prometheus scrapes an endpoint itself, the real
handler scrapes the same endpoint and remote-writes into a second one; after a series
disappears and after the target starts failing, both answer an instant query the same way at
once (without markers the second would keep answering for the 5-minute lookback)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools import processes
from tests.integration.remote_write.conftest import Receiver
from tests.support.http import Response, serve
from tests.support.integration import binary, started

pytestmark = pytest.mark.integration

JOB = "staleness"
SCRAPE_SECONDS = 1
"""The direct Prometheus's scrape interval: each change is seen within about a second."""
SEEN_SECONDS = 15.0


def direct_prometheus(root: Path, target: str) -> Receiver:
    """A Prometheus that scrapes ``target`` itself every second (not started yet)."""
    prometheus = binary("prometheus", "/usr/bin/prometheus", package="prometheus")
    (root / "prometheus.yml").write_text(
        f"global: {{scrape_interval: {SCRAPE_SECONDS}s, scrape_timeout: {SCRAPE_SECONDS}s}}\n"
        f"scrape_configs:\n  - job_name: {JOB}\n    static_configs: [{{targets: ['{target}']}}]\n"
    )
    port = processes.free_port()
    argv = [
        prometheus,
        f"--web.listen-address=127.0.0.1:{port}",
        f"--storage.tsdb.path={root / 'data'}",
        f"--config.file={root / 'prometheus.yml'}",
    ]
    return Receiver(argv, port, root)


def answer(server: Receiver, query: str, at: float) -> dict[tuple[tuple[str, str], ...], str]:
    """An instant query's series (labels -> value) at ``at``."""
    result = server.api("query", query=query, time=f"{at:.3f}")["result"]
    return {tuple(sorted(found["metric"].items())): found["value"][1] for found in result}


def scraped_by_direct(direct: Receiver, query: str, expected: dict[Any, str]) -> None:
    """Wait (bounded) until the direct Prometheus answers ``query`` with ``expected``."""
    processes.wait_until(lambda: answer(direct, query, time.time()) == expected, SEEN_SECONDS)


@pytest.fixture
def endpoint() -> Iterator[Any]:
    body = [Response(b'# TYPE st_a gauge\nst_a 1\nst_b{k="v"} 2\n')]
    with serve(lambda _path: body[0]) as served:
        served.body = body  # type: ignore[attr-defined]
        yield served


def test_series_gone_and_target_failing_end_at_once_in_both(
    emulated: Any, receiver: Receiver, endpoint: Any, tmp_path: Path
) -> None:
    labels = (("instance", endpoint.address), ("job", JOB))
    st_a = (("__name__", "st_a"), *labels)
    st_b = (("__name__", "st_b"), *labels[:1], ("job", JOB), ("k", "v"))
    emulated.put_config(
        f"scrape_configs:\n  - job_name: {JOB}\n    static_configs: [{{targets: ['{endpoint.address}']}}]\n"
        f"remote_write: [{{url: '{receiver.write_url}'}}]\n"
    )
    with started(direct_prometheus(tmp_path, endpoint.address)) as direct:
        scraped_by_direct(direct, f'st_a{{job="{JOB}"}}', {st_a: "1"})
        assert emulated.invoke()["sinks"][0]["ok"]
        now = time.time()
        assert answer(receiver, f'{{job="{JOB}",__name__=~"st_.*"}}', now) == {st_a: "1", st_b: "2"}

        endpoint.body[0] = Response(b"# TYPE st_a gauge\nst_a 3\n")
        scraped_by_direct(direct, f'st_b{{job="{JOB}"}}', {})  # Prometheus marked it stale
        summary = emulated.invoke()
        assert summary["stale_markers"] == 1 and summary["sinks"][0]["ok"]
        now = time.time()
        for query in (
            f'st_b{{job="{JOB}"}}',
            f'st_a{{job="{JOB}"}}',
            f'count({{job="{JOB}",__name__=~"st_.*"}})',
        ):
            assert answer(direct, query, now) == answer(receiver, query, now), query
        assert answer(receiver, f'st_b{{job="{JOB}"}}', now) == {}

        endpoint.body[0] = Response(b"down", status=503)
        up = (("__name__", "up"), *labels)
        scraped_by_direct(direct, f'up{{job="{JOB}"}}', {up: "0"})
        summary = emulated.invoke()
        assert summary["targets"][0]["up"] == 0 and summary["stale_markers"] == 1
        now = time.time()
        for query in (
            f'st_a{{job="{JOB}"}}',
            f'up{{job="{JOB}"}}',
            f'count({{job="{JOB}",__name__=~"st_.*"}})',
        ):
            assert answer(direct, query, now) == answer(receiver, query, now), query
        assert answer(receiver, f'st_a{{job="{JOB}"}}', now) == {}
        assert answer(receiver, f'up{{job="{JOB}"}}', now) == {up: "0"}
