"""Fetch the configuration from SSM Parameter Store and decode it, with caching and fallback.

``CONFIG_PARAMETER`` names one parameter (``/scrape-push/config``) or, ending in ``/``, a path
(``/scrape-push/``) whose parameters are merged as fragments (see ``fragments.py``). The
runtime's ``ConfigSource`` reads it through ``ssm.ParameterStore`` (no boto3): raw values are
cached for ``POWERTOOLS_PARAMETERS_MAX_AGE`` seconds across warm invocations, the decoded ``Config`` by the
text's digest, and when the configuration becomes invalid (or unreadable) a warm function keeps
using the last valid one and says so. ``parse_config`` and ``parse_fragments`` decode without
caching (the tool, the tests).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from ..plugins import SINKS
from ..ssm import ParameterStore, SSMError
from .decode import decode
from .document import load_document
from .errors import ConfigError, ConfigLoadError, ConfigWarning, Problem
from .fragments import merge_fragments
from .model import Config
from .prometheus import PROMETHEUS_KEYS

logger = Logger(service="scrape-push", child=True)


@dataclass(frozen=True)
class LoadedConfig:
    """A validated configuration and where it came from.

    ``error`` is set when this is the last valid configuration, kept because the current one is
    invalid or unreadable (the message says why). ``warnings`` are the keys it sets that have
    no effect here, each saying why (``config.prometheus``).
    """

    config: Config
    source: str
    digest: str
    error: str | None = None
    warnings: tuple[ConfigWarning, ...] = ()


def _digest(parts: Sequence[str]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def _fragments_digest(fragments: Sequence[tuple[str, str]]) -> str:
    return _digest([part for pair in sorted(fragments) for part in pair])


def parse_config(text: str, source: str = "") -> LoadedConfig:
    """Validate a configuration document; raise ``ConfigError`` naming every bad key path."""
    try:
        data, lines = load_document(text)
    except ConfigError as exc:
        raise ConfigError(exc.problems, source) from None
    warnings: list[ConfigWarning] = []
    config = decode(Config, data, lines, source, rules=PROMETHEUS_KEYS, warnings=warnings)
    return LoadedConfig(config, source, _digest([text]), warnings=tuple(warnings))


def parse_fragments(fragments: Sequence[tuple[str, str]], source: str) -> LoadedConfig:
    """Validate and merge ``(parameter name, text)`` fragments."""
    warnings: list[ConfigWarning] = []
    config = merge_fragments(sorted(fragments), source, warnings)
    return LoadedConfig(config, source, _fragments_digest(fragments), warnings=tuple(warnings))


def no_sink() -> str:
    """The problem of a configuration without a sink, naming the sections that add one."""
    sections = ", ".join(SINKS.served())
    return (
        f"no sink is configured: add a section for one of {sections} "
        "(without one, nothing scraped is pushed anywhere)"
    )


def runnable(loaded: LoadedConfig) -> LoadedConfig:
    """``loaded``, when it is a whole configuration the function can run: it has a sink.

    Kept apart from decoding, where a fragment of a configuration split over several
    parameters may rightly hold jobs alone."""
    if not loaded.config.sinks:
        raise ConfigError([Problem("", no_sink())], loaded.source)
    return loaded


def _first_seen(loaded: LoadedConfig) -> LoadedConfig:
    """A configuration just decoded, when it can run, its warnings logged: once per
    configuration, since the function keeps it for the warm invocations that follow."""
    runnable(loaded)
    for warning in loaded.warnings:
        logger.warning(
            f"configuration: {warning}",
            extra={"config_source": loaded.source, "key": warning.path, "line": warning.line},
        )
    return loaded


class ConfigSource:
    """The configuration in SSM, as a warm function reads it (owned by the runtime): the raw
    values cached for ``max_age`` seconds (``parameters``), the decoded configuration by the
    text's digest, and the last valid configuration of each parameter kept for when the current
    one turns invalid or unreadable. A missing region or missing credentials raise botocore's
    ``NoRegionError`` / ``NoCredentialsError`` as they are: the machine's setup is at fault,
    not the parameter (the tool says what to set)."""

    def __init__(self, parameters: ParameterStore, max_age: int) -> None:
        self.max_age = max_age
        self._parameters = parameters
        self._decoded: dict[str, LoadedConfig] = {}
        self._last_good: dict[str, LoadedConfig] = {}

    def load(self, name: str) -> LoadedConfig:
        """The configuration held in SSM parameter (or path) ``name``, falling back to the last
        valid one (with ``error`` saying why)."""
        try:
            if name.endswith("/"):
                fragments = self.fetch_path(name)
                source, digest = f"SSM path {name}", _fragments_digest(fragments)
                loaded = self._decoded_as(source, digest) or _first_seen(parse_fragments(fragments, source))
            else:
                text = self.fetch_parameter(name)
                source, digest = f"SSM parameter {name}", _digest([text])
                loaded = self._decoded_as(source, digest) or _first_seen(parse_config(text, source))
            self._decoded[source] = loaded
        except (ConfigError, ConfigLoadError) as exc:
            good = self._last_good.get(name)
            if good is None:
                raise
            return dataclasses.replace(good, error=str(exc))
        self._last_good[name] = loaded
        return loaded

    def _decoded_as(self, source: str, digest: str) -> LoadedConfig | None:
        """The configuration decoded last from ``source``, if its text is still the same."""
        cached = self._decoded.get(source)
        return cached if cached is not None and cached.digest == digest else None

    def fetch_parameter(self, name: str) -> str:
        """The parameter's value (String or SecureString, decrypted), cached ``max_age`` seconds."""
        try:
            return self._parameters.parameter(name, self.max_age)
        except SSMError as exc:
            raise ConfigLoadError(f"cannot read SSM parameter {name!r}: {exc}") from None

    def fetch_path(self, path: str) -> list[tuple[str, str]]:
        """Every parameter under ``path`` (recursively) as ``(full name, value)``, sorted by name."""
        try:
            values = self._parameters.path(path, self.max_age)
        except SSMError as exc:
            raise ConfigLoadError(f"cannot read SSM parameters under {path!r}: {exc}") from None
        if not values:
            raise ConfigLoadError(f"no SSM parameters under {path!r}")
        return values
