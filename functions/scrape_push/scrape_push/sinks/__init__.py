"""Sinks: where samples go. Each kind lives in its own package (translation apart from transport)."""

from __future__ import annotations

from ..config.model import Config
from .base import Sink, SinkReport
from .cloudwatch import CloudWatchSink
from .graphite import GraphiteSink


def build_sinks(config: Config) -> list[Sink]:
    """One sink object per configured destination, in configuration order."""
    sinks: list[Sink] = []
    for cw in config.cloudwatch:
        sinks.append(CloudWatchSink(cw, config.runtime.max_concurrent_requests))
    for graphite in config.graphite:
        sinks.append(GraphiteSink(graphite))
    return sinks


__all__ = ["CloudWatchSink", "GraphiteSink", "Sink", "SinkReport", "build_sinks"]
