"""What one Lambda invocation does: plan a cycle (the schedule), or run one shard of it (the
shard queue), then summarise.

A scheduled invocation loads the configuration, selects the jobs and plans the cycle
(``shards.plan``): it runs the cycle itself when the fleet fits one invocation, else sends one
message per shard. An invocation by the shard queue's event source mapping runs each record's
shard (``shards.worker``) and answers which records failed (``batchItemFailures``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from aws_lambda_powertools import Logger

from . import native, selfmetrics
from .budget import memory_of
from .config.errors import ConfigLoadError
from .config.model import Config
from .config.source import LoadedConfig
from .deadline import Deadline
from .pipeline import CycleResult, gc_paused
from .runtime import RUNTIME, Runtime
from .settings import CONFIG_PARAMETER_ENV
from .shards import worker
from .shards.plan import Planned, Planner
from .shards.queue import ShardQueue
from .shards.state import of_group
from .summary import summarise, summarise_plan
from .targets import TargetError

logger = Logger(service="scrape-push", child=True)


_NOT_LOGGED = ("targets", "dropped_targets")
"""Summary keys the "cycle done" log line leaves out: a line per failed target is logged
apart, and dropped targets are only for whoever reads the summary."""


class EventError(ValueError):
    """The invocation event is malformed or names jobs the configuration lacks."""


def selected_jobs(event: object, config: Config) -> list[str] | None:
    """``["a", "b"]`` for an event ``{"jobs": ["a", "b"]}``; ``None`` (all jobs) otherwise."""
    if not isinstance(event, Mapping) or "jobs" not in event:
        return None
    jobs = event["jobs"]
    if not isinstance(jobs, list) or not all(isinstance(j, str) for j in jobs):
        raise EventError('event "jobs" must be a list of job names')
    known = {job.job_name for job in config.scrape_configs}
    unknown = sorted(set(jobs) - known)
    if unknown:
        raise EventError(f"event names job(s) not in the configuration: {', '.join(unknown)}")
    return list(dict.fromkeys(jobs))


def handle(event: object, context: object, runtime: Runtime = RUNTIME) -> dict[str, object]:
    """Plan and run a cycle, or run the shards an SQS event carries. Configuration and event
    errors of a scheduled invocation raise: it fails and pushes nothing. Every AWS call made
    meanwhile ends before the invocation's deadline."""
    with gc_paused(runtime.freeze_gate):  # until the cycle's objects are freed: see gc_paused
        runtime.start_invocation()
        with runtime.aws.calls_within(Deadline.from_context(context)):
            records = worker.shard_records(event)
            if records is not None:
                return _shards(records, context, runtime)
            return _plan(event, context, runtime)


def _plan(event: object, context: object, runtime: Runtime) -> dict[str, object]:
    parameter = runtime.settings.config_parameter
    if not parameter:
        raise ConfigLoadError(f"environment variable {CONFIG_PARAMETER_ENV} is not set")
    loaded = runtime.config.load(parameter)
    if loaded.error is not None:
        logger.error(
            "configuration invalid; running the last valid one",
            extra={"config_error": loaded.error, "digest": loaded.digest},
        )
    jobs = selected_jobs(event, loaded.config)
    settings = runtime.settings
    pipeline = runtime.pipeline(loaded, jobs)
    url = settings.shard_queue_url
    # Without a queue the cycle always runs here: no plan to keep, no counts to size it by.
    state = of_group(runtime.aws, settings.state_table, jobs) if url else None
    queue = ShardQueue(runtime.aws.bounded("sqs"), url) if url else None
    fixed = loaded.config.runtime.shards or settings.shard_count
    planned = Planner(pipeline, state, queue, settings.shard_concurrency).plan(
        Deadline.from_context(context), memory_of(context), fixed
    )
    figures = planned.figures
    for warning in figures.warnings:
        logger.warning(warning)
    if planned.cycle is not None:
        selfmetrics.publish_shards(settings.metrics_namespace, planned=1)
        return _report(planned.cycle, loaded, jobs, runtime, {"shards": figures.to_dict()})
    return _report_plan(planned, loaded, jobs, runtime)


