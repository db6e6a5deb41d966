"""Sending encoded batches to carbon over TCP (plaintext, pickle) or UDP, bounded by the deadline.

Carbon never acknowledges, and the kernel taking a write says nothing of carbon reading it. So
over TCP every batch is written on one connection, which is then closed cleanly: half-closed
(``shutdown(SHUT_WR)``), then read until carbon closes its side in answer, which it does only
once it has read everything up to our end of stream. Only then do the batches count as sent. A
reset, an error, carbon closing before it saw our end, or no answer before the deadline leaves
them undelivered: they are written again once on a new connection (when the connection broke),
else reported failed, so the backlog keeps them. A repeat is harmless: carbon (whisper) keeps
one value per series and time slot, the last written.

Over UDP a batch counts as sent once handed to the network: nothing can say it arrived.
"""

from __future__ import annotations

import errno
import os
import socket
import time
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

TCP_INFO: int | None = getattr(socket, "TCP_INFO", None)
TCP_CLOSE = 7
"""Linux's ``TCP_INFO`` reports a connection's state in its first byte; ``TCP_CLOSE`` (7, from
``include/net/tcp_states.h``) once the peer's end of stream acknowledged ours (time-wait). A
peer that closed before reading our end of stream leaves the state ``CLOSING`` or
``LAST_ACK`` instead. Elsewhere only the socket error is checked."""

Connect = Callable[[tuple[str, int], float], socket.socket]
"""Opens a TCP connection to (host, port) within a timeout (``open_stream``)."""

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


def open_stream(
    address: tuple[str, int], timeout: float, clock: Callable[[], float] = time.monotonic
) -> socket.socket:
    """A TCP connection to ``address`` within ``timeout`` in all, trying each address the name
    resolves to in turn (``socket.create_connection`` gives each of them the whole timeout)."""
    until = Deadline.after(timeout, clock)
    error: OSError = OSError(f"{address[0]} resolves to no address")
    for family, kind, proto, _, resolved in socket.getaddrinfo(*address, type=socket.SOCK_STREAM):
        if until.expired():
            raise TimeoutError("timed out")
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(max(until.remaining(), MIN_TIMEOUT_SECONDS))
            sock.connect(resolved)
        except OSError as exc:
            sock.close()
            error = exc
        else:
            return sock
    raise error


def send_stream(
    endpoint: Endpoint,
    payloads: Sequence[bytes],
    *,
    deadline: Deadline,
    warn: Warn,
    connect: Connect = open_stream,
) -> list[Result]:
    """Write every payload on one TCP connection and close it cleanly; if the connection broke,
    write them all again once on a new one. All sent, or none (failed, then not attempted)."""
    if not payloads:
        return []
    outcome = _deliver(endpoint, payloads, deadline, connect)
    if outcome.broke is not None and deadline.remaining() >= MIN_SECONDS_TO_SEND:
        warn(f"{endpoint}: connection broke ({outcome.broke}); reconnected and wrote again")
        outcome = _deliver(endpoint, payloads, deadline, connect, " after reconnecting")
    if outcome.error is None:
        return [Result("sent")] * len(payloads)
    return _failed([], len(payloads), f"{endpoint}: {outcome.error}")


@dataclass(frozen=True)
class _Outcome:
    """How one connection ended: ``error`` is ``None`` when carbon read everything."""

    error: str | None = None
    broke: str | None = None
    """Why the connection broke (reset, closed under us): writing again on a new one may work."""


def _deliver(
    endpoint: Endpoint, payloads: Sequence[bytes], deadline: Deadline, connect: Connect, again: str = ""
) -> _Outcome:
    """Connect, write every payload, close cleanly."""
    if deadline.remaining() < MIN_SECONDS_TO_SEND:
        return _Outcome("not sent: invocation deadline reached")
    try:
        sock = connect((endpoint.host, endpoint.port), _timeout(deadline, endpoint.connect_timeout))
    except OSError as exc:
        return _Outcome(f"cannot connect: {reason(exc)}")
    with sock:
        step = "write failed"
        try:
            for payload in payloads:
                if deadline.remaining() < MIN_SECONDS_TO_SEND:
                    return _Outcome("not delivered: invocation deadline reached")
                sock.settimeout(_timeout(deadline, endpoint.write_timeout))
                sock.sendall(payload)
            step = "not confirmed by a clean close"
            _close(sock, deadline.within(endpoint.write_timeout))
        except OSError as exc:
            broke = isinstance(exc, ConnectionError) or exc.errno == errno.ENOTCONN
            return _Outcome(f"{step}{again}: {reason(exc)}", reason(exc) if broke else None)
    return _Outcome()


def _close(sock: socket.socket, until: Deadline) -> None:
    """Half-close, then read until carbon's end of stream (before ``until``); raise ``OSError``
    unless carbon closed its side in answer to ours, having read everything."""
    sock.shutdown(socket.SHUT_WR)
    drained = 0
    while True:
        if until.expired():
            raise TimeoutError("timed out")
        sock.settimeout(max(until.remaining(), MIN_TIMEOUT_SECONDS))
        data = sock.recv(4096)
        if not data:
            break
        drained += len(data)
        if drained > MAX_DRAIN_BYTES:  # carbon sends nothing: this is not a carbon receiver
            raise ConnectionError("the receiver sent data instead of closing")
    error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if error:
        raise ConnectionError(error, os.strerror(error))
    if TCP_INFO is not None and sock.getsockopt(socket.IPPROTO_TCP, TCP_INFO, 1)[0] != TCP_CLOSE:
        # The receiver's end of stream did not acknowledge ours: it closed before reading it.
        raise ConnectionError("the receiver closed before reading everything")


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
