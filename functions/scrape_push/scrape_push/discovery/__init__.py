"""Service discovery: turn a ``*_sd_configs`` entry into target label sets (``__address__``,
``__meta_*``), as Prometheus's discoverers do, for target relabeling to work on."""

from __future__ import annotations


class DiscoveryError(Exception):
    """Discovery failed (API error, missing permission, no region); the message says where."""
