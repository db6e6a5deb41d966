"""A scrape's connection as its GET reads and writes it: the socket non-blocking, each call
made while the scrape holds its cycle's turn (``turns``), and the turn given up only when the
socket is not ready: the scrape then waits in ``poll`` off the GIL, until the socket is ready
or the scrape's deadline (``TimeoutError``, as a socket timeout). The watch's cut at that
deadline (``guard``) shuts the socket down, which ends the wait at once.
"""

from __future__ import annotations

import math
import select
import socket
from collections.abc import Callable

from ..turns import Turn


class Channel:
    """``sock``'s reads and writes within ``due`` (on ``clock``), holding ``turn`` while it is ready."""

    __slots__ = ("_clock", "_due", "_sock", "_turn")

    def __init__(self, sock: socket.socket, turn: Turn, due: float, clock: Callable[[], float]) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._turn = turn
        self._due = due
        self._clock = clock

    def recv(self, size: int) -> bytes:
        while True:
            try:
                return self._sock.recv(size)
            except BlockingIOError:
                self._wait(select.POLLIN)

    def sendall(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[self._sock.send(view) :]
            except BlockingIOError:
                self._wait(select.POLLOUT)

    def _wait(self, events: int) -> None:
        left = self._due - self._clock()
        if left <= 0:
            raise TimeoutError("timed out")
        poller = select.poll()
        poller.register(self._sock, events)
        with self._turn.away():
            ready = poller.poll(math.ceil(left * 1000))
        if not ready:
            raise TimeoutError("timed out")
