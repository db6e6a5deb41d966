"""The planner: the scheduled invocation builds the cycle's targets once and splits them.

1. Build the targets (static and discovered, relabeled), with the pipeline's warm discoverers.
2. Count the fleet: per target the series recent cycles saw (``state``), the mean of those for
   targets not counted yet (``sizing.DEFAULT_SERIES_PER_TARGET`` when none is); and what one
   invocation carries (``sizing.Capacity``) in this function's memory over the cycle's window —
   from now to the earlier of this invocation's deadline and the shortest scrape interval, which
   is also every shard's deadline.
3. Choose the count: ``runtime.shards`` if set, else the function's ``SHARD_COUNT`` if set, else
   ``sizing.decide``. Without a queue (``SHARD_QUEUE_URL``) it is 1, with a warning when more
   were wanted. A count that changed is remembered as an era (``lineage``).
4. One shard: run the cycle here, as shard 0. More: assign every target (``assign``) and send
   each shard its message (``message``, ``queue``), with the targets its last cycle scraped
   (its series counts) that left the fleet (``departures``); a message past SQS's size limit is
   not sent and its shard is reported unsent, with the fix.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from ..backlog.config import MAX_AGE_LIMIT_SECONDS
from ..budget import DEFAULT_MEMORY_MB
from ..deadline import Deadline
from ..pipeline import CycleResult, Pipeline
from ..statetable import WriteBatch
from ..targets import TargetSet
from .assign import assign, target_key
from .departures import Departures, departures_of
from .handoff import PlannedTarget
from .lineage import Eras, changed, forget_older, lineage
from .message import MAX_MESSAGE_BYTES, ShardMessage, encode
from .queue import ShardQueue
from .sizing import DEFAULT_SERIES_PER_TARGET, SHRINK_FILL, Capacity, Decision, decide
from .state import PLAN_REFRESH_MS, PlanState, SeriesCounts, ShardState, StateError, seen_series, write_seen

STATE_SECONDS = 6.0
"""The most the planner spends on one read or write of the plan and the series counts."""
ERA_HORIZON_MS = int((MAX_AGE_LIMIT_SECONDS + 86400) * 1000)
"""A count that stopped being used longer ago than this is owed nothing: every sink's backlog
discards data older than two weeks, and the bucket's lifecycle rule removes it a day later."""


@dataclass
class ShardFigures:
    """What the planner decided and did (the summary's ``shards``; self-metrics)."""

    planned: int
    mode: str
    """``fixed`` (``runtime.shards`` or ``ShardCount``) or ``automatic``."""
    series: int = 0
    """The fleet's series, as recent cycles counted them (estimated for targets not counted)."""
    capacity: int = 0
    """Series one invocation carries (``sizing.Capacity``)."""
    targets: list[int] = field(default_factory=list)
    """Targets per shard."""
    sent: int = 0
    unsent: dict[int, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "planned": self.planned,
            "sent": self.sent,
            "mode": self.mode,
            "series": self.series,
            "capacity": self.capacity,
            "targets": self.targets,
            "unsent": [{"shard": shard, "error": error} for shard, error in sorted(self.unsent.items())],
            "warnings": self.warnings,
        }


@dataclass
class Planned:
    """A planned cycle: its targets, the figures, and the cycle itself when it ran here."""

    found: TargetSet
    figures: ShardFigures
    cycle: CycleResult | None = None


@dataclass(frozen=True)
class Fleet:
    """The cycle's targets, their keys and series, and where each goes."""

    found: TargetSet
    keys: list[int]
    series: list[int]
    counted: dict[int, int]
    """The series counts read from the state table, by target key."""

    @classmethod
    def count(cls, found: TargetSet, counted: dict[int, int]) -> Fleet:
        keys = [target_key(target) for target in found.targets]
        known = [counted[key] for key in keys if key in counted]
        guess = math.ceil(sum(known) / len(known)) if known else DEFAULT_SERIES_PER_TARGET
        return cls(found, keys, [counted.get(key, guess) for key in keys], counted)

    def interval(self, default: float) -> float:
        """The shortest scrape interval of the targets: every shard must be done by then."""
        return min((target.interval for target in self.found.targets), default=default)


