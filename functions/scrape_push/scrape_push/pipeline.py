"""A pipeline: one configuration, job selection and shard's scraper, sinks and discoveries, and its cycles.

A ``Pipeline`` is built by the runtime (``runtime.Runtime.pipeline``) for one validated
configuration, one job selection and one shard (``shards/``; 0 when the cycle is not split),
and kept across warm invocations until any of them changes.
It owns what makes a warm cycle cheap: the scraper (pooled connections, per-target series
caches), every sink (sessions, translators, per-series encodings) and the discoverers (their
clients and caches). ``run`` is one cycle: scrape the selected targets, then hand the samples to
every sink independently, each in its delivery for that cycle (direct, or durable with a
backlog).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from operator import attrgetter

from .budget import MemoryBudget
from .config.model import Config
from .config.source import LoadedConfig
from .deadline import SEND_RESERVE, Deadline
from .delivery import Delivery
from .model import Sample
from .plugins import BuildContext
from .scrape import EndedTarget, Scraper, ScrapeResult
from .scrape.record import Adoption, RecordReport, StalenessRecord, record_key
from .shards.departures import Departures
from .shards.lineage import NONE as NO_LINEAGE
from .shards.lineage import Lineage
from .sinks import Folders, SinkReport, build_sinks, job_group, wrap_deliveries
from .statetable import Items, WriteBatch
from .targets import Discoveries, DroppedTarget, TargetError, TargetSet, build_targets


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
    dropped_targets: list[DroppedTarget] = field(default_factory=list)
    """Those listed, up to each job's ``keep_dropped_targets``."""
    ended: list[EndedTarget] = field(default_factory=list)
    """Targets that left since the last cycle, with their staleness markers."""
    staleness_record: RecordReport | None = None
    """What the staleness record did (``None``: not kept)."""

    @property
    def samples(self) -> int:
        return sum(len(r.samples) for r in self.scrapes) + sum(len(e.samples) for e in self.ended)

    @property
    def stale_markers(self) -> int:
        return sum(r.stale for r in self.scrapes) + sum(len(e.samples) for e in self.ended)


FREEZE_MIN_SURVIVORS = 10_000
"""Objects left tracked by an invocation from which on they are taken to be a new warm state
(series caches, encodings: a pipeline's first cycle leaves about eight per series) and frozen
(``gc_paused`` with a gate). A warm invocation leaves a few dozen."""


class FreezeGate:
    """Whether a warm state is frozen (``gc_paused``). The runtime owns one and opens it again
    when its pipeline closes (``Pipeline.close`` gives the state back to the collector). A flag,
    not ``gc.get_freeze_count()``: that walks every frozen object, and what the imports made is
    frozen already (``app.py``)."""

    def __init__(self) -> None:
        self.frozen = False


