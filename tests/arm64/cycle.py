"""Cycles of the built function, run by the arm64 interpreter (``test_artifact.py``).

    python3.13 tests/arm64/cycle.py RESULT.json

With the function and its layer on ``sys.path``: imports ``app`` as Lambda does, then every
module of the package (so that each kernel's caller loads it), then runs two cycles (``scrape-push
run``: a cold one, then a warm one) that scrape a local exposition and remote-write it to a local
receiver; then forgets the warm state, sets every caller's ``_KERNEL`` to ``None`` (the pure-Python
path, as the differential tests do) and runs the two again. RESULT.json gets ``native.STATUS``,
the files the kernels loaded from, which module called which kernel, the interpreter's extension
suffixes, the timestamp the exposition gave and, per cycle, its exit code, summary and each
request body the receiver took (base64), for the host to compare. Only 127.0.0.1 is used; the
server stops before it exits.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import importlib.machinery
import io
import json
import pkgutil
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import app  # noqa: F401 (imported as Lambda imports the handler, for what that loads)
import scrape_push
from scrape_push import cli, native, runtime

FAMILIES = 60
SERIES_PER_FAMILY = 8
EXPOSED_MS = int(time.time() * 1000) - 5000
"""The timestamp some lines expose: recent, so that it is kept (docs/parser.md, ``MAX_BEHIND_MS``)."""


def exposition() -> bytes:
    """A body of many families and series, with what a parser must get right: escapes in label
    values, special floats, explicit timestamps, a histogram, comments."""
    lines = []
    for family in range(FAMILIES):
        name = f"arm64_family_{family}_total"
        lines += [f"# HELP {name} Family {family}, with \\\\ and \\n in help.", f"# TYPE {name} counter"]
        for series in range(SERIES_PER_FAMILY):
            value = ("NaN", "+Inf", "-Inf", "1e-300", "0.1", "-0", "12345678901234567890", "3.25")[series]
            stamp = f" {EXPOSED_MS}" if series % 3 == 0 else ""
            labels = f'a="{series}",path="/x\\"y\\\\z\\n{family}",empty=""'
            lines.append(f"{name}{{{labels}}} {value}{stamp}")
    lines += ["# TYPE arm64_latency_seconds histogram"]
    for bound, count in (("0.1", 3), ("1", 7), ("+Inf", 9)):
        lines.append(f'arm64_latency_seconds_bucket{{le="{bound}"}} {count}')
    lines += ["arm64_latency_seconds_sum 4.5", "arm64_latency_seconds_count 9", "untyped_line 42", ""]
    return "\n".join(lines).encode()


class _Endpoints(BaseHTTPRequestHandler):
    """GET: the exposition; POST: a Remote Write request, kept."""

    taken: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        body = exposition()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.taken.append(base64.b64encode(self.rfile.read(int(self.headers["Content-Length"]))).decode())
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


def import_everything() -> None:
    for found in pkgutil.walk_packages(scrape_push.__path__, "scrape_push."):
        leaf = found.name.rsplit(".", 1)[1]
        if not leaf.startswith("_"):  # not the kernels themselves, nor __main__
            importlib.import_module(found.name)


def cycle(port: int) -> tuple[int, object]:
    config = (
        "scrape_configs:\n"
        "  - job_name: arm64\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
        "remote_write:\n"
        f"  - url: http://127.0.0.1:{port}/api/v1/write\n"
    )
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "config.yaml"
        path.write_text(config)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = cli.main(["run", str(path), "--timeout", "60"])
    return code, json.loads(out.getvalue() or "null")


def callers() -> dict[str, str]:
    """Each module of the package holding a kernel (``_KERNEL``), and that kernel's name."""
    return {
        name: module._KERNEL.__name__.rsplit("._", 1)[1]
        for name, module in list(sys.modules.items())
        if name.startswith("scrape_push.") and getattr(module, "_KERNEL", None) is not None
    }


def cycles(port: int) -> list[dict[str, object]]:
    """A cold cycle, then a warm one."""
    found = []
    for _ in range(2):
        _Endpoints.taken = []
        code, summary = cycle(port)
        found.append({"exit": code, "summary": summary, "requests": _Endpoints.taken})
    return found


def main(result: Path) -> None:
    import_everything()
    called = callers()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Endpoints)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with_kernels = cycles(server.server_address[1])
        runtime.reset()  # the next cycle is cold again
        for name in called:
            sys.modules[name]._KERNEL = None  # type: ignore[attr-defined]
        without = cycles(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    compiled = [name for name, status in native.STATUS.items() if status == "compiled"]
    found = {
        "status": dict(native.STATUS),
        "files": {name: sys.modules[f"scrape_push._{name}"].__file__ for name in compiled},
        "callers": called,
        "suffixes": importlib.machinery.EXTENSION_SUFFIXES,
        "exposed_ms": EXPOSED_MS,
        "cycles": {"on": with_kernels, "off": without},
    }
    result.write_text(json.dumps(found))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
