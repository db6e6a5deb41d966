"""`make demo` stays working: the local main job, run as a user runs it, and as the README shows it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.demo import sent_versus_read_back

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devtools.demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_demo_reads_metrics_back_from_emulated_cloudwatch(demo: subprocess.CompletedProcess[str]) -> None:
    assert demo.returncode == 0, demo.stdout + demo.stderr
    out = demo.stdout
    assert "read back from emulated CloudWatch, namespace 'ScrapePush'" in out
    rows = [line.split() for line in out.splitlines() if line.startswith(("up ", "demo_requests_total "))]
    assert any(r[0] == "up" and r[2] == "1" for r in rows), out
    assert any(r[0] == "demo_requests_total" for r in rows), out
    assert "samples sent" in out and "`_created` samples" in out, "the demo explains sent versus read back"


def _figures(text: str) -> tuple[int, int, int]:
    """Samples scraped, samples sent and metrics read back, as the demo prints them."""
    scraped = re.search(r"\bup +(\d+) samples", text)
    sent = re.search(r"\bsent (\d+),", text)
    metrics = re.search(r"namespace 'ScrapePush': (\d+) metrics", text)
    assert scraped and sent and metrics, text
    return int(scraped.group(1)), int(sent.group(1)), int(metrics.group(1))


def test_the_readme_shows_what_the_demo_prints(demo: subprocess.CompletedProcess[str]) -> None:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("```\ntargets:")
    shown = readme[start : readme.index("\n```", start + 4)]
    assert _figures(shown) == _figures(demo.stdout)
    _, sent, metrics = _figures(shown)
    assert sent_versus_read_back(sent, metrics, sent - metrics) in shown
