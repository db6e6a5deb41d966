"""Sending encoded batches to carbon over TCP (plaintext, pickle) or UDP, bounded by the deadline.

Carbon never acknowledges, so over TCP a batch counts as sent once the kernel took all of it,
and the connection is closed by half-closing it and waiting for carbon's end of file: that
shows carbon read everything. A connection that breaks while writing is opened again once and
the batch written again (carbon keeps one value per series and second, so a repeat is harmless).
Over UDP a batch counts as sent once handed to the network: nothing can say it arrived.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ...deadline import Deadline
from ..base import SinkReport
from .convert import Batch

MIN_SECONDS_TO_SEND = 0.5
"""A write is not started with less time than this left before the deadline."""

MIN_TIMEOUT_SECONDS = 0.01
"""A socket timeout of 0 would make the socket non-blocking; never go below this."""

MAX_DRAIN_BYTES = 65536
"""Carbon sends nothing back; read at most this much while waiting for its end of file."""

Connect = Callable[[tuple[str, int], float], socket.socket]
"""Opens a TCP connection: ``socket.create_connection``'s shape (address, timeout)."""

OpenDatagram = Callable[[tuple[str, int]], socket.socket]
"""Opens a UDP socket connected to the address."""


@dataclass(frozen=True)
class Endpoint:
    """One carbon receiver and the timeouts to use with it."""

    host: str
    port: int
    protocol: str
    connect_timeout: float = 5.0
    write_timeout: float = 10.0

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port} ({self.protocol})"


def _timeout(deadline: Deadline, seconds: float) -> float:
    return max(deadline.bound(seconds), MIN_TIMEOUT_SECONDS)


def reason(exc: OSError) -> str:
    """A short, stable description of a socket error (no addresses, no secrets)."""
    if isinstance(exc, TimeoutError):
        return "timed out"
    return exc.strerror or str(exc) or type(exc).__name__


def _fail(report: SinkReport, batches: Sequence[Batch], message: str) -> None:
    report.failed += sum(batch.count for batch in batches)
    report.failed_requests += 1
    report.error(message)


def send_stream(
    endpoint: Endpoint,
    batches: Sequence[Batch],
    *,
    deadline: Deadline,
    report: SinkReport,
    connect: Connect = socket.create_connection,
) -> None:
    """Write every batch on one TCP connection; reconnect and retry once if it breaks."""
    sock: socket.socket | None = None
    retried = False
    index = 0
    try:
        while index < len(batches):
            if deadline.remaining() < MIN_SECONDS_TO_SEND:
                _fail(report, batches[index:], f"{endpoint}: not sent: invocation deadline reached")
                return
            connected = sock is not None
            try:
                if sock is None:
                    sock = connect(
                        (endpoint.host, endpoint.port), _timeout(deadline, endpoint.connect_timeout)
                    )
                    connected = True
                sock.settimeout(_timeout(deadline, endpoint.write_timeout))
                sock.sendall(batches[index].payload)
            except OSError as exc:
                if sock is not None:
                    sock.close()
                    sock = None
                if not connected:
                    _fail(report, batches[index:], f"{endpoint}: cannot connect: {reason(exc)}")
                    return
                if isinstance(exc, ConnectionError) and not retried:
                    retried = True
                    report.warn(f"{endpoint}: connection broke ({reason(exc)}); reconnected and wrote again")
                    continue
                again = " after reconnecting" if retried else ""
                _fail(report, batches[index:], f"{endpoint}: write failed{again}: {reason(exc)}")
                return
            report.requests += 1
            report.sent += batches[index].count
            index += 1
    finally:
        if sock is not None:
            _close(sock, endpoint, deadline, report)


def _close(sock: socket.socket, endpoint: Endpoint, deadline: Deadline, report: SinkReport) -> None:
    """Half-close, then wait (bounded) for carbon's end of file: it has read everything."""
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(_timeout(deadline, endpoint.write_timeout))
        drained = 0
        while drained < MAX_DRAIN_BYTES:
            data = sock.recv(4096)
            if not data:
                return
            drained += len(data)
    except OSError as exc:
        report.warn(
            f"{endpoint}: the receiver did not close the connection cleanly ({reason(exc)}); "
            "it may not have read the last write"
        )
    finally:
        sock.close()


def open_datagram(address: tuple[str, int]) -> socket.socket:
    """A UDP socket connected to ``address`` (IPv4 or IPv6, as the name resolves)."""
    family, kind, proto, _, resolved = socket.getaddrinfo(*address, type=socket.SOCK_DGRAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.connect(resolved)
    except OSError:
        sock.close()
        raise
    return sock


def send_datagrams(
    endpoint: Endpoint,
    batches: Sequence[Batch],
    *,
    deadline: Deadline,
    report: SinkReport,
    open_socket: OpenDatagram = open_datagram,
) -> None:
    """Send each batch as one datagram; stop at the first error (the receiver is unreachable)."""
    try:
        sock = open_socket((endpoint.host, endpoint.port))
    except OSError as exc:
        _fail(report, batches, f"{endpoint}: cannot resolve or open: {reason(exc)}")
        return
    with sock:
        for index, batch in enumerate(batches):
            if deadline.remaining() < MIN_SECONDS_TO_SEND:
                _fail(report, batches[index:], f"{endpoint}: not sent: invocation deadline reached")
                return
            try:
                sock.settimeout(_timeout(deadline, endpoint.write_timeout))
                sock.send(batch.payload)
            except OSError as exc:
                _fail(report, batches[index:], f"{endpoint}: send failed: {reason(exc)}")
                return
            report.requests += 1
            report.sent += batch.count
