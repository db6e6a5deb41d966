"""The Graphite sink: carbon's plaintext, pickle or UDP protocol, path or tagged names."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .sink import GraphiteSink as GraphiteSink

# The sink itself (``sink.py``) is loaded on first use: the configuration model imports this
# package's ``config`` module, and a function whose configuration does not use this sink
# should not pay for importing it at cold start.
_LAZY = frozenset(
    {
        "GraphiteSink",
    }
)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.sink"), name)
