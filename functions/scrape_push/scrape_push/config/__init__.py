"""Configuration: the document's model, its decoder, and loading it from SSM.

The names below are loaded on first use (PEP 562), so that leaf modules such as
``config.errors`` and ``config.values`` can be imported by the modules the model itself is
built from (relabeling, discovery, sinks) without an import cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import forward

if TYPE_CHECKING:
    from .errors import ConfigError as ConfigError
    from .errors import ConfigLoadError as ConfigLoadError
    from .errors import Problem as Problem
    from .model import CloudWatchConfig as CloudWatchConfig
    from .model import Config as Config
    from .model import GlobalConfig as GlobalConfig
    from .model import RuntimeConfig as RuntimeConfig
    from .model import ScrapeConfig as ScrapeConfig
    from .model import StaticConfig as StaticConfig
    from .source import LoadedConfig as LoadedConfig
    from .source import load_config as load_config
    from .source import parse_config as parse_config

_HOMES = {
    "ConfigError": "errors",
    "ConfigLoadError": "errors",
    "Problem": "errors",
    "CloudWatchConfig": "model",
    "Config": "model",
    "GlobalConfig": "model",
    "RuntimeConfig": "model",
    "ScrapeConfig": "model",
    "StaticConfig": "model",
    "LoadedConfig": "source",
    "load_config": "source",
    "parse_config": "source",
}

__all__ = [
    "CloudWatchConfig",
    "Config",
    "ConfigError",
    "ConfigLoadError",
    "GlobalConfig",
    "LoadedConfig",
    "Problem",
    "RuntimeConfig",
    "ScrapeConfig",
    "StaticConfig",
    "load_config",
    "parse_config",
]


__getattr__ = forward(__name__, _HOMES)
