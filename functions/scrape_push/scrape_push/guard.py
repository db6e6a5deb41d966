"""A scrape's hold on its connections: cut them at its deadline, check where redirects lead.

A socket timeout bounds each read, not the whole scrape: a target that sends a byte a second
would keep a scrape alive for as long as it likes. So every socket a scrape uses (a pooled
connection it picks up or one it opens) is registered with the scrape's ``Guard``, and when the
deadline comes the thread that waits for the scrapes (``Watch``) shuts the sockets down, which
ends any read or write blocked on them at once, TLS included. Registration happens in the
connection pool classes below, which find the current scrape's guard in a context variable;
outside a scrape (a sink's requests) they behave exactly as urllib3's own.
"""

from __future__ import annotations

import math
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from typing import Any

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from .reach import Reach

_current: ContextVar[Guard | None] = ContextVar("scrape_guard", default=None)


class Aborted(Exception):
    """The scrape's deadline came: its connections were cut."""


class Guard:
    """One scrape's connections, its deadline and its redirect policy."""

    def __init__(
        self, due: float, reach: Reach, proxied: bool, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.due = due
        """When the scrape must end, on ``clock``."""
        self.clock = clock
        self.reach = reach
        self.proxied = proxied
        self.requests = 0
        """HTTP requests sent so far (the first is the target's own; later ones are redirects)."""
        self.reused = False
        """Whether the latest request went out on a connection kept from an earlier one."""
        self.url = ""
        self.aborted = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []

    @property
    def redirected(self) -> bool:
        return self.requests > 1

    def sending(self, url: str) -> float:
        """A request to ``url`` is about to be sent (the adapter's hook): check where it goes,
        and return the time left, which bounds its connect and reads (``Aborted`` if none)."""
        self.requests += 1
        self.url = url
        if self.redirected:
            self.reach.check_url(url, resolve=self.proxied)
        left = self.due - self.clock()
        if self.aborted or left <= 0:
            raise Aborted
        return left

    def attach(self, sock: socket.socket) -> None:
        """Watch ``sock`` (a duplicate descriptor is kept, so shutting it down works even once
        TLS has taken over the original object); refuse it if a redirect led somewhere it may
        not go."""
        if self.redirected and not self.proxied:
            self.reach.check_peer(str(sock.getpeername()[0]), self.url)
        watched = socket.socket(fileno=os.dup(sock.fileno()))
        with self._lock:
            self._sockets.append(watched)
            aborted = self.aborted
        if aborted:
            _shutdown(watched)
            raise Aborted

    def again(self) -> None:
        """The target's own request is sent once more (``fetch``: a kept connection the target
        had closed); what the first attempt counted starts over."""
        self.requests = 0
        self.reused = False

    def abort(self) -> None:
        """Cut every connection of the scrape; any blocked read or write ends now."""
        with self._lock:
            self.aborted = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)

    def close(self) -> None:
        """Release the duplicate descriptors (the connections themselves stay pooled)."""
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            sock.close()

    def check(self) -> None:
        """Raise ``Aborted`` once the deadline came (for work between reads, such as parsing)."""
        if self.aborted or self.clock() >= self.due:
            raise Aborted


def _shutdown(sock: socket.socket) -> None:
    with suppress(OSError):  # already closed by the other side
        sock.shutdown(socket.SHUT_RDWR)


@contextmanager
def guarding(guard: Guard) -> Iterator[Guard]:
    """Make ``guard`` the current scrape's guard in this thread until the block ends."""
    token = _current.set(guard)
    try:
        yield guard
    finally:
        _current.reset(token)
        guard.close()


def current() -> Guard | None:
    return _current.get()


def _attach(sock: socket.socket | None, reused: bool = False) -> None:
    guard = _current.get()
    if guard is not None and sock is not None:
        guard.reused = reused
        guard.attach(sock)


class GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        try:
            _attach(sock)
        except BaseException:
            sock.close()
            raise
        return sock


class GuardedHTTPSConnection(HTTPSConnection, GuardedHTTPConnection):
    pass


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        try:
            # a pooled connection reused (a new one attaches when it connects)
            _attach(getattr(conn, "sock", None), reused=True)
        except BaseException:
            conn.close()  # urlopen returns the pool's slot
            raise
        return conn


class GuardedHTTPSConnectionPool(HTTPSConnectionPool, GuardedHTTPConnectionPool):
    ConnectionCls = GuardedHTTPSConnection

    def _validate_conn(self, conn: Any) -> None:
        # urllib3's own, but for its InsecureRequestWarning: an unverified connection only comes
        # from tls_config.insecure_skip_verify, the user's explicit choice (as in Prometheus),
        # and the warning would fill the function's log on every request.
        HTTPConnectionPool._validate_conn(self, conn)
        if conn.is_closed:
            conn.connect()


GUARDED_POOLS = {"http": GuardedHTTPConnectionPool, "https": GuardedHTTPSConnectionPool}
"""urllib3 pool classes by scheme, for a ``PoolManager``'s ``pool_classes_by_scheme``."""


class Watch:
    """What the thread waiting for a cycle's scrapes uses to cut each one at its deadline.

    The waiter sleeps until the earliest deadline of the scrapes it saw running, or until every
    scrape is done. A scrape starting or ending wakes it only when that changes what it waits
    for (an earlier deadline, the last scrape done): a fleet's scrapes would otherwise wake it
    twice each, for nothing."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._changed = threading.Condition()
        self._running: set[Guard] = set()
        self.finished = 0
        self._total: float = math.inf
        """How many scrapes the waiter waits for (``until``'s ``total``)."""
        self._wake_at = -math.inf
        """When the waiter wakes by itself next (``-inf``: it is not waiting)."""

    def started(self, guard: Guard) -> None:
        with self._changed:
            self._running.add(guard)
            if guard.due < self._wake_at:
                self._changed.notify_all()

    def done(self, guard: Guard) -> None:
        with self._changed:
            self._running.discard(guard)
            self.finished += 1
            if self.finished >= self._total:
                self._changed.notify_all()

    def until(self, total: int, stop: float) -> set[Guard]:
        """Wait until ``total`` scrapes are done or ``stop`` (monotonic) passes, cutting each
        scrape at its own deadline; the guards of scrapes still running are returned."""
        with self._changed:
            self._total = total
            try:
                while self.finished < total:
                    now = self._clock()
                    for guard in self._running:
                        if not guard.aborted and guard.due <= now:
                            guard.abort()
                    if now >= stop:
                        break
                    self._wake_at = min([stop, *(g.due for g in self._running if not g.aborted)])
                    self._changed.wait(self._wake_at - now)
            finally:
                self._total, self._wake_at = math.inf, -math.inf
            return set(self._running)
