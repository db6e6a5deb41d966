"""A hostile HTTP endpoint on 127.0.0.1 that answers one byte at a time, slowly, forever.

Each byte comes well inside any socket read timeout, so only a deadline on the whole scrape
ends such a request. The server stops dripping when the client hangs up, after ``limit``
seconds, or when the block exits; every thread it starts is joined on exit.
"""

from __future__ import annotations

import itertools
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from tests.support.tcp import accepting


@contextmanager
def trickle(prefix: bytes, drip: bytes, every: float = 0.2, limit: float = 10.0) -> Iterator[str]:
    """Serve on 127.0.0.1 until the block exits; yields ``host:port``. Per connection: read the
    request, send ``prefix`` at once, then ``drip`` (repeated) one byte every ``every`` seconds."""
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(limit)
            with suppress(OSError):
                conn.recv(65536)
            with suppress(OSError):  # the client hung up, or cut the connection
                conn.sendall(prefix)
                waited = 0.0
                for byte in itertools.cycle(drip):
                    if stop.wait(every) or waited >= limit:
                        return
                    waited += every
                    conn.sendall(bytes([byte]))

    with accepting(serve, stop) as port:
        yield f"127.0.0.1:{port}"


SLOW_HEADERS = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Pad: ", b"a")
"""Headers that never end."""

SLOW_BODY = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: 100000\r\n\r\n",
    b"a 1\n",
)
"""A body that never ends."""
