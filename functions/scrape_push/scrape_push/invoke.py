"""What one Lambda invocation does: load the config, select jobs, run a cycle, summarise."""

from __future__ import annotations

from collections.abc import Mapping

from aws_lambda_powertools import Logger

from . import selfmetrics
from .budget import memory_of
from .config.errors import ConfigLoadError
from .config.model import Config
from .deadline import Deadline
from .runtime import RUNTIME, Runtime
from .settings import CONFIG_PARAMETER_ENV
from .summary import summarise

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
    """Run one cycle. Configuration and event errors raise: the invocation fails and pushes nothing.
    Every AWS call made meanwhile ends before the invocation's deadline."""
    runtime.start_invocation()
    with runtime.aws.calls_within(Deadline.from_context(context)):
        return _handle(event, context, runtime)


def _handle(event: object, context: object, runtime: Runtime) -> dict[str, object]:
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
    deadline = Deadline.from_context(context)
    cycle = runtime.pipeline(loaded, jobs).run(deadline, memory_mb=memory_of(context))
    summary = summarise(cycle, loaded, jobs, runtime.scrubber)
    selfmetrics.publish(cycle, loaded, runtime.settings.metrics_namespace)
    for result in cycle.scrapes:
        if not result.up:
            logger.warning(
                f"scrape of {result.target.url} failed: {result.error}",
                extra={"job": result.target.job, "url": result.target.url, "error": result.error},
            )
    for error in cycle.target_errors:
        logger.warning(
            "target not scraped", extra={"job": error.job, "target": error.target, "error": error.error}
        )
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
    logger.info("cycle done", extra={"summary": logged})
    return summary
