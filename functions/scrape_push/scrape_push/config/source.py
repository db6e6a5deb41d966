"""Fetch the configuration document from SSM Parameter Store and decode it, with caching.

The raw parameter value is cached by Powertools Parameters for ``POWERTOOLS_PARAMETERS_MAX_AGE``
seconds across warm invocations; the decoded ``Config`` is cached by the text's digest so an
unchanged parameter is validated once per container.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from aws_lambda_powertools.utilities import parameters

from .. import aws
from .decode import decode
from .document import load_document
from .errors import ConfigError, ConfigLoadError
from .model import Config


@dataclass(frozen=True)
class LoadedConfig:
    """A validated configuration and where it came from."""

    config: Config
    source: str
    digest: str


_provider: parameters.SSMProvider | None = None
_decoded: dict[str, LoadedConfig] = {}


def parse_config(text: str, source: str = "") -> LoadedConfig:
    """Validate a configuration document; raise ``ConfigError`` naming every bad key path."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    cached = _decoded.get(digest)
    if cached is not None and cached.source == source:
        return cached
    try:
        data, lines = load_document(text)
    except ConfigError as exc:
        raise ConfigError(exc.problems, source) from None
    loaded = LoadedConfig(decode(Config, data, lines, source), source, digest)
    _decoded.clear()
    _decoded[digest] = loaded
    return loaded


def fetch_parameter(name: str) -> str:
    """The parameter's value (String or SecureString, decrypted), cached with the Powertools TTL."""
    global _provider
    if _provider is None:
        _provider = parameters.SSMProvider(boto3_client=aws.client("ssm"))
    try:
        value = _provider.get(name, decrypt=True)
    except parameters.exceptions.GetParameterError as exc:
        raise ConfigLoadError(f"cannot read SSM parameter {name!r}: {exc}") from None
    if not isinstance(value, str):
        raise ConfigLoadError(f"SSM parameter {name!r} did not hold text")
    return value


def load_config(parameter: str) -> LoadedConfig:
    """Fetch and validate the configuration held in SSM parameter ``parameter``."""
    return parse_config(fetch_parameter(parameter), f"SSM parameter {parameter}")


def reset() -> None:
    """Drop every cache (tests, and a forced reload)."""
    global _provider
    _provider = None
    _decoded.clear()
