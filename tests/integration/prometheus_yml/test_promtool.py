"""The fixture prometheus.yml files are Prometheus's own format, not a dialect of it: the real
Prometheus 2.42 promtool accepts every one written with 2.42's keys (the others use 3.x keys, or
a discovery the Debian build leaves out, or scrape-push's *_ssm_parameter)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.integration import binary

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "prometheus"
WITH_2_42_KEYS = ["amp.yml", "blackbox.yml", "federation.yml", "node-exporter.yml"]
PROMTOOL_SECONDS = 60.0


def promtool_check(name: str) -> subprocess.CompletedProcess[str]:
    promtool = binary("promtool", "/usr/bin/promtool", package="prometheus")
    return subprocess.run(
        [promtool, "check", "config", "--syntax-only", str(FIXTURES / name)],
        capture_output=True,
        text=True,
        timeout=PROMTOOL_SECONDS,
        check=False,
    )


@pytest.mark.parametrize("name", WITH_2_42_KEYS)
def test_prometheus_2_42_accepts_the_fixture(name: str) -> None:
    checked = promtool_check(name)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_prometheus_2_42_refuses_a_3_x_key_as_scrape_push_accepts_it() -> None:
    checked = promtool_check("every-key.yml")
    assert checked.returncode != 0
    assert "field scrape_protocols not found in type config.plain" in checked.stdout + checked.stderr
