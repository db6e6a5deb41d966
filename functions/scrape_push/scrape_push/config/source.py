"""Fetch the configuration from SSM Parameter Store and decode it, with caching and fallback.

``CONFIG_PARAMETER`` names one parameter (``/scrape-push/config``) or, ending in ``/``, a path
(``/scrape-push/``) whose parameters are merged as fragments (see ``fragments.py``). Raw values
are cached by Powertools Parameters for ``POWERTOOLS_PARAMETERS_MAX_AGE`` seconds across warm
invocations; the decoded ``Config`` is cached by the text's digest. When the configuration
becomes invalid (or unreadable), a warm function keeps using the last valid one and says so.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from aws_lambda_powertools.utilities import parameters
from botocore.exceptions import NoCredentialsError, NoRegionError

from .. import aws
from .decode import decode
from .document import load_document
from .errors import ConfigError, ConfigLoadError, Problem
from .fragments import merge_fragments
from .model import Config


@dataclass(frozen=True)
class LoadedConfig:
    """A validated configuration and where it came from.

    ``error`` is set when this is the last valid configuration, kept because the current one is
    invalid or unreadable (the message says why).
    """

    config: Config
    source: str
    digest: str
    error: str | None = None


_provider: parameters.SSMProvider | None = None
_decoded: dict[str, LoadedConfig] = {}
_last_good: dict[str, LoadedConfig] = {}


def _digest(parts: Sequence[str]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def parse_config(text: str, source: str = "") -> LoadedConfig:
    """Validate a configuration document; raise ``ConfigError`` naming every bad key path."""
    digest = _digest([text])
    cached = _decoded.get(source)
    if cached is not None and cached.digest == digest:
        return cached
    try:
        data, lines = load_document(text)
    except ConfigError as exc:
        raise ConfigError(exc.problems, source) from None
    loaded = LoadedConfig(decode(Config, data, lines, source), source, digest)
    _decoded[source] = loaded
    return loaded


def parse_fragments(fragments: Sequence[tuple[str, str]], source: str) -> LoadedConfig:
    """Validate and merge ``(parameter name, text)`` fragments (cached by their digest)."""
    ordered = sorted(fragments)
    digest = _digest([part for pair in ordered for part in pair])
    cached = _decoded.get(source)
    if cached is not None and cached.digest == digest:
        return cached
    loaded = LoadedConfig(merge_fragments(ordered, source), source, digest)
    _decoded[source] = loaded
    return loaded


NO_SINK = (
    "no sink is configured: add a cloudwatch, graphite or remote_write section "
    "(without one, nothing scraped is pushed anywhere)"
)


def runnable(loaded: LoadedConfig) -> LoadedConfig:
    """``loaded``, when it is a whole configuration the function can run: it has a sink.

    Kept apart from decoding, where a fragment of a configuration split over several
    parameters may rightly hold jobs alone."""
    if not loaded.config.sinks:
        raise ConfigError([Problem("", NO_SINK)], loaded.source)
    return loaded


def _ssm() -> parameters.SSMProvider:
    global _provider
    if _provider is None:
        _provider = parameters.SSMProvider(boto3_client=aws.per_call("ssm"))
    return _provider


def _raise_setup_error(exc: Exception) -> None:
    """Re-raise a missing region or missing credentials behind a Powertools error as itself: it
    is the machine's setup at fault, not the parameter (the tool says what to set)."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, NoRegionError | NoCredentialsError):
        raise cause from None


def fetch_parameter(name: str) -> str:
    """The parameter's value (String or SecureString, decrypted), cached with the Powertools TTL."""
    try:
        value = _ssm().get(name, decrypt=True)
    except parameters.exceptions.GetParameterError as exc:
        _raise_setup_error(exc)
        raise ConfigLoadError(f"cannot read SSM parameter {name!r}: {exc}") from None
    if not isinstance(value, str):
        raise ConfigLoadError(f"SSM parameter {name!r} did not hold text")
    return value


def fetch_path(path: str) -> list[tuple[str, str]]:
    """Every parameter under ``path`` (recursively) as ``(full name, value)``, sorted by name."""
    try:
        values = _ssm().get_multiple(path, decrypt=True, recursive=True)
    except parameters.exceptions.GetParameterError as exc:
        _raise_setup_error(exc)
        raise ConfigLoadError(f"cannot read SSM parameters under {path!r}: {exc}") from None
    if not values:
        raise ConfigLoadError(f"no SSM parameters under {path!r}")
    return sorted((path + key.lstrip("/"), str(value)) for key, value in values.items())


def load_config(name: str) -> LoadedConfig:
    """The configuration held in SSM parameter (or path) ``name``, falling back to the last valid one."""
    try:
        if name.endswith("/"):
            loaded = runnable(parse_fragments(fetch_path(name), f"SSM path {name}"))
        else:
            loaded = runnable(parse_config(fetch_parameter(name), f"SSM parameter {name}"))
    except (ConfigError, ConfigLoadError) as exc:
        good = _last_good.get(name)
        if good is None:
            raise
        return dataclasses.replace(good, error=str(exc))
    _last_good[name] = loaded
    return loaded


def reset() -> None:
    """Drop every cache, the last valid configuration included (tests, and a forced reload)."""
    global _provider
    _provider = None
    _decoded.clear()
    _last_good.clear()
