"""HTTP/1.1 exposition endpoints on 127.0.0.1 that keep connections alive and count them, one
of which can close a kept connection as the next request arrives (its idle timeout running out
just then)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer

from tests.support.http import QuietHandler, address_of, serving

BODY = b"kept_value 1\n"


@dataclass
class Counts:
    """What an endpoint saw: connections accepted, requests read, requests answered."""

    connections: int = 0
    requests: int = 0
    answered: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class KeptEndpoint:
    server: ThreadingHTTPServer
    counts: Counts

    @property
    def address(self) -> str:
        return address_of(self.server)


def _handler(counts: Counts, close_kept: bool, close_all: bool) -> type[QuietHandler]:
    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            self.served = 0
            with counts.lock:
                counts.connections += 1

        def do_GET(self) -> None:
            with counts.lock:
                counts.requests += 1
            if close_all or (close_kept and self.served):
                self.close_connection = True  # hung up unanswered
                return
            self.served += 1
            with counts.lock:  # counted before the client can read the answer, and act on it
                counts.answered += 1
            self.answer(200, BODY, {"Content-Type": "text/plain; version=0.0.4"})

    return Handler


@contextmanager
def kept_endpoints(
    count: int, *, close_kept: bool = False, close_all: bool = False
) -> Iterator[list[KeptEndpoint]]:
    """``count`` endpoints until the block exits; ``close_kept``: each closes a connection at its
    second request unanswered; ``close_all``: each closes every connection unanswered."""
    with ExitStack() as stack:
        endpoints = []
        for _ in range(count):
            counts = Counts()
            server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(counts, close_kept, close_all))
            server.daemon_threads = True
            stack.enter_context(serving(server))
            endpoints.append(KeptEndpoint(server, counts))
        yield endpoints
