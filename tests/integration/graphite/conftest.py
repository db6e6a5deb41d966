"""A real carbon-cache (Debian's graphite-carbon) on 127.0.0.1 with a throw-away config and storage."""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools import processes
from tests.functional.conftest import emulated, moto_server  # noqa: F401 - fixtures used here too
from tests.support.integration import Server, binary, started, unavailable

FLUSH_TIMEOUT_SECONDS = 30.0
"""Carbon writes its cache to whisper files in a background thread; wait at most this long."""

CARBON_CONF = """\
[cache]
STORAGE_DIR = {storage}
LOCAL_DATA_DIR = {storage}/whisper
WHITELISTS_DIR = {storage}/lists
LOG_DIR = {storage}/log
PID_DIR = {storage}
USER =
ENABLE_LOGROTATION = False
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = 100000
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = {plaintext}
ENABLE_UDP_LISTENER = True
UDP_RECEIVER_INTERFACE = 127.0.0.1
UDP_RECEIVER_PORT = {udp}
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = {pickle}
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = {query}
# Tagged series are still stored (under whisper/_tagged/); only the graphite-web TagDB
# registration, an HTTP call to graphite-web, is turned off.
ENABLE_TAGS = False
# No self-instrumentation: carbon would write its own carbon.agents.* series 60 s after start,
# and a slow run would then see files the test did not send.
CARBON_METRIC_INTERVAL = 0
"""

STORAGE_SCHEMAS = """\
[everything]
pattern = .*
retentions = 1s:1h
"""


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(kw_only=True)
class Carbon(Server):
    """A carbon-cache: its receivers' addresses and its whisper directory."""

    ports: dict[str, int]
    whisper_dir: Path

    def address(self, protocol: str) -> str:
        return f"127.0.0.1:{self.ports[protocol]}"

    def wait_ready(self, process: processes.Process) -> None:
        processes.wait_for_port(self.ports["pickle"], process.popen)

    def whisper_file(self, name: str) -> Path:
        """Where carbon keeps series ``name`` (tagged names under ``_tagged``, by hash)."""
        if ";" in name:
            digest = hashlib.sha256(name.encode()).hexdigest()
            return self.whisper_dir / "_tagged" / digest[:3] / digest[3:6] / f"{digest}.wsp"
        return self.whisper_dir.joinpath(*name.split(".")).with_suffix(".wsp")

    def files(self) -> set[Path]:
        return set(self.whisper_dir.rglob("*.wsp"))

    def points(
        self, names: list[str], count: int = 1, since: int | None = None
    ) -> dict[str, list[tuple[int, float]]]:
        """Each series' stored points from ``since`` (default: the last ten minutes), once every
        one has at least ``count`` of them (polling, bounded)."""
        import whisper

        give_up = time.monotonic() + FLUSH_TIMEOUT_SECONDS
        while True:
            found: dict[str, list[tuple[int, float]]] = {}
            for name in names:
                path = self.whisper_file(name)
                try:
                    (start, _, step), values = whisper.fetch(str(path), since or int(time.time()) - 600)
                except (FileNotFoundError, whisper.CorruptWhisperFile):
                    continue  # not created yet, or carbon is still writing its header
                stored = [(start + i * step, v) for i, v in enumerate(values) if v is not None]
                if stored:
                    found[name] = stored
            if all(len(found.get(name, ())) >= count for name in names) or time.monotonic() > give_up:
                return found
            time.sleep(0.1)


def carbon_server(root: Path) -> Carbon:
    """A carbon-cache (not started yet) keeping its configuration, storage and logs under ``root``."""
    executable = binary("carbon-cache", "/usr/bin/carbon-cache", package="graphite-carbon")
    try:
        import whisper  # noqa: F401
    except ImportError:
        unavailable("the whisper module is not installed (requirements-dev.txt)")
    storage = root / "storage"
    (storage / "whisper").mkdir(parents=True)
    ports = {
        "plaintext": processes.free_port(),
        "pickle": processes.free_port(),
        "udp": free_udp_port(),
        "query": processes.free_port(),
    }
    conf = root / "carbon.conf"
    conf.write_text(CARBON_CONF.format(storage=storage, **ports))
    (root / "storage-schemas.conf").write_text(STORAGE_SCHEMAS)
    argv = [executable, f"--config={conf}", "--debug", "start"]
    return Carbon(argv, ports["plaintext"], root, ports=ports, whisper_dir=storage / "whisper")


@pytest.fixture(scope="module")
def carbon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Carbon]:
    with started(carbon_server(tmp_path_factory.mktemp("carbon"))) as server:
        yield server
