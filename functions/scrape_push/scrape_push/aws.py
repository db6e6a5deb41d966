"""boto3 clients shared across warm invocations.

Endpoints are never hard-coded: botocore itself honours ``AWS_ENDPOINT_URL`` and
``AWS_ENDPOINT_URL_<SERVICE>`` (e.g. ``AWS_ENDPOINT_URL_CLOUDWATCH``), which is how the tests
and the local demo reach the moto emulator.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

CONNECT_TIMEOUT_SECONDS = 3.0
READ_TIMEOUT_SECONDS = 10.0
MAX_ATTEMPTS = 3
"""Attempts per call in all, the first included (botocore's ``total_max_attempts``)."""

_lock = threading.Lock()
_session: boto3.session.Session | None = None
_clients: dict[tuple[str, str | None, float, float, int], Any] = {}
_assumed: dict[tuple[str, str | None, str], tuple[float, Any]] = {}

ASSUMED_ROLE_SECONDS = 3600
ASSUMED_ROLE_MARGIN_SECONDS = 300
"""Renew an assumed role's client this long before its credentials expire."""


def session() -> boto3.session.Session:
    """The process-wide boto3 session (created on first use, reused while warm)."""
    global _session
    with _lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session


def _config(
    connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
    read_timeout: float = READ_TIMEOUT_SECONDS,
    max_attempts: int = MAX_ATTEMPTS,
) -> BotoConfig:
    return BotoConfig(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        max_pool_connections=32,
        user_agent_extra="scrape-push",
    )


def client(
    service: str,
    region: str | None = None,
    *,
    connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
    read_timeout: float = READ_TIMEOUT_SECONDS,
    max_attempts: int = MAX_ATTEMPTS,
) -> Any:
    """A cached client for ``service`` with bounded timeouts and standard retries."""
    key = (service, region, connect_timeout, read_timeout, max_attempts)
    with _lock:
        found = _clients.get(key)
    if found is not None:
        return found
    config = _config(connect_timeout, read_timeout, max_attempts)
    made = session().client(service, region_name=region, config=config)  # type: ignore[call-overload]
    with _lock:
        return _clients.setdefault(key, made)


def assumed_client(service: str, region: str | None, role_arn: str) -> Any:
    """A client for ``service`` acting as ``role_arn`` (STS AssumeRole with the function's own
    credentials), cached until shortly before the temporary credentials expire."""
    key = (service, region, role_arn)
    with _lock:
        found = _assumed.get(key)
    if found is not None and time.monotonic() < found[0]:
        return found[1]
    response = client("sts", region).assume_role(
        RoleArn=role_arn, RoleSessionName="scrape-push", DurationSeconds=ASSUMED_ROLE_SECONDS
    )
    credentials = response["Credentials"]
    made = boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    ).client(service, region_name=region, config=_config())  # type: ignore[call-overload]
    renew_at = time.monotonic() + ASSUMED_ROLE_SECONDS - ASSUMED_ROLE_MARGIN_SECONDS
    with _lock:
        _assumed[key] = (renew_at, made)
    return made


def reset() -> None:
    """Forget the session and clients (tests use this between environments)."""
    global _session
    with _lock:
        _session = None
        _clients.clear()
        _assumed.clear()


def describe_error(exc: Exception, limit: int = 200) -> str:
    """``Code: Message`` of an AWS error (or the exception's type and text), at most ``limit``
    characters: safe to report (AWS error messages carry no credentials)."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}"[:limit]
    return f"{type(exc).__name__}: {exc}"[:limit]
