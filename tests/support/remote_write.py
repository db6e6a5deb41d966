"""Remote Write test helpers: decode requests with protobuf, a capturing HTTP proxy, a fake poster.

``capture(...)`` serves on 127.0.0.1 and records every POST (headers and the decoded
``WriteRequest``); it answers from a script of ``Reply`` objects and, when given an upstream
URL, forwards the rest there (a real Prometheus receiver) and relays its answer.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer

import cramjam
import requests
from scrape_push.httpconfig.answers import read_answer
from scrape_push.scrapehttp.head import Head
from scrape_push.scrapehttp.posts import Bounds, Posted, PostFailure
from scrape_push.sinks.remote_write.limits import MAX_ERROR_BODY_BYTES

from devtools.remote_write_proto import remote_pb2
from tests.support import http
from tests.support.http import QuietHandler, Reply

__all__ = ["Clock", "FakePoster", "Reply", "RequestsPoster", "fake_poster"]


class Clock:
    """A monotonic clock that only moves when the code under test sleeps (its backoff)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakePoster:
    """The sink's connections (``scrapehttp.posts.Poster``) answering from a script (a
    ``Reply``, or an exception: the failure it names, as the poster names one), then
    ``default``; records the prepared requests and their bounds. No network."""

    def __init__(self, *script: Reply | Exception, default: Reply | None = None) -> None:
        self.script = list(script)
        self.default = default or Reply(204)
        self.sent: list[requests.PreparedRequest] = []
        self.bounds: list[Bounds] = []
        self.lock = threading.Lock()

    def post(self, request: requests.PreparedRequest, bounds: Bounds) -> Posted:
        with self.lock:
            self.sent.append(request)
            self.bounds.append(bounds)
            reply = self.script.pop(0) if self.script else self.default
        if isinstance(reply, PostFailure):
            raise reply
        if isinstance(reply, Exception):
            raise PostFailure(type(reply).__name__, reply, MAX_ERROR_BODY_BYTES) from None
        return Posted(reply.status, "", _head(reply.status, "", reply.headers), reply.body[: bounds.limit])

    def close(self) -> None:
        pass


def fake_poster(*script: Reply | Exception, default: Reply | None = None) -> FakePoster:
    return FakePoster(*script, default=default)


def _head(status: int, reason: str, headers: Mapping[str, str]) -> Head:
    fields = {name.lower().encode(): [value.encode("latin-1")] for name, value in headers.items()}
    return Head(11, status, reason, fields, 0)


class RequestsPoster:
    """The reference the sink's own connections are held to: the same prepared request sent
    through a requests session (the sink's before them), its answer read within the same bounds
    (``read_answer``), its failures named by requests' exceptions."""

    def __init__(self, session: requests.Session, *, verify: bool = True) -> None:
        self.session = session
        self.verify = verify

    def post(self, request: requests.PreparedRequest, bounds: Bounds) -> Posted:
        try:
            response = self.session.send(
                request,
                timeout=(bounds.connect, bounds.read),
                verify=self.verify,
                allow_redirects=False,
                proxies={},
                stream=True,
            )
            body = read_answer(response, bounds.limit, bounds.until, bounds.clock)
        except requests.RequestException as exc:
            raise PostFailure(type(exc).__name__, exc, MAX_ERROR_BODY_BYTES) from None
        reason = response.reason or ""
        return Posted(
            response.status_code, reason, _head(response.status_code, reason, response.headers), body
        )

    def close(self) -> None:
        self.session.close()


def decode(body: bytes) -> remote_pb2.WriteRequest:
    """A snappy-compressed request body, decoded by the protobuf library."""
    request = remote_pb2.WriteRequest()
    request.ParseFromString(decompress(body))
    return request


def decompress(payload: bytes) -> bytes:
    """The inverse of the sink's snappy block compression."""
    return bytes(cramjam.snappy.decompress_raw(payload))


def series_of(request: remote_pb2.WriteRequest) -> dict[tuple[tuple[str, str], ...], list[tuple[int, float]]]:
    """``{labels: [(timestamp, value), ...]}`` of a decoded request."""
    return {
        tuple((label.name, label.value) for label in ts.labels): [(s.timestamp, s.value) for s in ts.samples]
        for ts in request.timeseries
    }


@dataclass
class Captured:
    headers: dict[str, str]
    body: bytes

    @property
    def request(self) -> remote_pb2.WriteRequest:
        return decode(self.body)


@dataclass
class Capture:
    """A running capturing proxy: ``url`` to write to, ``requests`` seen so far."""

    server: ThreadingHTTPServer
    script: list[Reply]
    upstream: str | None
    requests: list[Captured] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    down: bool = False
    """While set, every POST is answered 503 with a ``Retry-After`` past any deadline (the
    receiver is down), and not recorded."""

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/api/v1/write"

    def answer(self, headers: dict[str, str], body: bytes) -> Reply:
        if self.down:
            return Reply(503, b"down for the test", {"Retry-After": "3600"})
        with self.lock:
            self.requests.append(Captured(headers, body))
            if self.script:
                return self.script.pop(0)
        if self.upstream is None:
            return Reply(204)
        forwarded = {k: v for k, v in headers.items() if k.lower() not in ("host", "content-length")}
        response = requests.post(self.upstream, data=body, headers=forwarded, timeout=10)
        return Reply(response.status_code, response.content)


@contextmanager
def capture(*script: Reply, upstream: str | None = None) -> Iterator[Capture]:
    """Serve until the block exits; answer ``script`` in order, then 204 (or relay upstream)."""
    ref: list[Capture] = []

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            reply = ref[0].answer(dict(self.headers.items()), body)
            self.answer(reply.status, reply.body, reply.headers)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    ref.append(Capture(server, list(script), upstream))
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": http.POLL_SECONDS}, daemon=True
    )
    thread.start()
    try:
        yield ref[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
