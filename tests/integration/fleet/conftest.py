"""A real VictoriaMetrics (Debian package ``victoria-metrics``) as the Remote Write receiver of a
sharded fleet."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from devtools import processes
from tests.support.integration import HttpServer, binary, started

MAX_SERIES = 5_000_000
"""Series one query may select (VictoriaMetrics' default, 300,000, is below one fleet cycle)."""


@dataclass
class VictoriaMetrics(HttpServer):
    """``victoria-metrics`` on 127.0.0.1 with its own storage, every sample visible at once."""

    ready_path = "/health"

    def flush(self) -> None:
        """Make every sample received so far searchable."""
        requests.get(f"{self.url}/internal/force_flush", timeout=60).raise_for_status()

    def points_per_series(self, selector: str, span: str, at_seconds: float) -> dict[int, int]:
        """How many series matching ``selector`` hold how many points in the ``span`` before
        ``at_seconds`` (``{points: series}``), read with one instant query: each selecting
        query walks every series of the fleet (minutes of the receiver's CPU for a few)."""
        query = f'count_values("points", count_over_time({selector}[{span}]))'
        response = requests.get(
            f"{self.url}/api/v1/query", params={"query": query, "time": f"{at_seconds:.3f}"}, timeout=300
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        assert body["status"] == "success", body
        return {int(found["metric"]["points"]): int(found["value"][1]) for found in body["data"]["result"]}


def victoria_metrics(root: Any) -> VictoriaMetrics:
    program = binary("victoria-metrics", "/usr/bin/victoria-metrics", package="victoria-metrics")
    port = processes.free_port()
    argv = [
        program,
        f"-httpListenAddr=127.0.0.1:{port}",
        f"-storageDataPath={root / 'data'}",
        "-retentionPeriod=100y",
        "-search.latencyOffset=0s",
        "-search.disableCache",
        f"-search.maxUniqueTimeseries={MAX_SERIES}",
        "-search.maxQueryDuration=300s",
    ]
    return VictoriaMetrics(argv, port, root)


@pytest.fixture(scope="session")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaMetrics]:
    with started(victoria_metrics(tmp_path_factory.mktemp("victoria-metrics"))) as server:
        yield server
