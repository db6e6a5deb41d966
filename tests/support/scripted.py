"""A raw HTTP/1.1 endpoint on 127.0.0.1 that answers each request with scripted bytes: the
request heads exactly as they came, connections counted, a connection closed, kept or left hanging
as the script says. For answers no HTTP server library would send (broken framing, smuggling
shapes, a close in the middle of a body). A request's body (by its ``Content-Length``) is read
and kept too."""

from __future__ import annotations

import itertools
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from tests.support.tcp import accepting

HOLD_SECONDS = 30.0
"""The longest a connection waits for a request or a hang lasts (the block's exit ends it sooner)."""
MAX_REQUEST_BYTES = 64 * 1024


@dataclass(frozen=True)
class Reply:
    """What to send for one request: ``data`` at once, then ``close`` the connection or keep it;
    ``hang``: after ``data``, hold the connection until the block exits (a body that never ends)."""

    data: bytes
    close: bool = False
    hang: bool = False


@dataclass
class Scripted:
    """A running endpoint: every request head it read, the connections it accepted."""

    port: int
    heads: list[bytes] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    connections: int = 0
    answered: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}/metrics"


Script = Callable[[int, int, bytes], Reply | None]
"""(connection number, request number on it, both from 0; the request's head) -> the reply;
``None`` closes the connection unanswered."""


def always(reply: Reply) -> Script:
    return lambda _connection, _request, _head: reply


def http_response(
    body: bytes = b"a 1\n",
    status: str = "200 OK",
    headers: tuple[str, ...] | None = None,
    *,
    length: bool = True,
) -> bytes:
    """A response's bytes: ``headers`` (default a text Content-Type) and ``Content-Length`` when
    ``length``."""
    lines = [f"HTTP/1.1 {status}", *(headers if headers is not None else ("Content-Type: text/plain",))]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + body


@contextmanager
def scripted(script: Script, tls: ssl.SSLContext | None = None) -> Iterator[Scripted]:
    """Serve ``script`` until the block exits (over TLS with ``tls``, a server context: a
    connection whose handshake fails is counted, and closed); every thread it starts is joined
    on exit."""
    stop = threading.Event()
    endpoint = Scripted(0)

    def head(conn: socket.socket, pending: bytearray) -> bytes | None:
        while b"\r\n\r\n" not in pending:
            data = conn.recv(65536)
            if not data or len(pending) > MAX_REQUEST_BYTES:
                return None
            pending += data
        end = pending.index(b"\r\n\r\n") + 4
        found = bytes(pending[:end])
        del pending[:end]
        return found

    def body(conn: socket.socket, pending: bytearray, found: bytes) -> bytes | None:
        size = content_length(found)
        while len(pending) < size:
            data = conn.recv(65536)
            if not data:
                return None
            pending += data
        taken = bytes(pending[:size])
        del pending[:size]
        return taken

    def talk(conn: socket.socket, number: int) -> None:
        pending = bytearray()
        for request in itertools.count():
            found = head(conn, pending)
            if found is None or stop.is_set():
                return
            data = body(conn, pending, found)
            if data is None:
                return
            with endpoint.lock:
                endpoint.heads.append(found)
                endpoint.bodies.append(data)
            reply = script(number, request, found)
            if reply is None:
                return
            with endpoint.lock:  # counted before the client can read it, and act on it
                endpoint.answered += 1
            conn.sendall(reply.data)
            if reply.hang:
                stop.wait(HOLD_SECONDS)
            if reply.close or reply.hang:
                return

    def serve(conn: socket.socket) -> None:
        with endpoint.lock:
            number = endpoint.connections
            endpoint.connections += 1
        with conn, suppress(OSError):
            conn.settimeout(HOLD_SECONDS)
            if tls is None:
                talk(conn, number)
                return
            # a duplicate is wrapped: the accepted socket stays the one the exit shuts down
            with tls.wrap_socket(conn.dup(), server_side=True) as secure:
                talk(secure, number)

    with accepting(serve, stop) as port:
        endpoint.port = port
        yield endpoint


def content_length(head: bytes) -> int:
    """A request head's ``Content-Length`` (0 without one)."""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0
