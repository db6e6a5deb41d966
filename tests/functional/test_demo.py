"""`make demo` stays working: the local main job, run as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_reads_metrics_back_from_emulated_cloudwatch() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "devtools.demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "read back from emulated CloudWatch, namespace 'ScrapePush'" in out
    rows = [line.split() for line in out.splitlines() if line.startswith(("up ", "demo_requests_total "))]
    assert any(r[0] == "up" and r[2] == "1" for r in rows), out
    assert any(r[0] == "demo_requests_total" for r in rows), out
