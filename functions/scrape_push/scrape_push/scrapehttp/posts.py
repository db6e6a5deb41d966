"""A sink's POST on a keep-alive connection of its own: the request requests would send (its
prepared head, then the body), over TLS for an ``https`` receiver (the sink's ``tls_config``
context, verified as urllib3 verifies it), the answer read by ``head`` and ``body`` within a
size bound and the attempt's time (Remote Write; docs/remote-write.md, "How a request is sent").

What can go wrong is named as requests names it (``ConnectTimeout``, ``ReadTimeout``,
``SSLError``, ``ConnectionError``, ``InvalidHeader``), with the same innermost cause, so a
sink's errors read the same either way. A kept connection the receiver had closed before any
byte of an answer is sent once more on a new one (requests reported a failed attempt, retried
after its backoff).
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, NamedTuple

from ..credentials import SecretError
from ..httpconfig import TLSConfigError, root_cause
from ..httpconfig.answers import gunzip
from .body import Body
from .connections import Connections, Host, close
from .head import Head, Reader, read_head
from .transport import Failure, request_head, route

if TYPE_CHECKING:
    import requests

NO_BODY_STATUSES: Final = frozenset({204, 304})
"""Final answers without a body whatever their fields say (RFC 9112 6.3, item 1)."""

_CLOSED_BY_PEER: Final = (
    ConnectionResetError,
    BrokenPipeError,
    ConnectionAbortedError,
    ssl.SSLEOFError,
    ssl.SSLZeroReturnError,
)
"""How a kept connection the receiver closed fails as the request goes out (``RemoteDisconnected``
included; over TLS, an end without or with its close notification)."""


class PostFailure(Exception):
    """The POST failed before an answer's head came; the text is requests' name for it and the
    innermost cause (``root_cause``)."""

    def __init__(self, kind: str, cause: BaseException, limit: int) -> None:
        super().__init__(f"{kind}: {root_cause(cause, limit)}")


class _Resend(Exception):
    """A kept connection turned out closed by the receiver before any answer: send again."""


class Bounds(NamedTuple):
    """What one attempt may take: seconds to connect and for each read, the moment on
    ``clock`` by which all of it ends, and the bytes of an answer's body read."""

    connect: float
    read: float
    until: float
    clock: Callable[[], float]
    limit: int

    def left(self) -> float:
        """Seconds the next read may wait (``TimeoutError`` when none are left)."""
        left = min(self.read, self.until - self.clock())
        if left <= 0:
            raise TimeoutError("timed out")
        return left


class Posted(NamedTuple):
    """The receiver's answer: its status and reason, its head's fields, and at most the bound's
    bytes of its body (gunzipped when it says gzip)."""

    status: int
    reason: str
    head: Head
    body: bytes

    def header(self, name: str) -> str | None:
        return self.head.get(name)


