"""A real Prometheus (Debian package ``prometheus``) as the Remote Write receiver, and the
emulated AWS account of the functional tests (re-exported so the real handler runs here too)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from devtools import processes
from tests.functional.conftest import emulated, moto_server  # noqa: F401  (fixtures re-exported)
from tests.support.integration import HttpServer, binary, started


@dataclass
class Receiver(HttpServer):
    """``prometheus --web.enable-remote-write-receiver`` on 127.0.0.1 with its own storage."""

    ready_path = "/-/ready"

    def api(self, path: str, **params: Any) -> Any:
        response = requests.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        response.raise_for_status()
        body = response.json()
        assert body["status"] == "success", body
        return body["data"]


def prometheus_receiver(root: Path) -> Receiver:
    """A receiver (not started yet) keeping its configuration, storage and logs under ``root``."""
    prometheus = binary("prometheus", "/usr/bin/prometheus", package="prometheus")
    (root / "prometheus.yml").write_text("global: {}\n")
    port = processes.free_port()
    argv = [
        prometheus,
        "--web.enable-remote-write-receiver",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--storage.tsdb.path={root / 'data'}",
        f"--config.file={root / 'prometheus.yml'}",
    ]
    return Receiver(argv, port, root)


@pytest.fixture(scope="session")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    """A running receiver with temporary storage, for the whole session."""
    with started(prometheus_receiver(tmp_path_factory.mktemp("prometheus"))) as server:
        yield server