@contextmanager
def gc_paused(gate: FreezeGate | None = None) -> Iterator[None]:
    """Pause the cyclic garbage collector while a cycle allocates its samples.

    A cycle creates hundreds of thousands of small acyclic objects; with the collector on,
    CPython keeps re-scanning the growing heap (about half the CPU of a 100k-sample cycle in
    bench/bench_cloudwatch.py). Reference counting still frees everything as usual; the
    collector resumes afterwards for whatever cycles were made.

    With a ``gate`` (the invocation's policy, ``invoke.handle``, whose end is also the cycle's:
    its samples are freed by then), what the invocation kept is, when it is a new warm state (at
    least ``FREEZE_MIN_SURVIVORS`` objects, as a pipeline's first cycle leaves) and the gate is
    open, moved out of the collector's reach (``gc.freeze()``) instead of being scanned now and
    again by every later full collection (docs/performance.md, "Garbage collection").
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if gate is not None and not gate.frozen and gc.get_count()[0] >= FREEZE_MIN_SURVIVORS:
                gc.freeze()
                gate.frozen = True
            gc.enable()


class Pipeline:
    """The warm state of one configuration and job selection, and its cycles."""

    def __init__(
        self,
        loaded: LoadedConfig,
        jobs: Sequence[str] | None,
        context: BuildContext,
        shard: int = 0,
        *,
        sharded: bool = False,
    ) -> None:
        self.loaded = loaded
        self.config = config = loaded.config
        self.jobs = jobs
        self.shard = shard
        """The shard whose leases and backlogs this pipeline's deliveries use (0 unsharded)."""
        self.sharded = sharded
        """Run for one shard of a planned cycle: a target that leaves it may only have moved to
        another shard, so its leaving ends its series only if it left the fleet
        (``shards.departures``, docs/staleness.md)."""
        self.context = context
        self.scraper = Scraper(
            config.runtime.max_concurrent_scrapes,
            context.secrets,
            record=staleness_record(config, jobs, context, shard),
        )
        self.sinks = build_sinks(config, context)
        self.discoveries = Discoveries(context)

    def targets(self) -> TargetSet:
        """The cycle's targets: static and discovered, relabeled (discoveries kept warm)."""
        return build_targets(self.config, self.jobs, self.discoveries)

    def run(
        self,
        deadline: Deadline,
        memory_mb: int | None = None,
        *,
        found: TargetSet | None = None,
        cycle_ms: int | None = None,
        lineage: Lineage = NO_LINEAGE,
        deliveries: Sequence[Delivery] | None = None,
        departures: Departures | None = None,
        joined: WriteBatch | None = None,
    ) -> CycleResult:
        """One cycle: scrape every selected target (``found``, else built now) and push to every
        sink, within the memory of a function of ``memory_mb`` (``budget.DEFAULT_MEMORY_MB``
        when ``None``). ``cycle_ms`` is the cycle's scrape time (now when ``None``: a sharded
        cycle's is the planner's), ``lineage`` what this shard owes other shards' backlogs and
        ``departures`` which targets that left this shard left the fleet (sharded: the others
        moved, and end nothing; ``None``, none did) and which removed shards' it adopts.
        ``joined`` is the write the caller makes after the cycle (its series counts): the
        staleness record's write joins it instead of making a request of its own."""
        start = time.monotonic()
        cycle_ms = int(time.time() * 1000) if cycle_ms is None else cycle_ms
        config = self.config
        with gc_paused():
            chosen = deliveries if deliveries is not None else self.deliveries(cycle_ms, lineage)
            for delivery in chosen:
                delivery.open(deadline)  # leases and backlog replay run while the targets are scraped
            try:
                found = self.targets() if found is None else found
                budget = MemoryBudget.plan(
                    memory_mb, config.runtime.max_concurrent_scrapes, len(found.targets)
                )
                scrapes = self.scraper.scrape_all(
                    found.targets,
                    deadline.reserve(SEND_RESERVE),
                    budget,
                    refused=found.failed,
                    adoption=self._adoption(departures, cycle_ms),
                )
                ended = self.scraper.take_ended()
                if self.sharded:
                    ended = [gone for gone in ended if departures is not None and departures.ended(gone)]
                reports = push_all(chosen, samples_of(scrapes, ended), deadline)  # held by the push alone
                record = self.scraper.keep_record(deadline, joined, eager=self.sharded)
                self.forget_gone()
            finally:
                for delivery in chosen:
                    delivery.close()
        duration = time.monotonic() - start
        return CycleResult(
            scrapes, reports, duration, found.errors, found.dropped, found.dropped_targets, ended, record
        )

    def _adoption(self, departures: Departures | None, at_ms: int) -> Adoption | None:
        """The records of the removed shards this pipeline adopts (``shards.departures``), in
        the cycle after the count went down, whose listed targets end at ``at_ms``: read with
        its own record, in one request."""
        if departures is None or not departures.adopt:
            return None
        group = job_group(self.jobs)
        keys = [record_key(group, str(shard)) for shard in departures.adopt]
        return Adoption(keys, departures.listed, at_ms)

    def deliveries(self, cycle_ms: int, lineage: Lineage = NO_LINEAGE) -> list[Delivery]:
        """This cycle's delivery of each sink (its backlog items are ordered by ``cycle_ms``)."""
        return wrap_deliveries(self.sinks, self.context, Folders(self.jobs, self.shard, lineage), cycle_ms)

    def hand_off(self) -> None:
        """This cycle runs in shards: forget what this pipeline scraped (``Scraper.forget_all``),
        so that a cycle it runs again (the fleet back in one invocation) starts from the record
        shard 0 keeps."""
        self.scraper.forget_all()
        self.forget_gone()

    def forget_gone(self) -> None:
        """Drop from every sink's per-series state the series the scrape stage let go."""
        gone = self.scraper.forgotten()
        if gone:
            for sink, _ in self.sinks:
                sink.forget(gone)

    def close(self) -> None:
        """Release the pooled connections of the scraper and the sinks, and hand the frozen warm
        state (``gc_paused``) back to the collector, for what this pipeline kept to be freed."""
        self.scraper.close()
        for sink, _ in self.sinks:
            sink.close()
        gc.unfreeze()


def staleness_record(
    config: Config, jobs: Sequence[str] | None, context: BuildContext, shard: int = 0
) -> StalenessRecord | None:
    """The job group's (and ``shard``'s) staleness record in the state table, unless there is
    no table or ``runtime.staleness_record`` is false. Shard 0 keeps the record of a cycle that
    is not split, as it keeps its backlog folders: when a fleet grows out of one invocation,
    shard 0 reads what the last unsplit cycle tracked, so the targets removed in that very
    cycle still end."""
    table = context.settings.state_table
    if not table or not config.runtime.staleness_record:
        return None
    key = record_key(job_group(jobs), str(shard) if shard else None)
    return StalenessRecord(Items(context.aws.bounded("dynamodb"), table), key)


_SAMPLES = attrgetter("samples")


def samples_of(scrapes: Sequence[ScrapeResult], ended: Sequence[EndedTarget]) -> list[Sample]:
    """A cycle's samples, in one list: the targets' then the markers of those that left."""
    return list(chain.from_iterable(map(_SAMPLES, chain(scrapes, ended))))


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
