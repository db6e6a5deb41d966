"""A scrape's GET on a socket of its own: the request requests would send, written as one head,
on a connection kept from the target's last scrape or a new one, every one attached to the
scrape's ``Guard``; the answer read by ``head`` and ``body``. The request of a job that adds
nothing to it (no header, no authentication) is prepared and written once per URL and headers.

Only for what needs nothing requests adds (``ScrapeTransport.takes``): plain ``http``, no proxy,
no OAuth 2.0 or SigV4 (``httpconfig.plain``). A target that answers with a redirect it may
follow is handed back to the requests path, and remembered, so its later scrapes go there
directly (its rules: ``Reach`` on every hop, credentials dropped across hosts).
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Final, NamedTuple
from urllib.parse import urlsplit

from ..guard import Guard
from ..httpconfig import plain, root_cause
from ..turns import Turn
from .body import Body
from .channel import Channel
from .connections import Connections, Host, close
from .head import Head, Reader, read_head

if TYPE_CHECKING:
    import requests
    from requests.auth import AuthBase

    from ..targets import Target

REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
"""Statuses requests (and Go's client) follow when a ``Location`` comes with them."""

Prepare = Callable[[str, dict[str, str], "AuthBase | None"], "requests.PreparedRequest"]
"""The scrape session's ``prepared_get``: the request requests would send."""

_CLOSED_BY_PEER = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)
"""How a kept connection the target closed as the request went out fails (``RemoteDisconnected``,
no byte of an answer, is a ``ConnectionResetError``)."""


class Failure(Exception):
    """The GET failed; the text is the scrape's error, as the requests path words it."""

    def __init__(self, stage: str, cause: BaseException) -> None:
        super().__init__(
            "timed out" if isinstance(cause, TimeoutError) else f"{stage} failed: {root_cause(cause)}"
        )
        self.resend = False
        """Whether the request may go once more (a kept connection closed before any answer)."""
        self.timed_out = isinstance(cause, TimeoutError)
        """Whether an operation's time ran out (each is bounded by the time left to the scrape)."""


class Route(NamedTuple):
    """Where a URL's requests go, and the start of their head."""

    host: Host
    start: str
    """The request line and ``Host`` (http.client's: no port when it is 80, IPv6 bracketed)."""


def route(url: str, method: str = "GET") -> Route:
    parts = urlsplit(url)
    name = parts.hostname or ""
    default = 443 if parts.scheme == "https" else 80
    port = parts.port or default
    shown = f"[{name}]" if ":" in name else name.rstrip(".")  # urllib3's Host drops a trailing dot
    host = shown if port == default else f"{shown}:{port}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Route((name, port), f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n")


class Outgoing(NamedTuple):
    """A request as it goes out: its URL (as prepared), where to, its head."""

    url: str
    host: Host
    head: bytes


def outgoing(request: requests.PreparedRequest) -> Outgoing:
    url = request.url or ""
    host, start = route(url)
    return Outgoing(url, host, request_head(start, request))


def request_head(start: str, request: requests.PreparedRequest) -> bytes:
    """The head http.client writes for ``request``: the request line, ``Host``, then the
    prepared headers in their order; a value that would end its line fails the request."""
    items = request.headers.items()
    fields = "".join(
        f"{name}: {value if isinstance(value, str) else value.decode('latin-1')}\r\n" for name, value in items
    )
    lines = len(items)
    if fields.count("\n") != lines or fields.count("\r") != lines or "\0" in fields:
        raise Failure("request", ValueError("a header value holds a line break or NUL"))
    return f"{start}{fields}\r\n".encode("latin-1")


class Answer:
    """The target's final answer; on leaving its block the connection is kept for the next
    scrape when its body was read exactly to its end, and closed otherwise."""

    def __init__(
        self, connections: Connections, host: Host, sock: socket.socket, reader: Reader, head: Head
    ) -> None:
        self._connections = connections
        self._host = host
        self._sock = sock
        self._reader = reader
        self._head = head
        self._body: Body | None = None
        self.status = head.status
        self.reason = head.reason

    def header(self, name: str) -> str | None:
        return self._head.get(name)

    def pieces(self) -> Iterator[bytes]:
        """The body as sent (not decoded), a bounded piece at a time."""
        try:
            self._body = Body(self._reader, self._head)
            yield from self._body.pieces()
        except (OSError, http.client.HTTPException) as exc:
            raise Failure("request", exc) from None

    def __enter__(self) -> Answer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None and self._body is not None and self._body.kept:
            self._connections.give(self._host, self._sock)
        else:
            close(self._sock)


