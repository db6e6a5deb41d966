"""Service discovery: turn a ``*_sd_configs`` entry into target label sets (``__address__``,
``__meta_*``), as Prometheus's discoverers do, for target relabeling to work on.

Each mechanism is a package ``<name>/`` serving ``<name>_sd_configs`` (see ``plugins.py``).
"""

from __future__ import annotations

from typing import Protocol


class DiscoveryError(Exception):
    """Discovery failed (API error, missing permission, no region); the message says where."""


class Discoverer(Protocol):
    """One ``*_sd_configs`` entry, built by its plugin."""

    def discover(self) -> list[dict[str, str]]:
        """One label set per target found (``__address__`` and ``__meta_*``); raise
        ``DiscoveryError`` when the mechanism fails."""
        ...