class Poster:
    """POSTs to the hosts of one sink over keep-alive connections of its own; thread-safe."""

    def __init__(
        self,
        hosts: int,
        per_host: int,
        *,
        error_limit: int = 200,
        tls: Callable[[], ssl.SSLContext],
        server_name: str | None = None,
    ) -> None:
        self.connections = Connections(hosts, per_host)
        self.error_limit = error_limit
        """Characters of a failure's cause kept in its text."""
        self.tls = tls
        """The ``SSLContext`` of the sink's ``tls_config`` (its current one: a client key read
        from SSM may change), asked for at each new connection to an ``https`` receiver."""
        self.server_name = server_name
        """``tls_config.server_name``: the name sent (SNI) and verified instead of the URL's."""

    def post(self, request: requests.PreparedRequest, bounds: Bounds) -> Posted:
        """Send ``request`` (prepared, its body bytes) within ``bounds``. ``PostFailure`` when no
        answer came."""
        url = request.url or ""
        secure = url.startswith("https://")
        host, start = route(url, "POST")
        try:
            head = request_head(start, request)
        except Failure as failure:
            raise PostFailure("InvalidHeader", failure, self.error_limit) from None
        body = request.body
        data = head + (body.encode() if isinstance(body, str) else body or b"")
        try:
            return self._attempt(host, data, bounds, secure, fresh=False)
        except _Resend:
            return self._attempt(host, data, bounds, secure, fresh=True)

    def close(self) -> None:
        self.connections.close()

    def _attempt(self, host: Host, data: bytes, bounds: Bounds, secure: bool, *, fresh: bool) -> Posted:
        sock = None if fresh else self.connections.take(host)
        reused = sock is not None
        if sock is None:
            sock = self._connect(host, bounds, secure)
        reader = Reader(_bounded_recv(sock, bounds))
        try:
            sock.settimeout(bounds.left())
            sock.sendall(data)
            answered = read_head(reader)
        except TimeoutError as exc:
            close(sock)
            raise PostFailure("ReadTimeout", exc, self.error_limit) from None
        except (OSError, http.client.HTTPException) as exc:
            close(sock)
            if reused and isinstance(exc, _CLOSED_BY_PEER) and not reader.received:
                raise _Resend from None
            kind = "SSLError" if isinstance(exc, ssl.SSLError) else "ConnectionError"
            raise PostFailure(kind, exc, self.error_limit) from None
        except BaseException:
            close(sock)
            raise
        raw, kept = _read_body(reader, answered, bounds)
        if kept:
            self.connections.give(host, sock)
        else:
            close(sock)
        if answered.tokens(b"content-encoding") == [b"gzip"]:
            raw = gunzip(raw, bounds.limit)
        return Posted(answered.status, answered.reason, answered, raw[: bounds.limit])

    def _connect(self, host: Host, bounds: Bounds, secure: bool) -> socket.socket:
        """A new connection to ``host`` within the connect timeout; over TLS, its handshake
        too (a handshake that times out is a ``ReadTimeout``, as urllib3 reports it)."""
        timeout = min(bounds.connect, bounds.until - bounds.clock())
        try:
            if timeout <= 0:
                raise TimeoutError("timed out")
            sock = socket.create_connection(host, timeout=timeout)
        except TimeoutError as exc:
            raise PostFailure("ConnectTimeout", exc, self.error_limit) from None
        except OSError as exc:
            raise PostFailure("ConnectionError", exc, self.error_limit) from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as urllib3 sets it
        if not secure:
            return sock
        try:
            return self.tls().wrap_socket(sock, server_hostname=self.server_name or host[0])
        except (TLSConfigError, SecretError) as exc:  # the material, or the key's parameter
            close(sock)
            raise PostFailure(type(exc).__name__, exc, self.error_limit) from None
        except TimeoutError as exc:
            close(sock)
            raise PostFailure("ReadTimeout", exc, self.error_limit) from None
        except ssl.SSLError as exc:
            close(sock)
            raise PostFailure("SSLError", exc, self.error_limit) from None
        except OSError as exc:
            close(sock)
            raise PostFailure("ConnectionError", exc, self.error_limit) from None
        except BaseException:
            close(sock)
            raise


def _bounded_recv(sock: socket.socket, bounds: Bounds) -> Callable[[int], bytes]:
    """``sock.recv``, each call within the read timeout and all of them before the attempt's
    end: a receiver trickling its answer cannot hold the sender past the attempt's time."""

    def recv(size: int) -> bytes:
        sock.settimeout(bounds.left())
        return sock.recv(size)

    return recv


def _read_body(reader: Reader, head: Head, bounds: Bounds) -> tuple[bytes, bool]:
    """At most the bound's bytes (and one piece) of the body, read within the attempt's time,
    and whether the connection may carry the next request (the body read exactly to its end).
    The status came first and decides: a body that breaks off or is refused ends the reading."""
    if head.status in NO_BODY_STATUSES:
        reusable = head.version == 11 and b"close" not in head.tokens(b"connection")
        return b"", reusable and not reader.buffered
    raw = bytearray()
    try:
        body = Body(reader, head)
        for piece in body.pieces():
            raw += piece
            if len(raw) > bounds.limit or bounds.clock() >= bounds.until:
                return bytes(raw), False
    except (OSError, http.client.HTTPException):
        return bytes(raw), False
    return bytes(raw), body.kept
