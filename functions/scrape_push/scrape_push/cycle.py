"""One cycle: scrape the selected targets, then hand the samples to every sink independently."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .budget import MemoryBudget
from .config.model import Config
from .deadline import SEND_RESERVE, Deadline
from .delivery import Delivery
from .model import Sample
from .scrape import Scraper, ScrapeResult
from .sinks import Sink, SinkReport, build_deliveries, build_sinks, job_group
from .targets import TargetError, build_targets

if TYPE_CHECKING:
    from .backlog.config import BacklogConfig


@dataclass
class _Warm:
    """What a warm process keeps for one configuration and job selection: the scraper (its
    sessions, series caches and the refs they give out) and the sinks that keep per-series
    state by those refs, so both live and go together."""

    config: Config
    group: str
    scraper: Scraper
    built: list[tuple[Sink, BacklogConfig]] | None = None

    def sinks(self) -> list[tuple[Sink, BacklogConfig]]:
        """The configured sinks, built on first use."""
        if self.built is None:
            self.built = build_sinks(self.config)
        return self.built

    def close(self) -> None:
        self.scraper.close()
        for sink, _ in self.built or ():
            sink.close()


_warm: list[_Warm] = []
"""At most one: the last configuration and job selection run."""


def warm_for(config: Config, jobs: Sequence[str] | None) -> _Warm:
    """The warm scraper and sinks of ``config`` and ``jobs``; another pair replaces them."""
    group = job_group(jobs)
    if _warm and _warm[0].config is config and _warm[0].group == group:
        return _warm[0]
    reset()
    found = _Warm(config, group, Scraper(config.runtime.max_concurrent_scrapes))
    _warm.append(found)
    return found


def reset() -> None:
    """Close and forget the warm scraper and sinks (tests)."""
    while _warm:
        _warm.pop().close()


@dataclass
class CycleResult:
    """What one cycle did: per-target scrape results and per-sink reports."""

    scrapes: list[ScrapeResult] = field(default_factory=list)
    sinks: list[SinkReport] = field(default_factory=list)
    duration: float = 0.0
    target_errors: list[TargetError] = field(default_factory=list)
    """Targets that could not be built (discovery failed, relabeling left them invalid)."""
    targets_dropped: int = 0
    """Targets ``relabel_configs`` dropped."""

    @property
    def samples(self) -> int:
        return sum(len(r.samples) for r in self.scrapes)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a cycle allocates its samples.

    A cycle creates hundreds of thousands of small acyclic objects; with the collector on,
    CPython keeps re-scanning the growing heap (about half the CPU of a 100k-sample cycle in
    bench/bench_cloudwatch.py). Reference counting still frees everything as usual; the
    collector resumes afterwards for whatever cycles were made.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def run_cycle(
    config: Config,
    jobs: Sequence[str] | None,
    deadline: Deadline,
    deliveries: Sequence[Delivery] | None = None,
    memory_mb: int | None = None,
) -> CycleResult:
    """Scrape every target of ``jobs`` (all jobs when ``None``) and push to every sink, within
    the memory of a function of ``memory_mb`` (``budget.DEFAULT_MEMORY_MB`` when ``None``)."""
    start = time.monotonic()
    cycle_ms = int(time.time() * 1000)
    with gc_paused():
        warm = warm_for(config, jobs)
        chosen = (
            deliveries if deliveries is not None else build_deliveries(config, jobs, cycle_ms, warm.sinks())
        )
        for delivery in chosen:
            delivery.open(deadline)  # leases and backlog replay run while the targets are scraped
        try:
            found = build_targets(config, jobs)
            concurrency = config.runtime.max_concurrent_scrapes
            budget = MemoryBudget.plan(memory_mb, concurrency, len(found.targets))
            scrapes = warm.scraper.scrape_all(found.targets, deadline.reserve(SEND_RESERVE), budget)
            samples = [s for result in scrapes for s in result.samples]
            reports = push_all(chosen, samples, deadline)
            gone = warm.scraper.forgotten()
            for delivery in chosen:
                delivery.sink.forget(gone)
        finally:
            for delivery in chosen:
                delivery.close()
    return CycleResult(scrapes, reports, time.monotonic() - start, found.errors, found.dropped)


def push_all(
    deliveries: Sequence[Delivery], samples: Sequence[Sample], deadline: Deadline
) -> list[SinkReport]:
    """Push to each sink concurrently, so a slow or broken sink never holds up another."""
    if not deliveries:
        return []

    def push(delivery: Delivery) -> SinkReport:
        try:
            return delivery.push(samples, deadline)
        except Exception as exc:  # a bug in one sink must not sink the others
            report = SinkReport(delivery.name, delivery.kind, offered=len(samples), failed=len(samples))
            report.error(f"internal error: {type(exc).__name__}: {str(exc)[:200]}")
            return report

    with ThreadPoolExecutor(max_workers=len(deliveries), thread_name_prefix="sink") as pool:
        return list(pool.map(push, deliveries))
