"""A TCP server on 127.0.0.1 that accepts connections and never reads from or answers them: an
AWS endpoint, a Remote Write receiver or a carbon that has hung."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.support.http import address_of, serving

HOLD_SECONDS = 120.0
"""The longest a connection is held open (the server's exit ends them all sooner)."""


@dataclass
class Silent:
    """A running server: ``accepted`` counts the connections made to it (one per attempt)."""

    server: socketserver.ThreadingTCPServer
    accepted: int = 0
    closing: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def address(self) -> str:
        return address_of(self.server)

    @property
    def url(self) -> str:
        return f"http://{self.address}"


@contextmanager
def silent() -> Iterator[Silent]:
    """Accept and hold every connection until the block exits."""
    holder: list[Silent] = []

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            with holder[0].lock:
                holder[0].accepted += 1
            holder[0].closing.wait(HOLD_SECONDS)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    holder.append(Silent(server))
    with serving(server):
        try:
            yield holder[0]
        finally:
            holder[0].closing.set()
