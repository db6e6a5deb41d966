"""The JSON summary an invocation returns (and logs)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, cast

from .config.source import LoadedConfig
from .credentials import Scrubber
from .pipeline import CycleResult
from .scrape import EndedTarget, ScrapeResult
from .targets import TargetError

if TYPE_CHECKING:
    from .shards.plan import Planned


def target_summary(result: ScrapeResult) -> dict[str, object]:
    return {
        "job": result.target.job,
        "instance": result.target.instance,
        "url": result.target.url,
        "up": 1 if result.up else 0,
        "duration_seconds": round(result.duration, 6),
        "samples": result.scraped,
        "duplicates_dropped": result.duplicates,
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
    cycle: CycleResult,
    loaded: LoadedConfig,
    jobs: Sequence[str] | None,
    scrubber: Scrubber,
    extra: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """Everything a user needs to see what happened: per target and per sink, and ``extra``
    (``shards``: what the planner decided; ``shard``: which shard of which cycle ran).

    ``samples_lost`` counts samples gone for good this invocation (not delivered and not kept,
    or discarded from a backlog past its bounds); ``samples_spilled`` those kept in a backlog
    for a later invocation; ``samples_replayed`` those delivered from a backlog. Every string
    in it is scrubbed of secrets and URL credentials. ``stale_markers`` counts the staleness
    markers among ``samples`` (per target, and for ``targets_ended``: targets that left)."""
    up = sum(1 for r in cycle.scrapes if r.up)
    summary = {
        "ok": loaded.error is None and all(report.ok for report in cycle.sinks),
        **_source(loaded, jobs),
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
        "target_errors": _target_errors(cycle.target_errors),
        "dropped_targets": [{"job": d.job, "labels": dict(d.labels)} for d in cycle.dropped_targets],
        "sinks": [report.to_dict() for report in cycle.sinks],
        "staleness_record": cycle.staleness_record.to_dict() if cycle.staleness_record else None,
        **(extra or {}),
    }
    return cast("dict[str, object]", scrubber.scrub_all(summary))


def summarise_plan(
    planned: Planned, loaded: LoadedConfig, jobs: Sequence[str] | None, scrubber: Scrubber
) -> dict[str, object]:
    """What a planner that sent its cycle to the shards did: the targets it planned and the
    shards it planned and sent (each shard's invocation summarises its own cycle)."""
    figures = planned.figures
    summary = {
        "ok": loaded.error is None and not figures.unsent,
        **_source(loaded, jobs),
        "targets_planned": len(planned.found.targets),
        "targets_dropped": planned.found.dropped,
        "target_errors": _target_errors(planned.found.errors),
        "shards": figures.to_dict(),
    }
    return cast("dict[str, object]", scrubber.scrub_all(summary))


def _source(loaded: LoadedConfig, jobs: Sequence[str] | None) -> dict[str, object]:
    """The configuration run and the jobs selected."""
    return {
        "config": {
            "source": loaded.source,
            "digest": loaded.digest,
            "error": loaded.error,
            "warnings": [str(warning) for warning in loaded.warnings],
        },
        "jobs": sorted(jobs) if jobs is not None else [j.job_name for j in loaded.config.scrape_configs],
    }


def _target_errors(errors: Sequence[TargetError]) -> list[dict[str, str]]:
    return [{"job": e.job, "target": e.target, "error": e.error} for e in errors]
