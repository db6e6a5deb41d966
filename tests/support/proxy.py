"""A forward proxy on 127.0.0.1 that records what it is asked: plain HTTP requests (answered
by itself, as if from the named host) and CONNECT tunnels (relayed to the local port named,
whatever host is named with it, so that tests never leave 127.0.0.1)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer

from tests.support.http import QuietHandler, address_of, local_server

TUNNEL_TIMEOUT_SECONDS = 10.0


@dataclass
class Proxy:
    server: ThreadingHTTPServer
    body: bytes
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    """(method, target, headers) of each request: ``GET http://host/path`` or ``CONNECT host:port``."""

    @property
    def url(self) -> str:
        return f"http://{address_of(self.server)}"


def _relay(source: socket.socket, sink: socket.socket) -> None:
    with suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


@contextmanager
def forward_proxy(body: bytes) -> Iterator[Proxy]:
    """Serve until the block exits; a plain request is answered ``body``."""
    ref: list[Proxy] = []

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            ref[0].requests.append(("GET", self.path, dict(self.headers.items())))
            self.answer(200, ref[0].body, {"Content-Type": "text/plain; version=0.0.4"})

        def do_CONNECT(self) -> None:
            ref[0].requests.append(("CONNECT", self.path, dict(self.headers.items())))
            port = int(self.path.rsplit(":", 1)[1])
            with socket.create_connection(("127.0.0.1", port), timeout=TUNNEL_TIMEOUT_SECONDS) as upstream:
                self.send_response(200, "Connection established")
                self.end_headers()
                self.connection.settimeout(TUNNEL_TIMEOUT_SECONDS)
                back = threading.Thread(target=_relay, args=(upstream, self.connection), daemon=True)
                back.start()
                _relay(self.connection, upstream)
                back.join(TUNNEL_TIMEOUT_SECONDS)
            self.close_connection = True

    with local_server(Handler) as server:
        ref.append(Proxy(server, body))
        yield ref[0]
