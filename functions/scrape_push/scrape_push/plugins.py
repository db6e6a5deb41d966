"""Plugins: each sink kind and each discovery mechanism is one package that registers itself.

A sink kind is a package ``sinks/<section>/`` serving the configuration's top-level key
``<section>``; a discovery mechanism is a package ``discovery/<name>/`` serving the
``scrape_configs`` key ``<name>_sd_configs``. The package's ``__init__.py`` imports only its
``config.py`` and registers the plugin (``register_sink``, ``register_discovery``): its key, the
frozen dataclass each list entry decodes into, and a factory that imports the plugin's heavy
modules (translation, transport, AWS clients) only when it is called.

Why this shape: cold start. A Lambda pays for every module it imports before its first scrape,
and most configurations use one sink kind and no discovery. So plugins are *found* without being
imported, by listing the packages' directories (``pkgutil.iter_modules``): the decoder knows
every key (for unknown keys and did-you-mean) but imports a plugin's package only when the
document uses its key, and the plugin's heavy modules load only when a sink or a discoverer is
built. Only ``schema`` and ``show``, which describe every key, import them all (``all()``). The
configuration model, target building and sink building name no plugin: adding one is adding a
package.

A registry is filled by imports alone (a package registers once, when Python first imports it),
like the module table it mirrors: it has nothing to reset.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from .aws import AwsClients
    from .backlog.config import BacklogConfig
    from .credentials import SecretResolver
    from .discovery import Discoverer
    from .settings import Settings
    from .sinks.base import Sink

DISCOVERY_SUFFIX = "_sd_configs"
"""A discovery package ``<name>`` serves the key ``<name>_sd_configs``, as in Prometheus."""


class SinkConfig(Protocol):
    """What the core reads from any sink kind's configuration dataclass."""

    @property
    def display_name(self) -> str:
        """The sink's name: its ``name``, else one derived from its destination (unique)."""
        ...

    @property
    def backlog(self) -> BacklogConfig: ...


@dataclass(frozen=True)
class BuildContext:
    """What a plugin instance may use when it is built: the runtime's services (never a
    module global) and the configuration's runtime settings."""

    max_concurrent_requests: int
    aws: AwsClients
    secrets: SecretResolver
    settings: Settings
    name_escaping: str = "allow-utf-8"
    """``global.metric_name_escaping_scheme`` in effect: how a sink that cannot carry UTF-8
    names escapes them (Remote Write: unless ``allow-utf-8``)."""


@dataclass(frozen=True)
class SinkPlugin:
    """A sink kind: the top-level key it serves, its entries' dataclass, its factory."""

    section: str
    config: type
    build: Callable[[Any, BuildContext], Sink]

    @property
    def key(self) -> str:
        return self.section


@dataclass(frozen=True)
class DiscoveryPlugin:
    """A discovery mechanism: the ``scrape_configs`` key it serves, its entries' dataclass, its
    factory."""

    key: str
    config: type
    build: Callable[[Any, BuildContext], Discoverer]


P = TypeVar("P", SinkPlugin, DiscoveryPlugin)


class Registry(Generic[P]):
    """The plugins of one kind: one per sub-package of ``package``, serving ``<name><suffix>``."""

    def __init__(self, package: str, suffix: str) -> None:
        self.package = package
        self.suffix = suffix
        self._registered: dict[str, P] = {}

    @functools.cached_property
    def _modules(self) -> dict[str, str]:
        """Key -> plugin package, in key order, found without importing any plugin."""
        spec = importlib.util.find_spec(self.package)
        paths = spec.submodule_search_locations if spec is not None else None
        found = sorted(m.name for m in pkgutil.iter_modules(paths or []) if m.ispkg)
        return {f"{name}{self.suffix}": f"{self.package}.{name}" for name in found}

    def served(self) -> tuple[str, ...]:
        """Every key a plugin serves, in order (nothing is imported)."""
        return tuple(self._modules)

    def get(self, key: str) -> P:
        """The plugin serving ``key``; its package is imported on first use."""
        module = self._modules.get(key)
        if module is None:
            raise LookupError(f"no plugin serves {key!r}")
        importlib.import_module(module)
        plugin = self._registered.get(key)
        if plugin is None:
            raise LookupError(f"{module} registers no plugin for {key!r}")
        return plugin

    def all(self) -> tuple[P, ...]:
        """Every plugin, in key order (imports every plugin package)."""
        return tuple(self.get(key) for key in self.served())

    def register(self, plugin: P) -> None:
        if plugin.key not in self._modules:
            raise ValueError(f"no package under {self.package} is named for the key {plugin.key!r}")
        self._registered[plugin.key] = plugin


SINKS: Registry[SinkPlugin] = Registry(f"{__package__}.sinks", "")
DISCOVERIES: Registry[DiscoveryPlugin] = Registry(f"{__package__}.discovery", DISCOVERY_SUFFIX)


def register_sink(plugin: SinkPlugin) -> None:
    """Called once by a sink package's ``__init__.py``."""
    SINKS.register(plugin)


def register_discovery(plugin: DiscoveryPlugin) -> None:
    """Called once by a discovery package's ``__init__.py``."""
    DISCOVERIES.register(plugin)
