"""scrape-push's own metrics, written as CloudWatch Embedded Metric Format (EMF) log lines.

EMF needs no API call and no IAM permission: CloudWatch Logs extracts the metrics from the
function's log. Namespace: ``POWERTOOLS_METRICS_NAMESPACE`` (the template sets
``<CloudWatchNamespace>/Self``); set ``POWERTOOLS_METRICS_DISABLED=true`` to turn them off.

Per invocation: ``TargetsUp``, ``TargetsDown``, ``TargetErrors``, ``SamplesScraped``,
``StaleMarkers`` (staleness markers among them), ``ConfigInvalid`` (1 while a warm function
runs its last valid configuration because the current one is invalid), ``CycleDuration``, and
over all sinks ``SamplesLost`` (sum) and ``BacklogOldestAgeSeconds`` (maximum) — the
template's alarms watch these two.

Shards (``shards/``): a planner writes ``ShardsPlanned`` and ``ShardsSent`` (0 sent when the
cycle ran in the planner itself) and ``ShardsFailed`` (shards whose message could not be sent);
a shard's invocation writes ``ShardsLate`` (its message came too late for its cycle and was
dropped) and ``ShardsFailed`` (it failed: retried once, then dead-lettered). Every invocation's
figures are its own: sum them over a minute for the fleet (the template's alarms and dashboard
do). A planner that sent its cycle to the shards writes ``TargetErrors`` and ``ConfigInvalid``
too (its shards write the rest).

Per sink (dimension ``Sink``): ``SamplesSent``, ``SamplesDropped`` (but ``stale_marker``:
expected), ``SamplesRejected`` (live and replayed), ``SamplesFailed`` (not delivered and not
kept), ``SamplesSpilled`` (kept in the backlog), ``SamplesReplayed``, ``SamplesLost`` (failed
plus discarded past the backlog's bounds); and, from the invocation that held the sink's lease,
``BacklogSamples``, ``BacklogBytes`` and ``BacklogOldestAgeSeconds`` (sent by an invocation
that listed the backlog).
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from .config.source import LoadedConfig
from .pipeline import CycleResult
from .sinks import SinkReport
from .targets import TargetSet

SERVICE = "scrape-push"


def _metrics(namespace: str) -> EphemeralMetrics:
    return EphemeralMetrics(namespace=namespace, service=SERVICE)


def publish(cycle: CycleResult, loaded: LoadedConfig, namespace: str) -> None:
    """Write this invocation's self-metrics to stdout as EMF documents."""
    overall = _metrics(namespace)
    up = sum(1 for r in cycle.scrapes if r.up)
    overall.add_metric("TargetsUp", MetricUnit.Count, up)
    overall.add_metric("TargetsDown", MetricUnit.Count, len(cycle.scrapes) - up)
    overall.add_metric("TargetErrors", MetricUnit.Count, len(cycle.target_errors))
    overall.add_metric("SamplesScraped", MetricUnit.Count, cycle.samples)
    overall.add_metric("DuplicateSamplesDropped", MetricUnit.Count, sum(r.duplicates for r in cycle.scrapes))
    overall.add_metric("StaleMarkers", MetricUnit.Count, cycle.stale_markers)
    overall.add_metric("ConfigInvalid", MetricUnit.Count, 0 if loaded.error is None else 1)
    overall.add_metric("CycleDuration", MetricUnit.Seconds, cycle.duration)
    overall.add_metric("SamplesLost", MetricUnit.Count, sum(r.lost for r in cycle.sinks))
    ages = [r.backlog.oldest_age_seconds for r in cycle.sinks if r.backlog]
    overall.add_metric("BacklogOldestAgeSeconds", MetricUnit.Seconds, max(ages, default=0.0))
    overall.flush_metrics()
    for report in cycle.sinks:
        _publish_sink(report, namespace)


def publish_plan(found: TargetSet, loaded: LoadedConfig, namespace: str) -> None:
    """What a planner that sent its cycle to the shards knows: its target errors and config."""
    overall = _metrics(namespace)
    overall.add_metric("TargetErrors", MetricUnit.Count, len(found.errors))
    overall.add_metric("ConfigInvalid", MetricUnit.Count, 0 if loaded.error is None else 1)
    overall.flush_metrics()


SHARD_METRICS = {
    "planned": "ShardsPlanned",
    "sent": "ShardsSent",
    "late": "ShardsLate",
    "failed": "ShardsFailed",
}


def publish_shards(namespace: str, **counts: int) -> None:
    """The shard figures of this invocation, by their ``SHARD_METRICS`` names."""
    shards = _metrics(namespace)
    for key, value in counts.items():
        shards.add_metric(SHARD_METRICS[key], MetricUnit.Count, value)
    shards.flush_metrics()


def _publish_sink(report: SinkReport, namespace: str) -> None:
    per_sink = _metrics(namespace)
    per_sink.add_dimension("Sink", report.name)
    backlog = report.backlog
    per_sink.add_metric("SamplesSent", MetricUnit.Count, report.sent)
    per_sink.add_metric("SamplesDropped", MetricUnit.Count, report.faulty_drops)
    per_sink.add_metric(
        "SamplesRejected", MetricUnit.Count, report.rejected + (backlog.rejected if backlog else 0)
    )
    per_sink.add_metric("SamplesFailed", MetricUnit.Count, report.failed)
    per_sink.add_metric("SamplesLost", MetricUnit.Count, report.lost)
    if backlog is not None:
        per_sink.add_metric("SamplesSpilled", MetricUnit.Count, report.spilled)
        per_sink.add_metric("SamplesReplayed", MetricUnit.Count, backlog.replayed)
        if backlog.lease in ("held", "none"):  # this invocation listed the backlog itself
            per_sink.add_metric("BacklogSamples", MetricUnit.Count, backlog.samples)
            per_sink.add_metric("BacklogBytes", MetricUnit.Bytes, backlog.bytes)
            per_sink.add_metric("BacklogOldestAgeSeconds", MetricUnit.Seconds, backlog.oldest_age_seconds)
    per_sink.flush_metrics()
