"""The Graphite sink: carbon's plaintext, pickle or UDP protocol, path or tagged names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...lazy import forward

if TYPE_CHECKING:
    from .sink import GraphiteSink as GraphiteSink

# The sink itself (``sink.py``) is loaded on first use: the configuration model imports this
# package's ``config`` module, and a function whose configuration does not use this sink
# should not pay for importing it at cold start.
__getattr__ = forward(__name__, dict.fromkeys(("GraphiteSink",), "sink"))
