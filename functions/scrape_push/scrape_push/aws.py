"""boto3 clients shared across warm invocations.

Endpoints are never hard-coded: botocore itself honours ``AWS_ENDPOINT_URL`` and
``AWS_ENDPOINT_URL_<SERVICE>`` (e.g. ``AWS_ENDPOINT_URL_CLOUDWATCH``), which is how the tests
and the local demo reach the moto emulator.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

CONNECT_TIMEOUT_SECONDS = 3.0
READ_TIMEOUT_SECONDS = 10.0
MAX_ATTEMPTS = 3

_lock = threading.Lock()
_session: boto3.session.Session | None = None
_clients: dict[tuple[str, str | None], Any] = {}


def session() -> boto3.session.Session:
    """The process-wide boto3 session (created on first use, reused while warm)."""
    global _session
    with _lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session


def client(service: str, region: str | None = None) -> Any:
    """A cached client for ``service`` with bounded timeouts and standard retries."""
    key = (service, region)
    with _lock:
        found = _clients.get(key)
    if found is not None:
        return found
    config = BotoConfig(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
        max_pool_connections=32,
        user_agent_extra="scrape-push",
    )
    made = session().client(service, region_name=region, config=config)  # type: ignore[call-overload]
    with _lock:
        return _clients.setdefault(key, made)


def reset() -> None:
    """Forget the session and clients (tests use this between environments)."""
    global _session
    with _lock:
        _session = None
        _clients.clear()
