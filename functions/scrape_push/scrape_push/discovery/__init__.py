"""Service discovery: turn a ``*_sd_configs`` entry into target label sets (``__address__``,
``__meta_*``), as Prometheus's discoverers do, for target relabeling to work on.

Each mechanism is a package ``<name>/`` serving ``<name>_sd_configs`` (see ``plugins.py``);
``refresh.py`` runs them: each entry at its ``refresh_interval``, every refresh within the
invocation's deadline, the last known targets kept when a refresh fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..deadline import Deadline

LabelSet = dict[str, str]
"""One target as discovered: ``__address__`` and the mechanism's ``__meta_*`` labels."""


class DiscoveryError(Exception):
    """Discovery failed (API error, missing permission, no region); the message says where."""


@dataclass
class Discovered:
    """What one refresh found."""

    targets: list[LabelSet]
    problems: list[str] = field(default_factory=list)
    """Parts that could not be refreshed this time (an ECS cluster whose tasks could not be
    listed); their targets are the last ones known, and each problem is reported."""


class Discoverer(Protocol):
    """One ``*_sd_configs`` entry, built by its plugin and kept warm with the pipeline."""

    def discover(self, deadline: Deadline) -> Discovered:
        """Every target found now, every call made before ``deadline``; raise
        ``DiscoveryError`` when the mechanism fails as a whole."""
        ...
