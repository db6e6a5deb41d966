"""Configuration: the document's model, its decoder, and loading it from SSM."""

from .errors import ConfigError, ConfigLoadError, Problem
from .model import CloudWatchConfig, Config, GlobalConfig, RuntimeConfig, ScrapeConfig, StaticConfig
from .source import LoadedConfig, load_config, parse_config

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
