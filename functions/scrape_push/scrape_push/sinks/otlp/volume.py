"""What a cycle's samples weigh as OTLP data points: the volume CloudWatch's OTLP endpoint bills
(``scrape-push cost``; pure, nothing is sent).

CloudWatch bills per GB ingested, each data point counting "its serialized size", which the
pricing page ("OTel metrics pricing and storage", ``metrics-otel-pricing``) says includes the
metric name, all labels, the resource attributes, the timestamp and the value. Counted here as
the point's protobuf encoding (attributes, times, value or counts), plus its metric's name and
its resource's encoded attributes: our reading of that sentence, so an estimate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from ...model import Sample
from . import encode
from .pack import encode_point
from .translate import CLOUDWATCH_LIMITS, Translator


@dataclass
class Volume:
    """Data points and billed bytes of one cycle, and what CloudWatch would not take."""

    points: int = 0
    bytes: int = 0
    dropped: Counter[str] = field(default_factory=Counter)


def volume(samples: Sequence[Sample], now_ms: int) -> Volume:
    """The OTLP volume of ``samples`` as CloudWatch's endpoint would ingest them."""
    translation = Translator(CLOUDWATCH_LIMITS).translate(samples, now_ms)
    found = Volume(dropped=translation.dropped)
    resources: dict[tuple[tuple[str, str], ...], int] = {}
    for point in translation.unstarted():
        point.start_ns = point.time_ns  # as a first sight's: the start's bytes count all the same
    for point in translation.points:
        attributes = point.resource_attributes
        if attributes not in resources:
            resources[attributes] = len(encode.attributes(encode.RESOURCE_ATTRIBUTES, attributes))
        metric = point.stream.metric
        name = len(metric.name.encode()) if metric is not None else 0
        found.points += 1
        found.bytes += len(encode_point(point)) + name + resources[attributes]
    return found
