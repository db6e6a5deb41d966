"""Dry run: how many CloudWatch custom metrics a configuration creates, what they cost, and what
the same samples would weigh through CloudWatch's OTLP endpoint instead.

Behind ``scrape-push cost`` (cli.py). Each CloudWatch sink's translation runs exactly as in
the Lambda (rules, include/exclude, rollups, caps), but nothing is sent: series that would need
a previous scrape (deltas, rates, distributions) are counted as if one existed. The OTLP path is
billed per GB ingested, not per metric: its figure is the samples' OTLP volume
(``sinks.otlp.volume``), priced only when a price per GB is given.

Prices are list prices for us-east-1 at the time of writing (named constants below); check the
CloudWatch pricing page for your region. Free-tier allowances are ignored.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from ...model import Sample
from ..otlp.volume import Volume, volume
from . import emf
from .config import CloudWatchConfig
from .convert import by_namespace, to_datums
from .counters import CumulativePoint
from .sink import translators

METRIC_MONTH_TIERS: tuple[tuple[float, float], ...] = (
    (10_000, 0.30),
    (250_000, 0.10),
    (1_000_000, 0.05),
    (math.inf, 0.02),
)
"""(metrics up to, USD per metric-month): first 10,000 at $0.30, next 240,000 at $0.10, next 750,000
at $0.05, beyond 1,000,000 at $0.02 (us-east-1; prorated hourly for metrics not always sent)."""
PUT_METRIC_DATA_PER_1000_REQUESTS = 0.01
"""USD per 1,000 PutMetricData requests (us-east-1)."""
LOGS_INGESTION_PER_GB = 0.50
"""USD per GB of CloudWatch Logs ingested (standard class, us-east-1): what EMF pays instead of
PutMetricData requests (the metrics it creates are charged as custom metrics all the same)."""
DYNAMODB_WRITE_PER_MILLION = 0.625
DYNAMODB_READ_PER_MILLION = 0.125
"""USD per million on-demand write / read request units (us-east-1); the state table's items
are under 1 KB compressed for typical targets (one unit per write, half a unit per read)."""
OTLP_USD_PER_GB: float | None = None
"""USD per GB of OTLP metrics ingested. Not established: "OTel metrics pricing and storage"
(``metrics-otel-pricing``) gives the model (per GB ingested, 15 months of storage included, no
per-metric charge) but leaves the price to aws.amazon.com/cloudwatch/pricing, whose stored copy
shows no OTLP figure; no What's New post, blog or other AWS page searched (1 December 2026)
states one. Pass ``--otlp-usd-per-gb`` with the price of your Region."""
NO_OTLP_PRICE = (
    "  USD / month: not priced: AWS's documentation gives the per-GB model but no figure; pass your "
    "Region's price from aws.amazon.com/cloudwatch/pricing with --otlp-usd-per-gb"
)
GIVEN_OTLP_PRICE = "  price per GB: as given with --otlp-usd-per-gb (no AWS figure is built in)"
BYTES_PER_GB = 1e9
SECONDS_PER_MONTH = 730 * 3600
TOP_METRICS = 10


@dataclass
class Estimate:
    """One sink's footprint per invocation and per month."""

    sink: str
    mode: str
    samples: int
    metrics: int
    per_metric: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    """PutMetricData requests per invocation (EMF: documents written)."""
    emf_bytes: int = 0
    state_targets: int = 0
    dropped: Counter[str] = field(default_factory=Counter)

    def state_requests(self) -> int:
        """DynamoDB requests per invocation: BatchGetItem per 100 targets, a PutItem per target."""
        return math.ceil(self.state_targets / 100) + self.state_targets if self.state_targets else 0

    def monthly(self, invocations: float) -> dict[str, float]:
        costs = {"metrics": metric_month_cost(self.metrics)}
        if self.mode == "api":
            costs["requests"] = self.requests * invocations / 1000 * PUT_METRIC_DATA_PER_1000_REQUESTS
        else:
            costs["logs"] = self.emf_bytes * invocations / 1e9 * LOGS_INGESTION_PER_GB
        if self.state_targets:
            writes = self.state_targets * invocations / 1e6 * DYNAMODB_WRITE_PER_MILLION
            reads = self.state_targets * invocations / 1e6 * DYNAMODB_READ_PER_MILLION / 2
            costs["state"] = writes + reads
        costs["total"] = sum(costs.values())
        return costs


def metric_month_cost(metrics: int) -> float:
    """Monthly cost of ``metrics`` custom metrics sent all month, by the tiers above."""
    cost, below = 0.0, 0.0
    for ceiling, price in METRIC_MONTH_TIERS:
        if metrics <= below:
            break
        cost += (min(metrics, ceiling) - below) * price
        below = ceiling
    return cost


