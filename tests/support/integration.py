"""Finding, starting and stopping the real third-party servers the integration tests use.

Where one is missing the test skips with the reason, except with ``REQUIRE_INTEGRATION=1``
(CI sets it), where a missing server is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, TypeVar

import pytest
import requests

from devtools import processes

REQUIRE_ENV = "REQUIRE_INTEGRATION"
READY_SECONDS = 30.0


def required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0", "false", "no")


def unavailable(reason: str) -> None:
    """Skip (or fail, when integration is required) because ``reason``."""
    if required():
        pytest.fail(f"{reason} ({REQUIRE_ENV} is set, so this is a failure)")
    pytest.skip(reason)


def binary(name: str, *candidates: str, package: str = "") -> str:
    """The path of executable ``name`` (or the first of ``candidates`` that exists)."""
    for candidate in (name, *candidates):
        found = shutil.which(candidate) or (
            candidate if os.path.isabs(candidate) and os.access(candidate, os.X_OK) else None
        )
        if found:
            return found
    hint = f" (Debian package {package})" if package else ""
    unavailable(f"{name} is not installed{hint}")
    raise AssertionError("unreachable")


@dataclass
class Server:
    """A third-party server started from ``argv`` and stopped by its PID; it can be started again
    on the same port and storage (an outage). Subclasses say when it is ready to serve."""

    argv: list[str]
    port: int
    root: Path
    """Its configuration, storage and one log per start."""
    process: processes.Process | None = field(default=None, repr=False)
    starts: int = field(default=0, repr=False)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.popen.poll() is None

    def start(self) -> None:
        """Start it and wait until it is ready."""
        self.starts += 1
        log = self.root / f"{Path(self.argv[0]).name}-{self.starts}.log"
        self.process = processes.start(self.argv, self.port, log)
        try:
            self.wait_ready(self.process)
        except BaseException:
            self.stop()
            raise

    def wait_ready(self, process: processes.Process) -> None:
        """Block until it serves (it already listens on ``port``)."""

    def stop(self) -> None:
        """Stop it by its PID (SIGTERM, then SIGKILL if it lingers)."""
        if self.process is not None:
            self.process.stop()
            self.process = None


@dataclass
class HttpServer(Server):
    """A server answering HTTP on 127.0.0.1, ready once ``ready_path`` answers 200, and taking
    Remote Write at ``/api/v1/write``."""

    ready_path: ClassVar[str] = "/"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def write_url(self) -> str:
        return f"{self.url}/api/v1/write"

    def wait_ready(self, process: processes.Process) -> None:
        processes.wait_until(lambda: _answers(self.url + self.ready_path), READY_SECONDS)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


S = TypeVar("S", bound=Server)


@contextmanager
def started(server: S) -> Iterator[S]:
    """``server`` running until the block exits, then stopped, whatever happens."""
    server.start()
    try:
        yield server
    finally:
        server.stop()
