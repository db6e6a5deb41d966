"""The Graphite sink: carbon's plaintext, pickle or UDP protocol, path or tagged names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...plugins import SinkPlugin, register_sink
from .config import GraphiteConfig

if TYPE_CHECKING:
    from ...plugins import BuildContext
    from ..base import Sink


def _build(config: GraphiteConfig, _context: BuildContext) -> Sink:
    from .sink import GraphiteSink  # noqa: PLC0415 (the sink's modules load only when one is built)

    return GraphiteSink(config)


register_sink(SinkPlugin("graphite", GraphiteConfig, _build))