def estimate(config: CloudWatchConfig, samples: Sequence[Sample], now_ms: int) -> Estimate:
    """What one invocation of this sink would send for ``samples`` (pure: nothing is sent)."""
    grouper, builder = translators(config)
    grouped = grouper.group(samples)
    previous = {
        t.state_id: CumulativePoint(
            t.point.ts_ms - 60_000, tuple(0.0 for _ in t.point.values), t.point.created, t.point.layout
        )
        for t in grouped.tracked
    }
    outs = grouper.resolve(grouped.tracked, previous, config.histogram_sum_count).outs
    result = to_datums([*grouped.outs, *outs], builder, now_ms, config.max_series_per_metric)
    keys = {(d.namespace, d.payload["MetricName"], _dims(d.payload)) for d in result.datums}
    found = Estimate(
        f"cloudwatch/{config.name or config.namespace}",
        config.mode,
        len(samples),
        len(keys),
        Counter(name for _, name, _ in keys),
        dropped=grouped.dropped + result.dropped,
        state_targets=len({t.target for t in grouped.tracked}),
    )
    if config.mode == "emf":
        docs = emf.documents(result.datums).documents
        found.requests = len(docs)
        found.emf_bytes = sum(len(json.dumps(d, separators=(",", ":"))) + 1 for d in docs)
    else:
        found.requests = sum(len(batches) for _, batches in by_namespace(result.datums))
    return found


def _dims(payload: dict[str, object]) -> tuple[tuple[str, str], ...]:
    dims = payload.get("Dimensions") or []
    return tuple((d["Name"], d["Value"]) for d in dims)  # type: ignore[attr-defined]


@dataclass
class OTLPEstimate:
    """The samples' volume through CloudWatch's OTLP endpoint (``sink``: the OTLP sink that sends
    them there, or ``None`` for the path a configuration could take instead)."""

    sink: str | None
    volume: Volume

    def monthly_gb(self, invocations: float) -> float:
        return self.volume.bytes * invocations / BYTES_PER_GB


def otlp_estimate(sink: str | None, samples: Sequence[Sample], now_ms: int) -> OTLPEstimate:
    return OTLPEstimate(sink, volume(samples, now_ms))


def render(
    estimates: Sequence[Estimate],
    otlp: Sequence[OTLPEstimate],
    interval: float,
    *,
    samples: int,
    source: str,
    usd_per_gb: float | None = OTLP_USD_PER_GB,
) -> str:
    invocations = SECONDS_PER_MONTH / interval
    lines = [
        "scrape-push CloudWatch cost estimate (us-east-1 list prices, free tier ignored)",
        f"{source}: {samples:,} samples",
        f"invocations: one every {interval:g}s = {invocations:,.0f} per month",
    ]
    lines += _put_metric_data(estimates, invocations)
    for found in otlp:
        lines += _otlp(found, invocations, usd_per_gb)
    return "\n".join(lines)


def _otlp(found: OTLPEstimate, invocations: float, usd_per_gb: float | None) -> list[str]:
    title = (
        f"sink {found.sink}" if found.sink else "the same samples through CloudWatch's OTLP endpoint instead"
    )
    gb = found.monthly_gb(invocations)
    lines = ["", f"{title} (OTLP, billed per GB ingested, no per-metric charge)"]
    lines.append(f"  {'':<16}{'per invocation':>28}{'GB / month':>14}")
    lines.append(f"  {'data points':<16}{f'{found.volume.points:,} points':>28}")
    lines.append(f"  {'ingested':<16}{f'{found.volume.bytes:,} bytes':>28}{gb:>14,.3f}")
    if usd_per_gb is None:
        lines.append(NO_OTLP_PRICE)
    else:
        lines += [_row(f"total at ${usd_per_gb:g}/GB", "", gb * usd_per_gb), GIVEN_OTLP_PRICE]
    if found.volume.dropped:
        lines.append(f"  not sent: {dict(sorted(found.volume.dropped.items()))}")
    return lines


def _put_metric_data(estimates: Sequence[Estimate], invocations: float) -> list[str]:
    lines: list[str] = []
    for e in estimates:
        costs = e.monthly(invocations)
        lines += [
            "",
            f"sink {e.sink} (mode {e.mode})",
            f"  {'':<16}{'per invocation':>28}{'USD / month':>14}",
        ]
        lines.append(_row("custom metrics", f"{e.metrics:,} metrics", costs["metrics"]))
        if e.mode == "api":
            lines.append(_row("PutMetricData", f"{e.requests:,} requests", costs["requests"]))
        else:
            lines.append(_row("EMF log data", f"{e.emf_bytes:,} bytes", costs["logs"]))
        if e.state_targets:
            lines.append(_row("state table", f"{e.state_requests():,} requests", costs["state"]))
        lines.append(_row("total", "", costs["total"]))
        ranked = sorted(e.per_metric.items(), key=lambda item: (-item[1], item[0]))  # ties by name: stable
        many = [(name, n) for name, n in ranked[:TOP_METRICS] if n > 1]
        if many:
            lines.append("  most dimension sets: " + ", ".join(f"{name} {n}" for name, n in many))
        if e.dropped:
            lines.append(f"  not sent: {dict(sorted(e.dropped.items()))}")
    return lines


def _row(label: str, detail: str, cost: float) -> str:
    return f"  {label:<16}{detail:>28}{cost:>14,.2f}"
