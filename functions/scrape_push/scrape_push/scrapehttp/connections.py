"""The keep-alive connections kept between scrapes, by target host and port: at most ``hosts``
hosts (the least recently used let go, as a requests session's pool manager does) and
``per_host`` idle connections each (the session's pool size). A connection comes back only when
its response was read exactly to its end (``body.Body.kept``); anything else closes it."""

from __future__ import annotations

import select
import socket
import threading
from collections import OrderedDict
from contextlib import suppress

Host = tuple[str, int]


class Connections:
    """Idle connections by host, thread-safe."""

    def __init__(self, hosts: int, per_host: int) -> None:
        self.hosts = hosts
        self.per_host = per_host
        self._idle: OrderedDict[Host, list[socket.socket]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, host: Host) -> socket.socket | None:
        """The most recently kept idle connection to ``host`` still open, if any (one the target
        closed while idle, or that has bytes nobody asked for, is closed instead)."""
        while True:
            with self._lock:
                idle = self._idle.get(host)
                if not idle:
                    return None
                sock = idle.pop()
                self._idle.move_to_end(host)
            if not dropped(sock):
                return sock
            close(sock)

    def give(self, host: Host, sock: socket.socket) -> None:
        """Keep ``sock`` for ``host``'s next request (or close it, past the bounds)."""
        closing = []
        with self._lock:
            idle = self._idle.get(host)
            if idle is None:
                idle = self._idle[host] = []
                while len(self._idle) > self.hosts:
                    closing += self._idle.popitem(last=False)[1]
            else:
                self._idle.move_to_end(host)
            if len(idle) < self.per_host:
                idle.append(sock)
            else:
                closing.append(sock)
        for gone in closing:
            close(gone)

    def close(self) -> None:
        """Close every idle connection (the scraper is being replaced)."""
        with self._lock:
            idle, self._idle = self._idle, OrderedDict()
        for socks in idle.values():
            for sock in socks:
                close(sock)


def dropped(sock: socket.socket) -> bool:
    """Whether an idle connection is readable: the target closed it (or sent what no request
    asked for): urllib3's ``is_connection_dropped`` check before reuse."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def close(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.close()
