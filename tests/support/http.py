"""Real HTTP servers on 127.0.0.1 for exposition endpoints with scripted behaviour."""

from __future__ import annotations

import gzip
import io
import socket
import socketserver
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import requests
import urllib3
from requests.adapters import BaseAdapter

TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_FORMAT = "application/openmetrics-text; version=1.0.0; charset=utf-8"


@dataclass
class Response:
    """What the endpoint answers: status, body, content type; optionally gzip or a hang."""

    body: bytes = b""
    content_type: str = TEXT_FORMAT
    status: int = 200
    gzip: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    hang: threading.Event | None = None
    """When set, the handler waits on this event before answering (a stuck target)."""


@dataclass
class Reply:
    """An answer of a scripted or relaying server: status, body and headers."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    source: io.RawIOBase | None = None
    """Where the body is read from instead of ``body`` (an endless or trickling answer)."""


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing and sends a whole answer in one call."""

    def answer(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        """Status, headers, ``Content-Length`` and body; a client that hung up is ignored."""
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Endpoint:
    """A running endpoint; ``respond`` may be replaced between scrapes."""

    server: ThreadingHTTPServer
    respond: Callable[[str], Response]
    requests: list[dict[str, str]] = field(default_factory=list)

    @property
    def address(self) -> str:
        return address_of(self.server)


def address_of(server: socketserver.TCPServer) -> str:
    """``host:port`` a server listens on."""
    host, port = cast("tuple[Any, ...]", server.server_address)[:2]
    return f"{host}:{port}"


def _handler(endpoint_ref: list[Endpoint]) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:
            endpoint = endpoint_ref[0]
            endpoint.requests.append({"path": self.path, **dict(self.headers.items())})
            response = endpoint.respond(self.path)
            if response.hang is not None:
                response.hang.wait(30)
            body = gzip.compress(response.body) if response.gzip else response.body
            headers = {"Content-Type": response.content_type}
            if response.gzip:
                headers["Content-Encoding"] = "gzip"
            self.answer(response.status, body, headers | response.headers)

    return Handler


POLL_SECONDS = 0.02
"""How often a test server checks whether it was asked to stop."""


@contextmanager
def serve(respond: Callable[[str], Response] | Response) -> Iterator[Endpoint]:
    """Serve ``respond`` (a fixed ``Response`` or a function of the path) until the block exits."""
    ref: list[Endpoint] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(ref))
    server.daemon_threads = True
    fixed = respond if isinstance(respond, Response) else None
    ref.append(Endpoint(server, (lambda _path: fixed) if fixed is not None else respond))  # type: ignore[arg-type,return-value]
    with serving(server):
        yield ref[0]


@contextmanager
def serving(server: socketserver.BaseServer) -> Iterator[None]:
    """Run ``server`` in a daemon thread until the block exits, then shut it down and close it."""
    # serve_forever polls for shutdown every poll_interval (0.5 s by default): a test's exit
    # would wait that long per server for nothing
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": POLL_SECONDS}, daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def local_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[ThreadingHTTPServer]:
    """A threading HTTP server of ``handler`` on 127.0.0.1, serving until the block exits."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    with serving(server):
        yield server


def refused_address() -> str:
    """``127.0.0.1:port`` where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


class CountedBody(io.BytesIO):
    """An answer's body that counts the bytes read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.taken = 0

    def read(self, size: int | None = -1) -> bytes:
        found = super().read(size)
        self.taken += len(found)
        return found

    def read1(self, size: int | None = -1) -> bytes:
        found = super().read1(size)
        self.taken += len(found)
        return found


class FakeAdapter(BaseAdapter):
    """A ``requests`` adapter answering from a script (a ``Reply``, or an exception to raise),
    then ``default``, recording the prepared requests and their timeouts; no network. An
    answer's body is read as from a socket (``last_body`` counts what was read of it)."""

    def __init__(self, *script: Reply | Exception, default: Reply | None = None) -> None:
        super().__init__()
        self.script = list(script)
        self.default = default or Reply(204)
        self.sent: list[requests.PreparedRequest] = []
        self.timeouts: list[object] = []
        self.lock = threading.Lock()
        self.last_body = CountedBody(b"")

    def send(self, request: requests.PreparedRequest, *args: object, **kwargs: object) -> requests.Response:
        with self.lock:
            self.sent.append(request)
            self.timeouts.append(kwargs.get("timeout"))
            reply = self.script.pop(0) if self.script else self.default
            if isinstance(reply, Exception):
                raise reply
            self.last_body = CountedBody(reply.body)
            body: Any = reply.source or self.last_body
        response = requests.Response()
        response.status_code = reply.status
        response.headers.update(reply.headers)
        response.raw = urllib3.HTTPResponse(
            body=body, headers=reply.headers, status=reply.status, preload_content=False
        )
        response.request = request
        response.url = request.url or ""
        return response

    def close(self) -> None:
        pass

    def bodies(self) -> list[bytes]:
        """The gzip-compressed bodies sent, uncompressed."""
        return [gzip.decompress(r.body) if isinstance(r.body, bytes) else b"" for r in self.sent]


def fake_session(
    *script: Reply | Exception, default: Reply | None = None
) -> tuple[requests.Session, FakeAdapter]:
    session = requests.Session()
    adapter = FakeAdapter(*script, default=default)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session, adapter
