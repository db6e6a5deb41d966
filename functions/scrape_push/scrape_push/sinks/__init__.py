"""Sinks: where samples go. Each kind lives in its own package (translation apart from transport).

A kind's package is imported only when the configuration uses it, so a cold start pays only
for the sinks it needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Sink, SinkReport

if TYPE_CHECKING:  # config.model imports each sink's config dataclass from its package
    from ..config.model import Config


def build_sinks(config: Config) -> list[Sink]:
    """One sink object per configured destination, in configuration order."""
    sinks: list[Sink] = []
    if config.cloudwatch:
        from .cloudwatch.sink import CloudWatchSink  # noqa: PLC0415 (imported only when configured)

        for cw in config.cloudwatch:
            sinks.append(CloudWatchSink(cw, config.runtime.max_concurrent_requests))
    if config.graphite:
        from .graphite.sink import GraphiteSink  # noqa: PLC0415 (imported only when configured)

        for graphite in config.graphite:
            sinks.append(GraphiteSink(graphite))
    if config.remote_write:
        from .remote_write.sink import RemoteWriteSink  # noqa: PLC0415 (imported only when configured)

        for rw in config.remote_write:
            sinks.append(RemoteWriteSink(rw, config.runtime.max_concurrent_requests))
    return sinks


__all__ = ["Sink", "SinkReport", "build_sinks"]
