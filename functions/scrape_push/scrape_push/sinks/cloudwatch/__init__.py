"""The CloudWatch sink: PutMetricData (or EMF on stdout) with every documented limit enforced.

A cycle: ``Grouper.group`` sorts the samples (translate.py); tracked series (deltas, rates,
distributions) get their previous points from the state table, which is written back
conditionally *before* anything is sent so overlapping invocations never both send the same
interval; ``to_datums`` builds the datums (convert.py); transport.py or emf.py delivers them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .sink import CloudWatchSink as CloudWatchSink
    from .sink import _translators as _translators
    from .sink import identity as identity
    from .sink import translators as translators

# The sink itself (``sink.py``) is loaded on first use: the configuration model imports this
# package's ``config`` module, and a function whose configuration does not use this sink
# should not pay for importing it at cold start.
_LAZY = frozenset(
    {
        "CloudWatchSink",
        "identity",
        "translators",
        "_translators",
    }
)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.sink"), name)
