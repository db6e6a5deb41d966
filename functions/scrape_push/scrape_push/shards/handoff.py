"""The targets a planner hands a shard, and how the shard's invocation builds them again.

Discovery and target relabeling run once, in the planner. What a shard needs of each target is
what relabeling decided: its job, URL, final labels, interval and timeout (``PlannedTarget``).
The worker takes everything else — authentication, TLS, limits, ``metric_relabel_configs``,
external labels — from the job as its own configuration has it: it builds one target per job
with ``targets.build_targets`` (from a bare copy of the job: one static address, no discovery,
no relabeling) and gives it each planned target's own fields. So a target is scraped by a shard
exactly as the planner would have scraped it, and a setting that cannot travel in a message (a
credential) never does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..config.model import Config, ScrapeConfig, StaticConfig
from ..model import Labels
from ..targets import Discoveries, Target, TargetError, TargetSet, build_targets

TEMPLATE_ADDRESS = "127.0.0.1:1"
"""The address of the bare job a worker builds its job settings from (never scraped)."""


@dataclass(frozen=True)
class PlannedTarget:
    """One target as planned: what relabeling decided, and the series recent cycles saw."""

    job: str
    url: str
    labels: Labels
    timeout: float
    interval: float
    series: int = 0
    """Series the target exposed lately (0: not known yet)."""

    @classmethod
    def of(cls, target: Target, series: int = 0) -> PlannedTarget:
        return cls(target.job, target.url, target.labels, target.timeout, target.interval, series)


def rebuild(config: Config, planned: Sequence[PlannedTarget], discoveries: Discoveries) -> TargetSet:
    """The planned targets with their jobs' settings from ``config``. A target whose job
    ``config`` lacks (it changed since the cycle was planned) is an error of its own."""
    jobs = {job.job_name: job for job in config.scrape_configs}
    needed = sorted({target.job for target in planned} & set(jobs))
    bare = replace(config, scrape_configs=tuple(_bare(jobs[name]) for name in needed))
    built = build_targets(bare, needed, discoveries)
    templates = {target.job: target for target in built.targets}
    problems = {error.job: error.error for error in built.errors}
    out = TargetSet()
    for target in planned:
        template = templates.get(target.job)
        if template is None:
            reason = problems.get(target.job) or (
                f"job {target.job!r} is not in the configuration any more (it changed after the "
                "cycle was planned)"
            )
            out.errors.append(TargetError(target.job, target.url, reason))
            continue
        out.targets.append(
            replace(
                template,
                url=target.url,
                labels=target.labels,
                timeout=target.timeout,
                interval=target.interval,
            )
        )
    return out


def _bare(job: ScrapeConfig) -> ScrapeConfig:
    """The job's settings with one static target, no discovery and no relabeling."""
    return replace(job, static_configs=(StaticConfig((TEMPLATE_ADDRESS,)),), discovery={}, relabel_configs=())
