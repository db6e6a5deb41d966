"""Remote Write test helpers: decode requests with protobuf, a capturing HTTP proxy, a fake adapter.

``capture(...)`` serves on 127.0.0.1 and records every POST (headers and the decoded
``WriteRequest``); it answers from a script of ``Reply`` objects and, when given an upstream
URL, forwards the rest there (a real Prometheus receiver) and relays its answer.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer

import cramjam
import requests

from devtools.remote_write_proto import remote_pb2
from tests.support import http
from tests.support.http import FakeAdapter, QuietHandler, Reply, fake_session

__all__ = ["FakeAdapter", "fake_session"]


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
