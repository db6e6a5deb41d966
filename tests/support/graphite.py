"""A plain TCP receiver on 127.0.0.1 standing in for carbon: it keeps what each connection sent."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.support.http import serving


@dataclass
class Receiver:
    """A running receiver: ``received`` holds each closed connection's bytes, in order."""

    server: socketserver.ThreadingTCPServer
    received: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    @property
    def lines(self) -> list[str]:
        with self.lock:
            return b"".join(self.received).decode().splitlines()


@contextmanager
def receiver() -> Iterator[Receiver]:
    """Accept connections until the block exits; each one is read to its end of file."""
    holder: list[Receiver] = []

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            chunks = []
            while data := self.request.recv(65536):
                chunks.append(data)
            with holder[0].lock:
                holder[0].received.append(b"".join(chunks))

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    holder.append(Receiver(server))
    with serving(server):
        yield holder[0]
