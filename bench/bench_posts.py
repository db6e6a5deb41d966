"""One Remote Write POST, warm: the CPU and the Python calls of a request as the sink sends it (on
its own connections, ``scrapehttp.posts``), against bare requests (what the sink sent through
before) and bare ``http.client`` (the floor) on a kept connection to the same local receiver
(devtools/target_fleet.py's counting one, in its own process).

The body is ``--bytes`` of random bytes (a 2,000-sample request of the fleet benchmark is about
40 KB snappy-compressed). CPU is the calling thread's (``thread_time``), the best of a few
repeats (the machine is shared); Python calls per POST are counted exactly (``sys.setprofile``),
so they compare across runs whatever the load.

    .venv/bin/python bench/bench_posts.py [--posts 400] [--bytes 40000]
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "functions" / "scrape_push"))

import requests
from bench_fetch import calls_per_get, cpu_per_get
from scrape_push.aws import AwsClients
from scrape_push.config.source import parse_config
from scrape_push.credentials import Scrubber, SecretResolver
from scrape_push.deadline import Deadline
from scrape_push.plugins import BuildContext
from scrape_push.settings import Settings
from scrape_push.sinks.remote_write.config import RemoteWriteConfig
from scrape_push.sinks.remote_write.sink import RemoteWriteSink
from scrape_push.sinks.remote_write.transport import protocol_headers

from devtools import target_fleet

WARMUP_POSTS = 50
TIMEOUT_SECONDS = 10.0


def sink_post(url: str, body: bytes) -> Callable[[], bytes]:
    """A POST as the sink sends it: its sender, a deadline, its own connections."""
    config = parse_config(f"remote_write:\n  - url: {url}\n").config.sinks["remote_write"][0]
    assert isinstance(config, RemoteWriteConfig)
    clients = AwsClients()
    context = BuildContext(
        1, clients, SecretResolver(clients, Scrubber(), max_age=0), Settings.from_environment()
    )
    sink = RemoteWriteSink(config, context)
    sender = sink.sender()

    def post() -> bytes:
        outcome = sender.send(body, Deadline.after(TIMEOUT_SECONDS))
        if outcome.status != "sent":
            raise RuntimeError(outcome.error)
        return body

    return post


def requests_post(url: str, body: bytes) -> Callable[[], bytes]:
    session = requests.Session()
    headers = protocol_headers()

    def post() -> bytes:
        with session.post(url, data=body, headers=headers, timeout=TIMEOUT_SECONDS) as response:
            response.raise_for_status()
        return body

    return post


def http_client_post(url: str, body: bytes) -> Callable[[], bytes]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=TIMEOUT_SECONDS)
    headers = protocol_headers()

    def post() -> bytes:
        connection.request("POST", parts.path, body, headers)
        response = connection.getresponse()
        response.read()
        if response.status >= 300:
            raise RuntimeError(response.status)
        return body

    return post


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=400, help="POSTs per repeat")
    parser.add_argument("--bytes", type=int, default=40_000, help="bytes of a request's body")
    args = parser.parse_args()
    body = os.urandom(args.bytes)
    paths = {
        "scrape-push sink": sink_post,
        "requests Session.post": requests_post,
        "http.client": http_client_post,
    }
    with tempfile.TemporaryDirectory() as tmp, target_fleet.running(Path(tmp), 1, 1) as fleet:
        rows = []
        for name, make in paths.items():
            post = make(fleet.write_url, body)
            for _ in range(WARMUP_POSTS):
                post()
            rows.append((name, cpu_per_get(post, args.posts), calls_per_get(post)))
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} CPUs; CPython {platform.python_version()}")
    print(f"one warm POST of {args.bytes:,} bytes; CPU: best of 5 x {args.posts}\n")
    print("| path | CPU µs per POST | Python calls per POST |\n|---|---:|---:|")
    for name, cpu, calls in rows:
        print(f"| {name} | {cpu * 1e6:.0f} | {calls:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
