"""Two real Prometheus 2.42 servers with ``--enable-feature=native-histograms``: one scrapes
the test's protobuf endpoint itself, the other receives what scrape-push remote-writes from the
same endpoint. The emulated AWS account of the functional tests is re-exported so that the real
handler runs here too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools import processes
from tests.functional.conftest import emulated, moto_server  # noqa: F401  (fixtures re-exported)
from tests.integration.remote_write.conftest import Receiver
from tests.support.integration import binary, started

NATIVE = "--enable-feature=native-histograms"


def prometheus(root: Path, config: str, *flags: str) -> Receiver:
    """A Prometheus (not started yet) with ``config``, its storage and logs under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "prometheus.yml").write_text(config)
    port = processes.free_port()
    argv = [
        binary("prometheus", "/usr/bin/prometheus", package="prometheus"),
        NATIVE,
        *flags,
        f"--web.listen-address=127.0.0.1:{port}",
        f"--storage.tsdb.path={root / 'data'}",
        f"--config.file={root / 'prometheus.yml'}",
    ]
    return Receiver(argv, port, root)


@pytest.fixture
def native_receiver(tmp_path: Path) -> Iterator[Receiver]:
    """A remote-write receiver that stores native histograms."""
    with started(
        prometheus(tmp_path / "receiver", "global: {}\n", "--web.enable-remote-write-receiver")
    ) as server:
        yield server


def scraper(root: Path, target: str) -> Receiver:
    """A Prometheus scraping ``target`` every second as job ``proto``."""
    config = (
        "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
        "scrape_configs:\n  - job_name: proto\n"
        f"    static_configs:\n      - targets: ['{target}']\n"
    )
    return prometheus(root, config)
