"""A fault-injecting HTTP proxy on 127.0.0.1 in front of a real server (Prometheus, moto).

``fault_proxy(upstream)`` relays every request to ``upstream`` and records each exchange. Its
``mode`` is switched between cycles to inject a fault:

- ``forward``: relay (an upstream that refuses the connection is answered 502);
- ``unavailable``: answer 503 without relaying (the destination is down);
- ``silent``: accept the request and never answer, nor relay it (the client's timeout ends it);

and ``hold``, when set to an event, makes every request arriving meanwhile wait for it before
being handled as its mode says (a slow destination).
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Literal
from urllib.parse import urlsplit

from tests.support.http import QuietHandler, Reply, serving

Mode = Literal["forward", "unavailable", "silent"]

WAIT_SECONDS = 60.0
"""The longest a held or silent request waits (the proxy's exit releases them sooner)."""

UPSTREAM_TIMEOUT_SECONDS = 30.0
HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "host"})


@dataclass
class Exchange:
    """One request the proxy received, and what it answered (``None``: nothing)."""

    method: str
    path: str
    body: bytes
    reply: Reply | None = None

    @property
    def status(self) -> int:
        return self.reply.status if self.reply is not None else 0


@dataclass
class FaultProxy:
    """A running proxy: ``url`` to point the client at; ``mode`` and ``hold`` to inject faults."""

    server: ThreadingHTTPServer
    upstream: str
    mode: Mode = "forward"
    hold: threading.Event | None = None
    exchanges: list[Exchange] = field(default_factory=list)
    held: int = 0
    """Requests waiting on ``hold`` right now."""
    closing: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def accepted(self) -> list[Exchange]:
        """The exchanges the destination accepted (answered 2xx), in the order they arrived."""
        with self.lock:
            return [e for e in self.exchanges if 200 <= e.status < 300]

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Exchange:
        exchange = Exchange(method, path, body)
        with self.lock:
            self.exchanges.append(exchange)
            hold, mode = self.hold, self.mode
        if hold is not None:
            with self.lock:
                self.held += 1
            try:
                hold.wait(WAIT_SECONDS)
            finally:
                with self.lock:
                    self.held -= 1
            with self.lock:
                mode = self.mode
        if mode == "silent" or self.closing.is_set():
            self.closing.wait(WAIT_SECONDS)
        elif mode == "unavailable":
            exchange.reply = Reply(503, b"injected fault: unavailable\n", {"Content-Type": "text/plain"})
        else:
            exchange.reply = self._relay(exchange, headers)
        return exchange

    def _relay(self, exchange: Exchange, headers: dict[str, str]) -> Reply:
        parts = urlsplit(self.upstream)
        connection = http.client.HTTPConnection(parts.netloc, timeout=UPSTREAM_TIMEOUT_SECONDS)
        try:
            forwarded = {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}
            connection.request(exchange.method, exchange.path, exchange.body, forwarded)
            response = connection.getresponse()
            body = response.read()
            kept = {k: v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP}
            return Reply(response.status, body, kept)
        except OSError as exc:
            return Reply(502, f"upstream unreachable: {exc}\n".encode(), {"Content-Type": "text/plain"})
        finally:
            connection.close()


@contextmanager
def fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    """Serve until the block exits, relaying to ``upstream`` (``http://host:port``)."""
    ref: list[FaultProxy] = []

    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            reply = ref[0].handle(self.command, self.path, dict(self.headers.items()), body).reply
            if reply is None:  # silent: close without an answer
                self.close_connection = True
            else:
                self.answer(reply.status, reply.body, reply.headers)

        do_GET = do_POST = _any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    proxy = FaultProxy(server, upstream)
    ref.append(proxy)
    with serving(server):
        try:
            yield proxy
        finally:  # waiting requests end without an answer, and are never relayed
            proxy.closing.set()
            if proxy.hold is not None:
                proxy.hold.set()
