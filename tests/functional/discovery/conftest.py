"""What the discovery tests share: clients of the emulator to build a fleet with, a clean
emulated account per module, and the function pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
import requests
from scrape_push import runtime


def emulator_client(url: str, service: str, region: str) -> Any:
    """A client of the emulator with the tests' credentials (module fixtures run before the
    autouse fixture sets them)."""
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@contextmanager
def clean_account(url: str) -> Iterator[None]:
    """The emulated account reset before and after the block."""
    requests.post(f"{url}/moto-api/reset", timeout=10).raise_for_status()
    try:
        yield
    finally:
        requests.post(f"{url}/moto-api/reset", timeout=10).raise_for_status()


def point_at(url: str, region: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The function's AWS calls go to the emulator, in ``region``."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    # DiscoverInstances goes to data-servicediscovery.<region>: botocore puts "data-" before any
    # endpoint's host unless told not to (botocore's own setting), which an emulator needs.
    monkeypatch.setenv("AWS_DISABLE_HOST_PREFIX_INJECTION", "true")
    runtime.reset()