class Planner:
    """Plans the cycles of one pipeline (its configuration and job selection)."""

    def __init__(
        self,
        pipeline: Pipeline,
        state: ShardState | None,
        queue: ShardQueue | None,
        concurrency: int | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.state = state
        self.queue = queue
        self.concurrency = concurrency
        """The event source mapping's maximum concurrency (``ShardMaxConcurrency``), if known."""

    def plan(self, deadline: Deadline, memory_mb: int | None, fixed: int) -> Planned:
        """Plan this cycle (``fixed`` shards, or automatic when 0) and run it here or send it to
        the shards (the module docstring)."""
        now_ms = int(time.time() * 1000)
        warnings: list[str] = []
        previous, counts = self._load(deadline, warnings)
        counted = counts.merged
        fleet = Fleet.count(self.pipeline.targets(), counted)
        window = min(deadline.remaining(), fleet.interval(self.pipeline.config.global_.interval))
        capacity = Capacity.of(memory_mb or DEFAULT_MEMORY_MB, window)
        decision = Decision(fixed) if fixed else _decide(previous, fleet, capacity, now_ms)
        shards = decision.shards
        if shards > 1 and self.queue is None:
            warnings.append(
                f"the cycle wants {shards} shards but the function has no shard queue "
                "(SHARD_QUEUE_URL): it runs in one invocation"
            )
            shards = 1
        if shards > 1 and self.concurrency and shards > self.concurrency:
            warnings.append(
                f"{shards} shards but at most {self.concurrency} shard invocations at once "
                "(ShardMaxConcurrency): the rest wait in the queue and may come too late for "
                "their cycle; raise ShardMaxConcurrency to at least the shard count"
            )
        eras = self._remember(previous, Decision(shards, decision.low_since_ms), now_ms, deadline, warnings)
        placed: list[list[int]] = [[] for _ in range(shards)]
        for index, shard in enumerate(assign(fleet.keys, shards)):
            placed[shard].append(index)
        figures = ShardFigures(shards, "fixed" if fixed else "automatic", sum(fleet.series), capacity.series)
        figures.targets = [len(indexes) for indexes in placed]
        figures.warnings = warnings
        last = {
            s: keys for s, keys in counts.by_shard.items() if previous is not None and s < previous.shards
        }
        if shards == 1:
            owed = lineage(0, fleet.keys, 1, eras)
            (gone,) = departures_of(last, fleet.keys, 1)
            joined = WriteBatch() if self.state is not None else None  # the record joins the counts
            cycle = self.pipeline.run(
                deadline,
                memory_mb,
                found=fleet.found,
                cycle_ms=now_ms,
                lineage=owed,
                departures=gone,
                joined=joined,
            )
            seen = seen_series(cycle.scrapes, counted)
            unsaved = write_seen(self.state, 0, seen, now_ms, deadline, joined)
            warnings.extend([unsaved] if unsaved else [])
            return Planned(fleet.found, figures, cycle)
        assert self.queue is not None  # shards > 1 only with a queue
        self.pipeline.hand_off()
        planned = _Cycle(
            now_ms, now_ms + int(window * 1000), shards, eras, departures_of(last, fleet.keys, shards)
        )
        made = (self._body(shard, mine, planned, fleet, figures) for shard, mine in enumerate(placed))
        bodies = [body for body in made if body is not None]
        figures.unsent.update(self.queue.send(bodies, deadline))
        figures.sent = sum(1 for shard, _ in bodies if shard not in figures.unsent)
        return Planned(fleet.found, figures)

    def _load(self, deadline: Deadline, warnings: list[str]) -> tuple[PlanState | None, SeriesCounts]:
        """The stored plan (``None`` when it could not be read) and the series counts."""
        if self.state is None:
            return PlanState(), SeriesCounts()
        try:
            previous = self.state.load_plan(deadline.within(STATE_SECONDS)) or PlanState()
            return previous, self.state.load_series(previous.high(), deadline.within(STATE_SECONDS))
        except StateError as exc:
            warnings.append(f"shard plan not read ({exc}); the count is chosen as if for the first time")
            return None, SeriesCounts()

    def _remember(
        self,
        previous: PlanState | None,
        decision: Decision,
        now_ms: int,
        deadline: Deadline,
        warnings: list[str],
    ) -> Eras:
        """The eras this cycle owes, the count chosen now written down when it changed."""
        if previous is None:
            return ()
        eras = forget_older(previous.eras, now_ms - ERA_HORIZON_MS)
        if decision.shards != previous.shards:
            eras = changed(eras, previous.shards, now_ms)
        chosen = PlanState(decision.shards, decision.low_since_ms, eras, previous.written_ms)
        stale = now_ms - previous.written_ms > PLAN_REFRESH_MS
        if self.state is not None and (stale or not chosen.same_as(previous)):
            try:
                self.state.save_plan(chosen, deadline.within(STATE_SECONDS))
            except StateError as exc:
                warnings.append(f"shard plan not written: {exc}")
        return eras

    def _body(
        self, shard: int, mine: list[int], cycle: _Cycle, fleet: Fleet, figures: ShardFigures
    ) -> tuple[int, str] | None:
        """Shard ``shard``'s message body, with the targets at indexes ``mine`` (``None``, noted
        as unsent, when it is too large)."""
        pipeline = self.pipeline
        message = ShardMessage(
            cycle_ms=cycle.cycle_ms,
            deadline_ms=cycle.deadline_ms,
            digest=pipeline.loaded.digest,
            jobs=None if pipeline.jobs is None else tuple(pipeline.jobs),
            shard=shard,
            shards=cycle.shards,
            targets=tuple(PlannedTarget.of(fleet.found.targets[i], fleet.series[i]) for i in mine),
            lineage=lineage(shard, [fleet.keys[i] for i in mine], cycle.shards, cycle.eras),
            left=cycle.departures[shard].left,
            adopt=cycle.departures[shard].adopt,
        )
        body = encode(message)
        if len(body) > MAX_MESSAGE_BYTES:
            figures.unsent[shard] = (
                f"{message.name}: its message ({len(body):,} bytes for {len(mine)} targets) is over "
                f"SQS's {MAX_MESSAGE_BYTES:,}; raise runtime.shards, or set it to 0 (automatic)"
            )
            return None
        return shard, body


@dataclass(frozen=True)
class _Cycle:
    cycle_ms: int
    deadline_ms: int
    shards: int
    eras: Eras
    departures: list[Departures]
    """Per shard, the targets that left the fleet from its last cycle and the removed shards'
    it adopts."""


def _decide(previous: PlanState | None, fleet: Fleet, capacity: Capacity, now_ms: int) -> Decision:
    """The automatic count (``sizing.decide``) after ``previous`` (unknown: as if one)."""
    known = previous or PlanState()
    series, targets = sum(fleet.series), len(fleet.keys)
    needs = capacity.needed(series, targets)
    fits = capacity.needed(series, targets, SHRINK_FILL)
    return decide(known.shards, known.low_since_ms, needs, fits, now_ms)