def _report_plan(
    planned: Planned, loaded: LoadedConfig, jobs: Sequence[str] | None, runtime: Runtime
) -> dict[str, object]:
    figures = planned.figures
    namespace = runtime.settings.metrics_namespace
    selfmetrics.publish_plan(planned.found, loaded, namespace)
    selfmetrics.publish_shards(
        namespace, planned=figures.planned, sent=figures.sent, failed=len(figures.unsent)
    )
    for shard, error in sorted(figures.unsent.items()):
        logger.error(f"shard {shard} not sent: {error}", extra={"shard": shard})
    _log_target_errors(planned.found.errors)
    summary = summarise_plan(planned, loaded, jobs, runtime.scrubber)
    logger.info("cycle planned", extra={"summary": summary, **_kernels(runtime)})
    return summary


def _shards(records: Sequence[Mapping[str, Any]], context: object, runtime: Runtime) -> dict[str, object]:
    """Run each record's shard; the records that failed, as the event source mapping reads them."""
    failures = []
    for record in records:
        shard_run = worker.run(record, context, runtime, int(time.time() * 1000))
        _report_shard(shard_run, runtime)
        if shard_run.status == "failed":
            failures.append({"itemIdentifier": shard_run.message_id})
    return {"batchItemFailures": failures}


def _report_shard(shard_run: worker.ShardRun, runtime: Runtime) -> None:
    namespace = runtime.settings.metrics_namespace
    selfmetrics.publish_shards(
        namespace, late=int(shard_run.status == "late"), failed=int(shard_run.status == "failed")
    )
    shown = runtime.scrubber.scrub_all(shard_run.to_dict())
    if shard_run.status == "late":
        logger.warning("shard message late for its cycle: dropped", extra={"shard": shown})
    elif shard_run.status == "failed":
        logger.error(f"shard failed: {shard_run.error}", extra={"shard": shown})
    for warning in shard_run.warnings:
        logger.warning(warning, extra={"shard": shown})
    if shard_run.cycle is not None and shard_run.loaded is not None and shard_run.message is not None:
        jobs = shard_run.message.jobs
        _report(shard_run.cycle, shard_run.loaded, jobs, runtime, {"shard": shard_run.to_dict()})


def _report(
    cycle: CycleResult,
    loaded: LoadedConfig,
    jobs: Sequence[str] | None,
    runtime: Runtime,
    extra: Mapping[str, object],
) -> dict[str, object]:
    """Publish, log and summarise a cycle run in this invocation."""
    summary = summarise(cycle, loaded, jobs, runtime.scrubber, extra)
    selfmetrics.publish(cycle, loaded, runtime.settings.metrics_namespace)
    for result in cycle.scrapes:
        if not result.up:
            logger.warning(
                f"scrape of {result.target.url} failed: {result.error}",
                extra={"job": result.target.job, "url": result.target.url, "error": result.error},
            )
    _log_target_errors(cycle.target_errors)
    for report in cycle.sinks:
        if report.lost:
            logger.error("samples lost", extra={"sink": report.to_dict()})
        elif not report.ok or report.faulty_drops:
            logger.warning("sink incomplete", extra={"sink": report.to_dict()})
    if cycle.staleness_record is not None and (
        cycle.staleness_record.errors or cycle.staleness_record.warnings
    ):
        logger.warning("staleness record", extra={"staleness_record": cycle.staleness_record.to_dict()})
    logged = {k: v for k, v in summary.items() if k not in _NOT_LOGGED}
    logger.info("cycle done", extra={"summary": logged, **_kernels(runtime)})
    return summary


def _kernels(runtime: Runtime) -> dict[str, object]:
    """``{"native": native.STATUS}`` for the summary line when a kernel's status is not yet
    logged (an execution environment's first invocation, or the first to import another kernel's
    caller), else nothing; a kernel newly ``unusable`` gets a warning of its own saying why."""
    news = native.changed(runtime.kernels_reported)
    if not news:
        return {}
    for name, status in news.items():
        if status.startswith(native.UNUSABLE):
            logger.warning(
                f"compiled kernel {name} {status}; its pure-Python path runs instead (docs/native.md)",
                extra={"kernel": name},
            )
    runtime.kernels_reported = dict(native.STATUS)
    return {"native": dict(native.STATUS)}


def _log_target_errors(errors: Sequence[TargetError]) -> None:
    for error in errors:
        logger.warning(
            "target not scraped", extra={"job": error.job, "target": error.target, "error": error.error}
        )
