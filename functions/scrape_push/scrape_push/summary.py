"""The JSON summary an invocation returns (and logs)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from .config.source import LoadedConfig
from .credentials import Scrubber
from .pipeline import CycleResult
from .scrape import EndedTarget, ScrapeResult


def target_summary(result: ScrapeResult) -> dict[str, object]:
    return {
        "job": result.target.job,
        "instance": result.target.instance,
        "url": result.target.url,
        "up": 1 if result.up else 0,
        "duration_seconds": round(result.duration, 6),
        "samples": result.scraped,
        "stale_markers": result.stale,
        "error": result.error,
    }


def ended_summary(ended: EndedTarget) -> dict[str, object]:
    return {
        "job": ended.job,
        "instance": ended.instance,
        "url": ended.url,
        "stale_markers": len(ended.samples),
    }


def summarise(
    cycle: CycleResult, loaded: LoadedConfig, jobs: Sequence[str] | None, scrubber: Scrubber
) -> dict[str, object]:
    """Everything a user needs to see what happened: per target and per sink.

    ``samples_lost`` counts samples gone for good this invocation (not delivered and not kept,
    or discarded from a backlog past its bounds); ``samples_spilled`` those kept in a backlog
    for a later invocation; ``samples_replayed`` those delivered from a backlog. Every string
    in it is scrubbed of secrets and URL credentials. ``stale_markers`` counts the staleness
    markers among ``samples`` (per target, and for ``targets_ended``: targets that left)."""
    up = sum(1 for r in cycle.scrapes if r.up)
    summary = {
        "ok": loaded.error is None and all(report.ok for report in cycle.sinks),
        "config": {
            "source": loaded.source,
            "digest": loaded.digest,
            "error": loaded.error,
            "warnings": [str(warning) for warning in loaded.warnings],
        },
        "jobs": sorted(jobs) if jobs is not None else [j.job_name for j in loaded.config.scrape_configs],
        "targets_up": up,
        "targets_down": len(cycle.scrapes) - up,
        "targets_dropped": cycle.targets_dropped,
        "samples": cycle.samples,
        "stale_markers": cycle.stale_markers,
        "samples_lost": sum(report.lost for report in cycle.sinks),
        "samples_spilled": sum(report.spilled for report in cycle.sinks),
        "samples_replayed": sum(report.backlog.replayed for report in cycle.sinks if report.backlog),
        "duration_seconds": round(cycle.duration, 6),
        "targets": [target_summary(r) for r in cycle.scrapes],
        "targets_ended": [ended_summary(e) for e in cycle.ended],
        "target_errors": [{"job": e.job, "target": e.target, "error": e.error} for e in cycle.target_errors],
        "dropped_targets": [{"job": d.job, "labels": dict(d.labels)} for d in cycle.dropped_targets],
        "sinks": [report.to_dict() for report in cycle.sinks],
        "staleness_record": cycle.staleness_record.to_dict() if cycle.staleness_record else None,
    }
    return cast("dict[str, object]", scrubber.scrub_all(summary))
