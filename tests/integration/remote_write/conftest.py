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
from tests.support.integration import binary

READY_SECONDS = 30.0


@dataclass
class Receiver:
    process: processes.Process

    @property
    def write_url(self) -> str:
        return f"{self.process.url}/api/v1/write"

    def api(self, path: str, **params: Any) -> Any:
        response = requests.get(f"{self.process.url}/api/v1/{path}", params=params, timeout=10)
        response.raise_for_status()
        body = response.json()
        assert body["status"] == "success", body
        return body["data"]


@pytest.fixture(scope="session")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    """``prometheus --web.enable-remote-write-receiver`` on 127.0.0.1, temporary storage."""
    prometheus = binary("prometheus", "/usr/bin/prometheus", package="prometheus")
    tmp: Path = tmp_path_factory.mktemp("prometheus")
    (tmp / "prometheus.yml").write_text("global: {}\n")
    port = processes.free_port()
    argv = [
        prometheus,
        "--web.enable-remote-write-receiver",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--storage.tsdb.path={tmp / 'data'}",
        f"--config.file={tmp / 'prometheus.yml'}",
    ]
    with processes.running(argv, port, tmp / "prometheus.log") as process:
        processes.wait_until(lambda: _ready(process.url), READY_SECONDS)
        yield Receiver(process)


def _ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/-/ready", timeout=2).status_code == 200
    except requests.RequestException:
        return False
