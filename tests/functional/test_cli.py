"""The configuration tool against emulated SSM and real endpoints: push, show, run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scrape_push.cli import main

from tests.functional.conftest import Emulated
from tests.support.http import Response, serve

CONFIG = "scrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['{target}']\n"


def test_push_validates_then_puts_and_show_prints_the_effective_config(
    emulated: Emulated, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(target="10.0.0.1:9100"))
    assert main(["push", str(path), "--parameter", "/team/config", "--secure"]) == 0
    stored = emulated.client("ssm").get_parameter(Name="/team/config", WithDecryption=True)["Parameter"]
    assert stored["Type"] == "SecureString" and stored["Value"] == path.read_text()
    capsys.readouterr()
    assert main(["show", "--parameter", "/team/config"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# SSM parameter /team/config (digest ")
    assert "  metrics_path: /metrics\n" in out and "  honor_timestamps: true\n" in out


def test_push_refuses_invalid_or_oversized_documents(
    emulated: Emulated, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("scrape_configs: [{job_name: a, bogus: 1}]\n")
    assert main(["push", str(bad), "--parameter", "/x"]) == 1
    big = tmp_path / "big.yaml"
    big.write_text(CONFIG.format(target="h:1") + "".join(f"# padding line {i:04}\n" for i in range(300)))
    assert main(["push", str(big), "--parameter", "/x"]) == 1
    assert "over the Standard tier's 4096 bytes" in capsys.readouterr().err
    names = [p["Name"] for p in emulated.client("ssm").describe_parameters()["Parameters"]]
    assert "/x" not in names
    assert main(["push", str(big), "--parameter", "/x", "--tier", "Advanced"]) == 0


def test_run_scrapes_once_and_prints_the_summary(
    emulated: Emulated, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve(Response(b"hello 1\n")) as target:
        path = tmp_path / "config.yaml"
        path.write_text(CONFIG.format(target=target.address))
        assert main(["run", str(path)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["targets"][0]["up"] == 1 and summary["samples"] == 6
