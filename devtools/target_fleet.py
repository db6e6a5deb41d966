"""A fleet of node_exporter-shaped scrape targets on 127.0.0.1, and a Remote Write receiver that
only counts: the local targets of the benchmarks (bench_e2e, bench_fleet), of ``devtools.fleet``
and of the tests.

One process serves every target, each on a port of its own (so each has its own ``instance``
label, as a fleet of hosts has), and answers on a control port:

* ``GET /ports``: the targets' ports, as a JSON list;
* ``GET /stats?since=T&until=T``: how many scrapes each client (the product token of its
  ``User-Agent``: ``Prometheus``, ``vm_promscrape``, ``scrape-push``) made in ``[since, until)``
  (Unix seconds), and the time of its latest scrape;
* ``POST /api/v1/write``: a Remote Write receiver that answers 204 and only counts (its body is
  read, never decoded);
* ``GET /counts``: what it received, ``{"requests": N, "bytes": N}``.

A target's body is a captured node_exporter exposition (tests/fixtures) repeated over ``slot``
labels as a big host's exporter repeats it per device, plus request-latency histograms, cut to
exactly ``--series`` series. Values move from one scrape to the next (a few variants served in
turn), and the body is gzipped when the scraper accepts it, as node_exporter does. Bodies are
built once at start, so serving costs the benchmark's machine almost nothing.

    python -m devtools.target_fleet --control-port 9000 --targets 500 --series 1000

From Python, ``running(workdir, targets, series)`` starts it and stops it by its PID.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import socket
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from devtools import processes

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "exposition" / "node_exporter.text.txt"
"""A real node_exporter's output (``devtools.capture_exposition``)."""
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
VARIANTS = 4
"""Bodies served in turn: same series, other values."""
HISTOGRAM_SHARE = 0.3
"""Of a target's series, about this share are histogram series (the rest node_exporter's)."""
BUCKETS = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf")
HISTOGRAM_SERIES = len(BUCKETS) + 2
"""Series of one histogram label set: its buckets, ``_sum`` and ``_count``."""
HANDLERS = ("/api/v1/query", "/api/v1/write", "/metrics", "/-/healthy", "/api/v1/series")
MAX_REQUEST_HEAD_BYTES = 64 * 1024
GZIP_LEVEL = 1
"""Bodies are compressed once, at start; a low level keeps the start quick."""


@dataclass
class _Family:
    comments: list[str]
    samples: list[tuple[str, str, str]] = field(default_factory=list)
    """(metric name, label text without braces, value text)"""


def _fixture_families() -> list[_Family]:
    families: list[_Family] = []
    for line in FIXTURE.read_text().splitlines():
        if line.startswith("# HELP"):
            families.append(_Family([line]))
        elif line.startswith("#"):
            families[-1].comments.append(line)
        elif line:
            series, _, value = line.rpartition(" ")
            name, _, labels = series.partition("{")
            families[-1].samples.append((name, labels.removesuffix("}"), value))
    return families


def _moved(value: str, variant: int) -> str:
    """``value`` as a later scrape would show it (counters and gauges alike move a little)."""
    number = float(value)
    return repr(number + variant * (abs(number) * 1e-3 + 1.0))


