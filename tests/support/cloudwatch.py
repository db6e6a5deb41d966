"""Helpers for CloudWatch sink tests: run the pure translation without the sink or the network."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from scrape_push.model import Family, Sample
from scrape_push.sinks.cloudwatch.config import CloudWatchConfig
from scrape_push.sinks.cloudwatch.convert import DatumSet, to_datums
from scrape_push.sinks.cloudwatch.counters import CumulativePoint
from scrape_push.sinks.cloudwatch.rules import Rules
from scrape_push.sinks.cloudwatch.series import SeriesBuilder
from scrape_push.sinks.cloudwatch.translate import Grouper

from tests.support.samples import ref_of

NOW_MS = 1_800_000_000_000


def wall_ms() -> int:
    """Now, as the scrape that just happened stamped its samples (for tests that send)."""
    return int(time.time() * 1000)


BASE = {"job": "j", "instance": "i:1"}


def sample(
    name: str = "m",
    value: float = 1.0,
    ts: int = NOW_MS,
    family: Family | None = None,
    **labels: str,
) -> Sample:
    """A sample with ``job``/``instance`` labels, as the scrape stage hands it over."""
    found = tuple(sorted({**BASE, **labels}.items()))
    return Sample(name, found, value, ts, family or Family(name, "gauge"), ref_of(name, found))


def config(**settings: Any) -> CloudWatchConfig:
    return CloudWatchConfig(**{"namespace": "NS", **settings})


def convert(
    samples: Sequence[Sample],
    cfg: CloudWatchConfig | None = None,
    previous: Mapping[str, CumulativePoint] | None = None,
    now_ms: int = NOW_MS,
) -> DatumSet:
    """Samples -> datums as the sink does, with ``previous`` points standing in for the state."""
    cfg = cfg or config()
    grouper = Grouper(Rules(cfg))
    grouped = grouper.group(samples)
    outs = list(grouped.outs)
    resolved = grouper.resolve(grouped.tracked, previous or {}, cfg.histogram_sum_count)
    outs.extend(resolved.outs)
    result = to_datums(
        outs,
        SeriesBuilder(cfg.namespace, cfg.namespace_per_job),
        now_ms,
        cfg.max_series_per_metric,
    )
    result.dropped.update(grouped.dropped)
    result.dropped.update(resolved.dropped)
    result.adjusted.update(resolved.adjusted)
    return result


def points(
    samples: Sequence[Sample], cfg: CloudWatchConfig, now_ms: int = NOW_MS
) -> dict[str, CumulativePoint]:
    """The points the sink would store for ``samples`` (the next cycle's ``previous``)."""
    grouped = Grouper(Rules(cfg)).group(samples)
    return {t.state_id: t.point for t in grouped.tracked}


def metric_data(
    client: Any, namespace: str, name: str, stat: str, since: datetime | None = None, **dimensions: str
) -> list[tuple[datetime, float]]:
    """``(period start, stat)`` of every one-minute period holding datapoints of the metric with
    exactly ``dimensions``, oldest first, from ``since`` (default: ten minutes ago) to shortly
    after now (GetMetricData)."""
    now = datetime.now(UTC)
    metric = {
        "Namespace": namespace,
        "MetricName": name,
        "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
    }
    result = client.get_metric_data(
        MetricDataQueries=[{"Id": "q", "MetricStat": {"Metric": metric, "Period": 60, "Stat": stat}}],
        StartTime=since or now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=5),
        ScanBy="TimestampAscending",
    )
    (data,) = result["MetricDataResults"]
    return list(zip(data["Timestamps"], data["Values"], strict=True))
