"""The OTLP sink: OTLP/HTTP protobuf metrics to CloudWatch's OTLP endpoint or any OpenTelemetry
receiver (a Collector, Grafana Cloud, ...).

Per invocation: the samples become one resource per target, with counters, histograms and
summaries as cumulative OTLP metrics (``translate``, pure); the start times of those that expose
no ``_created`` are settled against the state table (``starts``); the points are packed into
requests within the receiver's limits and encoded by hand (``encode``); the requests are sent
concurrently, gzip-compressed, with retries inside the deadline (``transport``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...plugins import SinkPlugin, register_sink
from .config import OTLPConfig

if TYPE_CHECKING:
    from ...plugins import BuildContext
    from ..base import Sink


def _build(config: OTLPConfig, context: BuildContext) -> Sink:
    from .sink import OTLPSink  # noqa: PLC0415 (the sink's modules load only when one is built)

    return OTLPSink(config, context)


register_sink(SinkPlugin("otlp", OTLPConfig, _build))
