"""Many scrape targets in one process, and a Remote Write receiver that only counts, for local
sharded runs (``devtools.fleet``), the fleet benchmark and the fleet integration test.

    python -m devtools.fleet_app --targets 2000 --series 1000 --ports-file ports.json --port 9400

Listens on ``--targets`` ports of 127.0.0.1 (chosen by the system, written to ``--ports-file`` as
``{"targets": [port, ...]}`` before ``--port`` listens) and serves on each the same
node_exporter-shaped exposition of ``--series`` series (a target's series differ from another's
by their ``instance`` label). ``--port`` answers ``POST /api/v1/write`` with 204 and counts the
requests and bytes it got (``GET /counts``). One event loop serves all: a scrape costs it one
write of a prepared answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

NODE_EXPORTER = Path(__file__).resolve().parent.parent / "tests/fixtures/exposition/node_exporter.text.txt"
"""A real node_exporter's output (``devtools.capture_exposition``): 507 samples in 300 families."""
MAX_HEADER_BYTES = 64 * 1024


def exposition(series: int) -> bytes:
    """``series`` samples shaped like node_exporter's: its families in order, each repeated as
    many times as needed with a ``copy`` label (as a host with more CPUs and devices has)."""
    families = _families(NODE_EXPORTER.read_text())
    copies = -(-series // sum(len(samples) for _, samples in families))
    lines: list[str] = []
    left = series
    for header, samples in families:
        lines += header
        for copy in range(copies):
            for line in samples[:left]:
                lines.append(_labelled(line, f'copy="{copy}"'))
            left -= min(left, len(samples))
    return ("\n".join(lines) + "\n").encode()


def _families(text: str) -> list[tuple[list[str], list[str]]]:
    """Each family's ``# HELP``/``# TYPE`` lines and sample lines, in order."""
    families: list[tuple[list[str], list[str]]] = []
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# HELP") or not families or (line.startswith("#") and families[-1][1]):
            families.append(([], []))
        (families[-1][0] if line.startswith("#") else families[-1][1]).append(line)
    return families


def _labelled(line: str, pair: str) -> str:
    """A sample line with one more label."""
    brace, space = line.find("{"), line.find(" ")
    if brace != -1 and brace < space:
        close = line.rfind("}")
        return (
            f"{line[:close]},{pair}{line[close:]}"
            if close > brace + 1
            else f"{line[:close]}{pair}{line[close:]}"
        )
    return f"{line[:space]}{{{pair}}}{line[space:]}"


def answer(status: str, body: bytes, content_type: str = "text/plain; version=0.0.4") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


class Counts:
    """What the receiver got."""

    def __init__(self) -> None:
        self.requests = 0
        self.bytes = 0


async def _requests(reader: asyncio.StreamReader) -> tuple[str, int] | None:
    """The next request's first line and body length (``None`` once the client is gone)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip() or 0)
    return lines[0], length


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def target_handler(prepared: bytes) -> Handler:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await _requests(reader) is not None:
                writer.write(prepared)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    return serve


def receiver_handler(counts: Counts) -> Handler:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (request := await _requests(reader)) is not None:
                line, length = request
                if length:
                    await reader.readexactly(length)
                if line.startswith("POST"):
                    counts.requests += 1
                    counts.bytes += length
                    writer.write(answer("204 No Content", b""))
                else:
                    body = json.dumps({"requests": counts.requests, "bytes": counts.bytes}).encode()
                    writer.write(answer("200 OK", body, "application/json"))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    return serve


def _bound(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


def _listener(port: int = 0) -> socket.socket:
    sock = _bound(port)
    sock.listen(128)
    return sock


async def main(targets: int, series: int, ports_file: Path, port: int) -> None:
    prepared = answer("200 OK", exposition(series))
    # The receiver's port first: the system would otherwise be free to hand it to a target. It
    # listens only once the ports file is written, as the parent waits for it to listen to read it.
    receiving = _bound(port)
    sockets = [_listener() for _ in range(targets)]
    ports = [sock.getsockname()[1] for sock in sockets]
    partial = ports_file.with_suffix(".partial")
    partial.write_text(json.dumps({"targets": ports}))
    os.replace(partial, ports_file)
    serve = target_handler(prepared)
    servers = [await asyncio.start_server(serve, sock=sock, limit=MAX_HEADER_BYTES) for sock in sockets]
    counting = receiver_handler(Counts())
    receiving.listen(128)
    receiver = await asyncio.start_server(counting, sock=receiving, limit=MAX_HEADER_BYTES)
    async with receiver:
        await asyncio.gather(receiver.serve_forever(), *(server.serve_forever() for server in servers))


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--targets", type=int, required=True)
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--ports-file", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True, help="the counting Remote Write receiver's port")
    args = parser.parse_args()
    asyncio.run(main(args.targets, args.series, args.ports_file, args.port))


if __name__ == "__main__":
    cli()
