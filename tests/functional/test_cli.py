"""The configuration tool against emulated SSM and real endpoints: push, show, run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from scrape_push.cli import main

from tests.functional.conftest import Emulated
from tests.support.http import Response, serve

CONFIG = (
    "scrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['{target}']\n"
    "cloudwatch:\n  - namespace: CliTest\n"
)


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
    # Effective values, not the model's placeholders (issue 19).
    assert "  scrape_interval: 1m\n  scrape_timeout: 10s\n" in out and "  body_size_limit: 64MB\n" in out
    assert "  name: CliTest\n" in out and "    max_age: 1w6d\n" in out
    assert "sample_limit" not in out and ": null\n  scrape_timeout" not in out


def test_push_refuses_invalid_or_oversized_documents(
    emulated: Emulated, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("scrape_configs: [{job_name: a, bogus: 1}]\n")
    assert main(["push", str(bad), "--parameter", "/x"]) == 1
    big = tmp_path / "big.yaml"
    big.write_text(CONFIG.format(target="h:1") + "".join(f"# padding line {i:04}\n" for i in range(300)))
    assert main(["push", str(big), "--parameter", "/x", "--tier", "Standard"]) == 1
    assert "over the Standard tier's 4096 bytes; use --tier Advanced or split" in capsys.readouterr().err
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
    assert summary["sinks"][0]["sent"] == 6


def test_backlog_lists_waiting_and_refused_data_and_shows_an_item(
    emulated: Emulated, capsys: pytest.CaptureFixture[str]
) -> None:
    from scrape_push.backlog.spool import Entry, Item
    from scrape_push.backlog.store import BacklogStore, sink_id
    from scrape_push.deadline import Deadline

    from devtools import resources

    long = Deadline.after(3600.0)
    bucket = resources.create_backlog_bucket(emulated.client("s3"))
    store = BacklogStore(bucket, sink_id("remote_write/amp", "*"), lambda _: emulated.client("s3"))
    entries = (Entry(b"x" * 10, 500, 0), Entry(b"y" * 5, 200, 1))
    waiting = store.put(
        Item(
            "remote_write/amp",
            "remote_write",
            1_800_000_000_000,
            1_800_000_000_500,
            "failed",
            entries,
            "HTTP 503",
        ),
        long,
    )
    behind = store.put(
        Item(
            "remote_write/amp",
            "remote_write",
            1_800_000_060_000,
            1_800_000_000_500,
            "behind_backlog",
            entries[:1],
        ),
        long,
    )
    store.reject(
        Item(
            "remote_write/amp",
            "remote_write",
            1_800_000_000_000,
            1_800_000_000_500,
            "rejected",
            entries[1:],
            "HTTP 400: out of order",
        ),
        long,
    )
    capsys.readouterr()
    assert main(["backlog", "--bucket", bucket]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"s3://{bucket}: 1 sink folder(s) with data waiting"
    size = str(waiting.size + behind.size)
    assert lines[1].split()[:7] == [store.sid, "2", "item(s)", "1200", "samples", size, "bytes"]
    assert main(["backlog", "--bucket", bucket, "--rejected"]) == 0
    assert "1 sink folder(s) with data rejected (never replayed)" in capsys.readouterr().out
    assert main(["backlog", "--bucket", bucket, "--item", waiting.key]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["sink"], shown["reason"], shown["error"], shown["samples"]) == (
        "remote_write/amp",
        "failed",
        "HTTP 503",
        700,
    )
    assert shown["requests"] == [
        {"samples": 500, "bytes": 10, "chain": 0},
        {"samples": 200, "bytes": 5, "chain": 1},
    ]


def _tool(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scrape_push", *argv], capture_output=True, text=True, timeout=60, check=False
    )


def test_a_missing_file_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    done = _tool("validate", str(tmp_path / "missing.yaml"))
    assert done.returncode == 2
    assert (
        done.stderr
        == f"scrape-push validate: {tmp_path / 'missing.yaml'}: cannot read: No such file or directory\n"
    )


@pytest.mark.parametrize("command", ["schema", "cost"])
def test_output_into_a_closed_pipe_ends_quietly(tmp_path: Path, command: str) -> None:
    """``scrape-push cost ... | head``: the reader is gone before the tool writes (closed first,
    so the outcome never depends on timing)."""
    config, exposition = tmp_path / "config.yaml", tmp_path / "node.txt"
    config.write_text("cloudwatch: [{namespace: N}]\n")
    exposition.write_text("m 1\n")
    argv = {"schema": ["schema"], "cost": ["cost", "--config", str(config), "--exposition", str(exposition)]}
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "scrape_push", *argv[command]],
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (141, b"")


def test_show_prints_the_configurations_warnings_first(
    emulated: Emulated, capsys: pytest.CaptureFixture[str]
) -> None:
    emulated.put_config("rule_files: [a.yml]\ncloudwatch: [{namespace: N}]\n", name="/team/warned")
    assert main(["show", "--parameter", "/team/warned"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == (
        "# warning: rule_files: has no effect here: scrape-push evaluates no recording or alerting rules "
        "(line 1)"
    )
    assert lines[3] == "global:"
