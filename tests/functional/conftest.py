"""Functional tests: the real handler against a moto server and real HTTP endpoints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import requests
from scrape_push.runtime import RUNTIME

from devtools import processes, resources
from devtools.local_invoke import LocalContext
from tests.support.strict_cloudwatch import StrictCloudWatch

PARAMETER = "/scrape-push/config"


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[processes.Process]:
    process = processes.start_moto(tmp_path_factory.mktemp("moto") / "moto.log")
    try:
        yield process
    finally:
        process.stop()


@dataclass
class Emulated:
    """The emulated AWS account a test runs against, plus the strict CloudWatch checker."""

    url: str
    strict: StrictCloudWatch

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name="us-east-1", endpoint_url=self.url)

    def put_config(self, text: str, name: str = PARAMETER, secure: bool = False) -> None:
        self.client("ssm").put_parameter(
            Name=name, Value=text, Type="SecureString" if secure else "String", Overwrite=True
        )

    def invoke(self, event: Any = None, timeout: float = 30.0, memory_mb: int = 512) -> Any:
        import app

        context: Any = LocalContext(timeout, memory_mb)
        result = app.lambda_handler(event if event is not None else {}, context)
        json.dumps(result)  # the summary must be JSON-serialisable, as Lambda returns it
        return result


@pytest.fixture
def emulated(moto_server: processes.Process, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulated]:
    """A clean emulated account; the handler reaches it through AWS_ENDPOINT_URL only."""
    requests.post(f"{moto_server.url}/moto-api/reset", timeout=10).raise_for_status()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    monkeypatch.setenv("CONFIG_PARAMETER", PARAMETER)
    monkeypatch.setenv("POWERTOOLS_PARAMETERS_MAX_AGE", "0")
    strict = StrictCloudWatch()
    strict.install(RUNTIME.aws.session())
    yield Emulated(moto_server.url, strict)
    assert strict.violations == [], "PutMetricData limits broken"


@pytest.fixture
def state_table(emulated: Emulated, monkeypatch: pytest.MonkeyPatch) -> str:
    """The CloudWatch sink's counter state table, created in the emulator, named by STATE_TABLE."""
    name = resources.create_state_table(emulated.client("dynamodb"))
    monkeypatch.setenv("STATE_TABLE", name)
    return name


@pytest.fixture
def backlog(emulated: Emulated, state_table: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The backlog bucket (named by BACKLOG_BUCKET) and the lease table, in the emulator."""
    name = resources.create_backlog_bucket(emulated.client("s3"))
    monkeypatch.setenv("BACKLOG_BUCKET", name)
    return name
