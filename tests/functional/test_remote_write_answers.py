"""The Remote Write sender against a real HTTP receiver on 127.0.0.1: what it reads of the
answers, and which connections it keeps."""

from __future__ import annotations

import threading
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer

import pytest
from scrape_push.config.source import parse_config
from scrape_push.deadline import Deadline
from scrape_push.sinks.remote_write.config import RemoteWriteConfig
from scrape_push.sinks.remote_write.sink import RemoteWriteSink
from scrape_push.sinks.remote_write.transport import Sender

from tests.support.context import build_context
from tests.support.http import QuietHandler, serving

BIG_ANSWER_BYTES = 64 * 1024 * 1024
"""A success answer's body, sent whole to a client that reads it (the old sender did)."""


class Receiver:
    def __init__(self) -> None:
        self.connections: set[tuple[str, int]] = set()
        self.lock = threading.Lock()


@contextmanager
def receiver(status: int, body_bytes: int) -> Iterator[tuple[str, Receiver]]:
    seen = Receiver()

    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            with seen.lock:
                seen.connections.add(self.client_address)
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(status)
            self.send_header("Content-Length", str(body_bytes))
            self.end_headers()
            piece = b"x" * min(body_bytes, 1 << 20)
            left = body_bytes
            try:
                while left > 0:
                    self.wfile.write(piece[:left])
                    left -= len(piece)
            except OSError:  # the sender hung up before the end: what it should do
                self.close_connection = True

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with serving(server):
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v1/write", seen


def _config(url: str) -> RemoteWriteConfig:
    return parse_config(f"remote_write:\n  - url: {url}\n").config.sinks["remote_write"][0]


@contextmanager
def sender_of(url: str) -> Iterator[Sender]:
    """The sender of a sink of ``url``, on the sink's own connections; closed on exit."""
    sink = RemoteWriteSink(_config(url), build_context())
    try:
        yield sink.sender()
    finally:
        sink.close()


@pytest.mark.parametrize("status", [200, 400])
def test_a_huge_answer_is_not_read_into_memory_and_its_connection_is_let_go(status: int) -> None:
    with receiver(status, BIG_ANSWER_BYTES) as (url, seen), sender_of(url) as sender:
        tracemalloc.start()
        try:
            outcomes = [sender.send(b"x", Deadline.after(30)).status for _ in range(2)]
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert outcomes == (["sent", "sent"] if status == 200 else ["rejected", "rejected"])
    assert peak < BIG_ANSWER_BYTES // 16
    assert len(seen.connections) == 2  # a connection cut short is not used again


def test_an_ordinary_answer_leaves_its_connection_for_the_next_request() -> None:
    with receiver(200, 2) as (url, seen), sender_of(url) as sender:
        assert [sender.send(b"x", Deadline.after(30)).status for _ in range(3)] == ["sent"] * 3
    assert len(seen.connections) == 1
