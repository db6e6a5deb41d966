"""Capture real exporter output into tests/fixtures/exposition/ (for the parser's conformance tests).

Starts prometheus-node-exporter and the demo prometheus_client app on free 127.0.0.1 ports, saves
each one's /metrics in text 0.0.4 and in OpenMetrics, then stops them (by PID).

    python -m devtools.capture_exposition
"""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

from devtools.processes import free_port, running

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "exposition"
ACCEPT = {
    "text": "text/plain;version=0.0.4",
    "openmetrics": "application/openmetrics-text;version=1.0.0",
}


def capture(name: str, url: str) -> None:
    for kind, accept in ACCEPT.items():
        request = urllib.request.Request(url, headers={"Accept": accept})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
            content_type = response.headers.get("Content-Type", "")
        path = FIXTURES / f"{name}.{kind}.txt"
        path.write_bytes(body)
        (FIXTURES / f"{name}.{kind}.content-type").write_text(content_type + "\n")
        print(f"{path.name}: {len(body)} bytes, {content_type}")


def main() -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    port = free_port()
    node = ["/usr/bin/prometheus-node-exporter", f"--web.listen-address=127.0.0.1:{port}"]
    with running(node, port) as process:
        capture("node_exporter", f"{process.url}/metrics")
    port = free_port()
    root = str(Path(__file__).resolve().parent.parent)
    app = [sys.executable, "-m", "devtools.exposition_app", "--port", str(port)]
    with running(app, port, env={"PYTHONPATH": root}) as process:
        capture("prometheus_client", f"{process.url}/metrics")


if __name__ == "__main__":
    main()