def _node_lines(count: int, variant: int) -> Iterator[str]:
    """``count`` node_exporter series: the fixture's families, each repeated over slots."""
    families = _fixture_families()
    per_copy = sum(len(family.samples) for family in families)
    copies = -(-count // per_copy)
    emitted = 0
    for family in families:
        if emitted == count:
            return
        yield from family.comments
        for slot in range(copies):
            for name, labels, value in family.samples:
                if emitted == count:
                    return
                extra = [labels] if labels else []
                if slot:
                    extra.append(f'slot="{slot}"')
                label_text = "{" + ",".join(extra) + "}" if extra else ""
                yield f"{name}{label_text} {_moved(value, variant)}"
                emitted += 1


def _histogram_lines(groups: int, variant: int) -> Iterator[str]:
    """``groups`` label sets of a request-latency histogram."""
    if not groups:
        return
    name = "http_request_duration_seconds"
    yield f"# HELP {name} Latency of the HTTP requests served."
    yield f"# TYPE {name} histogram"
    for group in range(groups):
        handler = HANDLERS[group % len(HANDLERS)]
        method = ("GET", "POST")[group // len(HANDLERS) % 2]
        base = f'code="{200 + group // 10 % 5 * 100}",handler="{handler}",pod="pod-{group}",method="{method}"'
        total = 0
        for index, le in enumerate(BUCKETS):
            total += (group + index + variant) % 17 * 3 + variant
            yield f'{name}_bucket{{{base},le="{le}"}} {total}'
        yield f"{name}_sum{{{base}}} {total * 0.0421 + group:.6g}"
        yield f"{name}_count{{{base}}} {total}"


def exposition(series: int, variant: int = 0) -> bytes:
    """A node_exporter-shaped text 0.0.4 body of exactly ``series`` series."""
    groups = int(series * HISTOGRAM_SHARE) // HISTOGRAM_SERIES
    lines = [*_node_lines(series - groups * HISTOGRAM_SERIES, variant), *_histogram_lines(groups, variant)]
    return ("\n".join(lines) + "\n").encode()


@dataclass
class _Body:
    plain: bytes
    gzipped: bytes


@dataclass
class Fleet:
    """The targets' bodies and the log of scrapes served."""

    bodies: list[_Body]
    ports: list[int] = field(default_factory=list)
    scrapes: list[tuple[float, str]] = field(default_factory=list)
    served: Counter[int] = field(default_factory=Counter)
    received: Counter[str] = field(default_factory=Counter)
    """What the Remote Write receiver got: ``requests`` and ``bytes``."""

    def body(self, target: int) -> _Body:
        """The next body of ``target``: targets move through the variants out of step."""
        turn = self.served[target]
        self.served[target] += 1
        return self.bodies[(target + turn) % len(self.bodies)]

    def stats(self, since: float, until: float) -> dict[str, object]:
        counts: Counter[str] = Counter()
        latest: dict[str, float] = {}
        for at, client in self.scrapes:
            latest[client] = at
            if since <= at < until:
                counts[client] += 1
        return {"scrapes": dict(counts), "latest": latest}


def client_of(user_agent: str) -> str:
    """The product token of a ``User-Agent`` (``Prometheus/2.42.0`` -> ``Prometheus``)."""
    return user_agent.split("/", 1)[0].strip() or "unknown"


async def _read_head(reader: asyncio.StreamReader) -> tuple[str, dict[str, str]] | None:
    """The next request's target (``POST /path`` for a POST, else the path) and lower-cased
    headers; ``None`` when the client is gone."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = request_line.split(" ")
    headers = {}
    for line in header_lines:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    path = parts[1] if len(parts) > 1 else "/"
    return (f"POST {path}" if parts[0] == "POST" else path), headers


def _response(status: str, content_type: str, body: bytes, extra: str = "") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        f"{extra}Connection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


async def _serve_target(
    fleet: Fleet, target: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while (request := await _read_head(reader)) is not None:
            _, headers = request
            fleet.scrapes.append((time.time(), client_of(headers.get("user-agent", ""))))
            body = fleet.body(target)
            if "gzip" in headers.get("accept-encoding", ""):
                writer.write(_response("200 OK", CONTENT_TYPE, body.gzipped, "Content-Encoding: gzip\r\n"))
            else:
                writer.write(_response("200 OK", CONTENT_TYPE, body.plain))
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def _serve_control(fleet: Fleet, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while (request := await _read_head(reader)) is not None:
            length = int(request[1].get("content-length") or 0)
            if length:
                await reader.readexactly(length)
            if request[0].startswith("POST "):
                fleet.received.update(requests=1, bytes=length)
                writer.write(_response("204 No Content", "text/plain", b""))
                await writer.drain()
                continue
            url = urlsplit(request[0])
            query = parse_qs(url.query)
            if url.path == "/counts":
                answer: object = {"requests": fleet.received["requests"], "bytes": fleet.received["bytes"]}
            elif url.path == "/ports":
                answer = fleet.ports
            elif url.path == "/stats":
                since = float(query.get("since", ["0"])[0])
                until = float(query.get("until", ["inf"])[0])
                answer = fleet.stats(since, until)
            else:
                writer.write(_response("404 Not Found", "text/plain", b"not found\n"))
                await writer.drain()
                continue
            writer.write(_response("200 OK", "application/json", json.dumps(answer).encode()))
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


def _bound_socket(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


def _listening_socket(port: int = 0) -> socket.socket:
    sock = _bound_socket(port)
    sock.listen(128)
    return sock


async def serve(control_port: int, targets: int, series: int) -> None:
    """Serve ``targets`` targets of ``series`` series each, and the control port last (so that
    once it answers, every target does). The control port is bound first, so that no target's
    port, chosen by the system, can take it."""
    control_socket = _bound_socket(control_port)
    bodies = []
    for variant in range(VARIANTS):
        plain = exposition(series, variant)
        bodies.append(_Body(plain, gzip.compress(plain, GZIP_LEVEL)))
    fleet = Fleet(bodies)
    servers = []
    for target in range(targets):
        sock = _listening_socket()
        fleet.ports.append(sock.getsockname()[1])

        async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter, target: int = target) -> None:
            await _serve_target(fleet, target, r, w)

        servers.append(await asyncio.start_server(handle, sock=sock, limit=MAX_REQUEST_HEAD_BYTES))

    async def control(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await _serve_control(fleet, r, w)

    control_socket.listen(128)
    servers.append(await asyncio.start_server(control, sock=control_socket))
    await asyncio.gather(*(server.serve_forever() for server in servers))


@dataclass
class Targets:
    """A running target fleet, seen from the process that started it."""

    process: processes.Process
    ports: list[int]

    @property
    def control(self) -> str:
        return self.process.url

    @property
    def addresses(self) -> list[str]:
        return [f"127.0.0.1:{port}" for port in self.ports]

    @property
    def write_url(self) -> str:
        """The counting Remote Write receiver."""
        return f"{self.control}/api/v1/write"

    def counts(self) -> dict[str, int]:
        """What the receiver got: ``requests`` and ``bytes``."""
        answer: dict[str, int] = _get_json(f"{self.control}/counts")
        return answer

    def stats(self, since: float, until: float) -> dict[str, Any]:
        """The scrapes served in ``[since, until)`` per client, and each client's latest."""
        query = urlencode({"since": since, "until": until})
        answer: dict[str, Any] = _get_json(f"{self.control}/stats?{query}")
        return answer

    def scrapes(self, since: float, until: float) -> int:
        """The scrapes served in ``[since, until)``, whoever made them."""
        return sum(self.stats(since, until)["scrapes"].values())

    def latest(self) -> float:
        """When the latest scrape was served."""
        return float(max(self.stats(0, 0)["latest"].values()))


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return json.loads(answer.read())


@contextmanager
def running(workdir: Path, targets: int, series: int) -> Iterator[Targets]:
    """The fleet in a process of its own (log in ``workdir``), stopped by its PID at the end."""
    port = processes.free_port()
    argv = [sys.executable, "-m", "devtools.target_fleet", "--control-port", str(port)]
    argv += ["--targets", str(targets), "--series", str(series)]
    env = {"PYTHONPATH": str(ROOT)}
    with processes.running(argv, port, workdir / "target_fleet.log", env) as process:
        yield Targets(process, _get_json(f"{process.url}/ports"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--control-port", type=int, required=True)
    parser.add_argument("--targets", type=int, default=1)
    parser.add_argument("--series", type=int, default=1000, help="series per target")
    args = parser.parse_args()
    asyncio.run(serve(args.control_port, args.targets, args.series))


if __name__ == "__main__":
    main()