class ScrapeTransport:
    """Scrape GETs without requests, over keep-alive connections of their own; thread-safe."""

    def __init__(self, hosts: int, per_host: int) -> None:
        self.hosts = hosts
        self.connections = Connections(hosts, per_host)
        self._lock = threading.Lock()
        self._fixed: dict[tuple[str, tuple[tuple[str, str], ...]], Outgoing] = {}
        """The requests of targets whose job adds nothing to them, by URL and headers."""
        self._redirecting: OrderedDict[str, None] = OrderedDict()
        """URLs that answered with a redirect, the least recently seen first (up to ``hosts``)."""

    def takes(self, target: Target) -> bool:
        """Whether ``target``'s GET goes this way (its configuration's part decided once, by its
        ``ClientAuth``)."""
        auth = target.auth
        if not target.url.startswith("http://") or not (plain(target.http) if auth is None else auth.plain):
            return False
        with self._lock:
            return target.url not in self._redirecting

    def get(
        self, target: Target, headers: dict[str, str], prepare: Prepare, guard: Guard, turn: Turn
    ) -> Answer | None:
        """The answer to the GET of ``target`` with ``headers``, as ``prepare`` (the scrape
        session's ``prepared_get``) makes it; ``None`` when it is a redirect to follow, which the
        caller hands to requests (the URL is remembered). ``Failure`` when the GET failed;
        ``guard.Aborted`` at the scrape's deadline. The request prepared, the scrape takes
        ``turn`` and holds it but while it waits: for a connection, or on its socket
        (``channel``)."""
        outgoing = self._outgoing(target, headers, prepare)
        turn.take()
        answer = self._exchange(outgoing.host, outgoing.head, outgoing.url, guard, turn)
        if (
            target.http.follow_redirects
            and answer.status in REDIRECT_STATUSES
            and answer.header("Location") is not None
        ):
            with answer:
                self._remember(target.url)
            return None
        return answer

    def close(self) -> None:
        self.connections.close()

    def _exchange(self, host: Host, head: bytes, url: str, guard: Guard, turn: Turn) -> Answer:
        """Send ``head`` and read the answer's head; sent once more on a new connection when the
        kept one turned out closed by the target before any answer (as ``fetch._sent``)."""
        try:
            return self._attempt(host, head, url, guard, turn, fresh=False)
        except Failure as failure:
            if not failure.resend:
                raise
        guard.again()
        return self._attempt(host, head, url, guard, turn, fresh=True)

    def _attempt(self, host: Host, head: bytes, url: str, guard: Guard, turn: Turn, *, fresh: bool) -> Answer:
        left = guard.sending(url)
        sock = self._connection(host, guard, turn, left, fresh)
        channel = Channel(sock, turn, guard.due, guard.clock)
        reader = Reader(channel.recv)
        try:
            channel.sendall(head)
            answered = read_head(reader)
        except (OSError, http.client.HTTPException) as exc:
            close(sock)
            failure = Failure("connection", exc)
            failure.resend = (
                isinstance(exc, _CLOSED_BY_PEER)
                and not reader.received
                and guard.reused
                and not guard.aborted
            )
            raise failure from None
        except BaseException:
            close(sock)
            raise
        return Answer(self.connections, host, sock, reader, answered)

    def _connection(self, host: Host, guard: Guard, turn: Turn, left: float, fresh: bool) -> socket.socket:
        """A kept connection to ``host`` (unless ``fresh``) or a new one (its lookup and connect
        off ``turn``, within ``left`` seconds), attached to ``guard``."""
        sock = None if fresh else self.connections.take(host)
        reused = sock is not None
        if sock is None:
            try:
                with turn.away():
                    sock = socket.create_connection(host, timeout=left)
            except OSError as exc:
                raise Failure("connection", exc) from None
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as urllib3 sets it
        guard.reused = reused
        try:
            guard.attach(sock)
        except BaseException:
            close(sock)
            raise
        return sock

    def _outgoing(self, target: Target, headers: dict[str, str], prepare: Prepare) -> Outgoing:
        """The request: prepared anew when the job's ``ClientAuth`` adds to it (its credentials
        and header files are read for each request), else kept per URL and headers."""
        auth = target.auth
        if auth is not None and not auth.fixed:
            return outgoing(prepare(target.url, headers, auth))
        key = (target.url, tuple(headers.items()))
        found = self._fixed.get(key)
        if found is None:
            if len(self._fixed) >= self.hosts:
                self._fixed.clear()  # URLs come and go with discovery: bounded, rebuilt on use
            found = self._fixed[key] = outgoing(prepare(target.url, headers, auth))
        return found

    def _remember(self, url: str) -> None:
        with self._lock:
            self._redirecting[url] = None
            self._redirecting.move_to_end(url)
            while len(self._redirecting) > self.hosts:
                self._redirecting.popitem(last=False)
