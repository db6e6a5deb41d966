"""The local runner, run as the README gives it: one clear line without AWS settings, an emulator
reached by a flag (events/env.json untouched), the result alone on stdout and the logs on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.local_invoke import NO_REGION
from tests.functional.conftest import Emulated
from tests.support.http import Response, serve

ROOT = Path(__file__).resolve().parents[2]
README_COMMAND = [
    sys.executable,
    "-m",
    "devtools.local_invoke",
    "-e",
    "events/scheduled.json",
    "--env-vars",
    "events/env.json",
]


def run(*options: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*README_COMMAND, *options],
        cwd=ROOT,
        env=env if env is not None else dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_without_aws_settings_it_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    done = run()
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"local_invoke: {NO_REGION}\n")


def test_an_emulator_is_reached_by_a_flag_and_only_the_result_is_on_stdout(emulated: Emulated) -> None:
    tracked = (ROOT / "events" / "env.json").read_text()
    assert "AWS_ENDPOINT_URL" not in tracked
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    with serve(Response(b"# TYPE jobs_total counter\njobs_total 3\n")) as target:
        emulated.put_config(
            f"scrape_configs:\n  - job_name: app\n    static_configs: [{{targets: ['{target.address}']}}]\n"
            "cloudwatch:\n  - namespace: LocalInvoke\n"
        )
        done = run("--endpoint-url", emulated.url, "--region", "us-east-1", env=env)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)  # nothing but the result
    assert summary["ok"] and summary["targets_up"] == 1 and summary["sinks"][0]["sent"] == 6
    logged = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert any(line.get("message") == "cycle done" for line in logged)
    assert any("_aws" in line for line in logged), "self-metrics (EMF) go with the log"


def test_a_failed_invocation_is_lambdas_error_object_and_one_line(emulated: Emulated) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    done = run("--endpoint-url", emulated.url, "--region", "us-east-1", env=env)  # no parameter yet
    assert done.returncode == 1
    error = json.loads(done.stdout)
    assert error["errorType"] == "ConfigLoadError"
    assert "Traceback" not in done.stderr
    failed = "local_invoke: the invocation failed: ConfigLoadError: cannot read SSM parameter"
    assert done.stderr.splitlines()[-1].startswith(f"{failed} '/scrape-push/config'")
