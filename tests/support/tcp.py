"""TCP servers on 127.0.0.1: one that accepts connections and never reads from or answers them
(an AWS endpoint, a Remote Write receiver or a carbon that has hung), and the accepting loop of
the scripted ones (``trickle``, ``scripted``)."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
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


@contextmanager
def accepting(serve: Callable[[socket.socket], None], stop: threading.Event) -> Iterator[int]:
    """Listen on 127.0.0.1 until the block exits (yields the port), each connection served by
    ``serve`` in a thread of its own. On exit ``stop`` is set, every connection shut down (a
    wait for its next request ends) and every thread joined."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    workers: list[threading.Thread] = []
    accepted: list[socket.socket] = []
    lock = threading.Lock()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            worker = threading.Thread(target=serve, args=(conn,), daemon=True)
            with lock:
                accepted.append(conn)
                workers.append(worker)
            worker.start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        acceptor.join(5)
        with lock:
            for conn in accepted:
                with suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        for worker in workers:
            worker.join(5)
        listener.close()
