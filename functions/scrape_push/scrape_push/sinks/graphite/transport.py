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
from ..base import Result

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

Warn = Callable[[str], None]
"""Where a warning goes (the sink report's ``warn``)."""


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


def _failed(results: list[Result], count: int, message: str) -> list[Result]:
    """``results`` completed: the next payload failed with ``message``, the rest not attempted."""
    if len(results) < count:
        results.append(Result("failed", message))
    results.extend([Result("skipped", message)] * (count - len(results)))
    return results


def send_stream(
    endpoint: Endpoint,
    payloads: Sequence[bytes],
    *,
    deadline: Deadline,
    warn: Warn,
    connect: Connect = socket.create_connection,
) -> list[Result]:
    """Write every payload on one TCP connection; reconnect and retry once if it breaks."""
    sock: socket.socket | None = None
    retried = False
    results: list[Result] = []
    try:
        while len(results) < len(payloads):
            if deadline.remaining() < MIN_SECONDS_TO_SEND:
                return _failed(results, len(payloads), f"{endpoint}: not sent: invocation deadline reached")
            connected = sock is not None
            try:
                if sock is None:
                    sock = connect(
                        (endpoint.host, endpoint.port), _timeout(deadline, endpoint.connect_timeout)
                    )
                    connected = True
                sock.settimeout(_timeout(deadline, endpoint.write_timeout))
                sock.sendall(payloads[len(results)])
            except OSError as exc:
                if sock is not None:
                    sock.close()
                    sock = None
                if not connected:
                    return _failed(results, len(payloads), f"{endpoint}: cannot connect: {reason(exc)}")
                if isinstance(exc, ConnectionError) and not retried:
                    retried = True
                    warn(f"{endpoint}: connection broke ({reason(exc)}); reconnected and wrote again")
                    continue
                again = " after reconnecting" if retried else ""
                return _failed(results, len(payloads), f"{endpoint}: write failed{again}: {reason(exc)}")
            results.append(Result("sent"))
        return results
    finally:
        if sock is not None:
            _close(sock, endpoint, deadline, warn)


def _close(sock: socket.socket, endpoint: Endpoint, deadline: Deadline, warn: Warn) -> None:
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
        warn(
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
    payloads: Sequence[bytes],
    *,
    deadline: Deadline,
    open_socket: OpenDatagram = open_datagram,
) -> list[Result]:
    """Send each payload as one datagram; stop at the first error (the receiver is unreachable)."""
    try:
        sock = open_socket((endpoint.host, endpoint.port))
    except OSError as exc:
        return _failed([], len(payloads), f"{endpoint}: cannot resolve or open: {reason(exc)}")
    results: list[Result] = []
    with sock:
        for payload in payloads:
            if deadline.remaining() < MIN_SECONDS_TO_SEND:
                return _failed(results, len(payloads), f"{endpoint}: not sent: invocation deadline reached")
            try:
                sock.settimeout(_timeout(deadline, endpoint.write_timeout))
                sock.send(payload)
            except OSError as exc:
                return _failed(results, len(payloads), f"{endpoint}: send failed: {reason(exc)}")
            results.append(Result("sent"))
    return results
