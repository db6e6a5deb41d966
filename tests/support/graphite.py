"""A plain TCP receiver on 127.0.0.1 standing in for carbon: it keeps what each connection sent.

It can also misbehave as a carbon under trouble does: reset its first ``resets`` connections
once it has read ``reset_after`` bytes of each (what is still unread in its buffers is lost)."""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.support.http import address_of, serving


@dataclass
class Receiver:
    """A running receiver: ``received`` holds each connection's bytes (read before it ended), in
    the order the connections ended."""

    server: socketserver.ThreadingTCPServer
    resets: int = 0
    reset_after: int = 0
    connections: int = 0
    received: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def address(self) -> str:
        return address_of(self.server)

    @property
    def lines(self) -> list[str]:
        """Every whole line received (a line cut by a reset is not one)."""
        with self.lock:
            return [
                line for chunk in self.received for line in chunk.decode().split("\n")[: chunk.count(b"\n")]
            ]

    def reset_now(self) -> bool:
        """Whether the connection that just started is one to reset."""
        with self.lock:
            self.connections += 1
            return self.connections <= self.resets


@contextmanager
def receiver(resets: int = 0, reset_after: int = 0) -> Iterator[Receiver]:
    """Accept connections until the block exits; each one is read to its end of file, or reset
    once ``reset_after`` bytes were read if it is one of the first ``resets``."""
    holder: list[Receiver] = []

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            state = holder[0]
            reset = state.reset_now()
            chunks: list[bytes] = []
            read = 0
            while not (reset and read >= state.reset_after) and (data := self.request.recv(65536)):
                chunks.append(data)
                read += len(data)
            if reset:  # close at once without lingering: the peer gets a reset, not an end of stream
                self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.request.close()
            with state.lock:
                state.received.append(b"".join(chunks))

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    holder.append(Receiver(server, resets, reset_after))
    with serving(server):
        yield holder[0]
