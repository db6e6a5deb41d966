"""A real Prometheus exposition endpoint for the demo and the tests.

Serves a counter, a gauge, a histogram and a summary (plus prometheus_client's process and
platform collectors) whose values move on every scrape, like a live application would.

    python -m devtools.exposition_app --port 9464
"""

from __future__ import annotations

import argparse
import itertools
import random
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary, make_wsgi_app

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def build_app(seed: int = 42) -> WSGIApp:
    """A WSGI app whose metrics advance by one simulated request batch per scrape."""
    registry = CollectorRegistry()
    requests = Counter("demo_requests", "Requests handled", ["method", "code"], registry=registry)
    in_flight = Gauge("demo_in_flight_requests", "Requests being handled now", registry=registry)
    latency = Histogram(
        "demo_request_duration_seconds",
        "Request latency",
        ["method"],
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
        registry=registry,
    )
    size = Summary("demo_response_size_bytes", "Response sizes", registry=registry)
    rng = random.Random(seed)
    scrapes = itertools.count(1)
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        n = next(scrapes)
        for _ in range(10):
            method = rng.choice(("GET", "POST"))
            requests.labels(method, rng.choice(("200", "200", "200", "500"))).inc()
            latency.labels(method).observe(rng.expovariate(20.0))
            size.observe(rng.randint(200, 5000))
        in_flight.set(n % 7)
        return metrics(environ, start_response)  # type: ignore[no-any-return]

    return app


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9464)
    args = parser.parse_args()
    with make_server(args.host, args.port, build_app(), handler_class=_QuietHandler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
