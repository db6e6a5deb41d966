"""Start and stop local helper processes (moto server, exposition apps) by PID."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

READY_TIMEOUT_SECONDS = 30.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int, process: subprocess.Popen[bytes] | None = None, timeout: float = READY_TIMEOUT_SECONDS
) -> None:
    """Block until something accepts connections on 127.0.0.1:``port`` (polling, bounded)."""
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process {process.args!r} exited with {process.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout:g}s")


@dataclass
class Process:
    """A started helper process and the port it serves on."""

    popen: subprocess.Popen[bytes]
    port: int
    log: Path | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the process by its PID: SIGTERM, then SIGKILL if it lingers."""
        if self.popen.poll() is not None:
            return
        os.kill(self.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            self.popen.wait(timeout)


def start(
    argv: Sequence[str], port: int, log: Path | None = None, env: dict[str, str] | None = None
) -> Process:
    """Start ``argv`` and wait until it listens on ``port``; output goes to ``log`` (or nowhere)."""
    out = open(log, "wb") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    popen = subprocess.Popen(
        list(argv),
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    if log is not None:
        out.close()  # type: ignore[union-attr]
    process = Process(popen, port, log)
    try:
        wait_for_port(port, popen)
    except BaseException:
        process.stop()
        raise
    return process


def moto_server_command(port: int) -> list[str]:
    """The command line of the moto emulator server, from the running Python's environment."""
    binary = Path(sys.executable).with_name("moto_server")
    exe = str(binary) if binary.exists() else shutil.which("moto_server")
    if exe is None:
        raise FileNotFoundError("moto_server not found: install moto[server] (make venv)")
    return [exe, "-H", "127.0.0.1", "-p", str(port)]


@contextlib.contextmanager
def running(
    argv: Sequence[str], port: int, log: Path | None = None, env: dict[str, str] | None = None
) -> Iterator[Process]:
    """Context manager form of ``start``: the process is stopped on exit, whatever happens."""
    process = start(argv, port, log, env)
    try:
        yield process
    finally:
        process.stop()


def start_moto(log: Path | None = None) -> Process:
    """Start a moto server on a free port of 127.0.0.1."""
    port = free_port()
    return start(moto_server_command(port), port, log)


def start_exposition_app(log: Path | None = None) -> Process:
    """Start the demo exposition endpoint (``devtools.exposition_app``) on a free port."""
    port = free_port()
    root = str(Path(__file__).resolve().parent.parent)
    return start(
        [sys.executable, "-m", "devtools.exposition_app", "--port", str(port)],
        port,
        log,
        env={"PYTHONPATH": root},
    )


def wait_until(condition: Callable[[], bool], timeout: float = READY_TIMEOUT_SECONDS) -> None:
    """Poll ``condition`` until it holds (bounded); raise ``TimeoutError`` otherwise."""
    give_up = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > give_up:
            raise TimeoutError(f"condition not met within {timeout:g}s")
        time.sleep(0.05)
