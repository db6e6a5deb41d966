"""A cold start as Lambda makes it, in a process of its own: the configuration and a secret read
from SSM (the moto server), one cycle into a Remote Write receiver, and the AWS SDK's client
machinery never imported (issue 20: boto3 and a botocore SSM client were a quarter of a cold
cycle's CPU)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import requests

from devtools import processes
from devtools.handler_runner import HOOK_ENV
from tests.support.http import Response, serve
from tests.support.remote_write import capture

ROOT = Path(__file__).resolve().parents[2]


def config(target: str, receiver: str) -> str:
    return (
        "scrape_configs:\n"
        f"  - {{job_name: app, static_configs: [{{targets: ['{target}']}}]}}\n"
        "remote_write:\n"
        f"  - url: {receiver}\n"
        "    basic_auth: {username: writer, password_ssm_parameter: /cold/password}\n"
    )


@pytest.mark.parametrize("parameter", ["/cold/config", "/cold/fragments/"])
def test_a_cold_cycle_into_remote_write_imports_no_boto3(
    moto_server: processes.Process, parameter: str
) -> None:
    requests.post(f"{moto_server.url}/moto-api/reset", timeout=10).raise_for_status()
    ssm = boto3.client("ssm", region_name="us-east-1", endpoint_url=moto_server.url)
    ssm.put_parameter(Name="/cold/password", Value="pw-from-ssm", Type="SecureString")
    with serve(Response(b"a 1\nb 2\n")) as target, capture() as receiver:
        name = parameter + "whole" if parameter.endswith("/") else parameter
        ssm.put_parameter(Name=name, Value=config(target.address, receiver.url), Type="SecureString")
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": moto_server.url,
            "CONFIG_PARAMETER": parameter,
            "PYTHONPATH": str(ROOT),
            HOOK_ENV: "tests.support.cold_imports:hook",
        }
        done = subprocess.run(
            [sys.executable, "-m", "devtools.handler_runner", "cold", "512", "30"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        sent = receiver.requests
    record = json.loads(done.stdout)
    (sink,) = record["summary"]["sinks"]
    assert sink["sent"] == 2 + 5 and record["summary"]["ok"]  # the target's samples and up, scrape_*
    assert sent and sent[0].headers["Authorization"].startswith("Basic ")
    assert record["profile"]["imported"] == []
