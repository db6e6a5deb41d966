"""What a shard's delivery owes other shards' backlogs after the shard count changed: it drains
the removed shards it inherits, and queues behind a folder its targets left until that is empty."""

from __future__ import annotations

from dataclasses import dataclass, field

from scrape_push.backlog.config import BacklogConfig
from scrape_push.backlog.durable import NOTHING_OWED, OWED_GRACE_SECONDS, DurableDelivery, Owed
from scrape_push.backlog.lease import Lease
from scrape_push.backlog.spool import load
from scrape_push.backlog.store import BacklogStore
from scrape_push.deadline import Deadline
from scrape_push.sinks.base import SinkReport

from .fakes import MemoryS3, ScriptedSink, samples
from .test_durable import T0, FakeLeases


@dataclass
class NamedLeases(FakeLeases):
    """Grants leases, remembering whose; ``held`` are busy (another invocation has them)."""

    taken: list[str] = field(default_factory=list)
    held: set[str] = field(default_factory=set)

    def acquire(self, name: str, hold_seconds: float, deadline: Deadline) -> Lease | None:
        if name in self.held:
            return None
        self.taken.append(name)
        return super().acquire(name, hold_seconds, deadline)


@dataclass
class Shards:
    kind: ScriptedSink = field(default_factory=ScriptedSink)
    s3: MemoryS3 = field(default_factory=MemoryS3)
    leases: NamedLeases = field(default_factory=NamedLeases)
    now: float = T0

    def store(self, shard: int) -> BacklogStore:
        return BacklogStore("bucket", f"sink-s{shard}", lambda _: self.s3)

    def cycle(self, shard: int, *names: str, owed: Owed = NOTHING_OWED) -> SinkReport:
        at = self.now
        delivery = DurableDelivery(
            self.kind,
            self.store(shard),
            self.leases,
            BacklogConfig(),
            int(at * 1000),
            clock=lambda: at,  # type: ignore[arg-type]
            owed=owed,
        )
        deadline = Deadline.after(60)
        delivery.open(deadline)
        try:
            return delivery.push(samples(*names), deadline)
        finally:
            delivery.close()
            self.now += 1.0

    def waiting(self, shard: int) -> list[str]:
        return [load(self.s3.objects[k]).reason for k in self.s3.keys(f"backlog/sink-s{shard}/")]


def outage(shards: Shards, *cycles: tuple[int, str]) -> None:
    shards.kind.down = True
    for shard, name in cycles:
        shards.cycle(shard, name)
    shards.kind.down = False


def test_a_removed_shard_s_backlog_is_drained_under_its_lease_before_the_inheritor_sends() -> None:
    shards = Shards()
    outage(shards, (3, "old-3"), (0, "old-0"))
    changed_ms = int(shards.now * 1000)
    report = shards.cycle(0, "new-0", owed=Owed(inherits=((shards.store(3), changed_ms),)))
    assert shards.kind.delivered == [b"old-3", b"old-0", b"new-0"]
    assert shards.leases.taken[-2:] == ["sink-s0", "sink-s3"]  # its own, then the removed shard's
    assert report.backlog is not None and report.backlog.replayed == 2 and report.ok
    assert shards.waiting(3) == [] and shards.waiting(0) == []


def test_an_inherited_backlog_still_waiting_counts_in_the_figures_and_its_lease_is_respected() -> None:
    shards = Shards()
    outage(shards, (3, "old-3"))
    shards.leases.held = {"sink-s3"}  # a straggler of the old count is still running it
    report = shards.cycle(0, "new-0", owed=Owed(inherits=((shards.store(3), int(shards.now * 1000)),)))
    assert shards.kind.delivered == [b"new-0"]
    assert report.backlog is not None and report.backlog.objects == 0  # not listed: not ours yet
    shards.leases.held = set()
    shards.kind.down = True
    report = shards.cycle(0, "next-0", owed=Owed(inherits=((shards.store(3), int(shards.now * 1000)),)))
    assert report.backlog is not None and report.backlog.objects == 2  # ours and the inherited one
    assert any(e.startswith("inherited backlog sink-s3: backlog replay") for e in report.errors)


def test_a_shard_whose_targets_left_an_older_backlog_queues_behind_it_until_it_is_drained() -> None:
    shards = Shards()
    outage(shards, (0, "moved-0"), (2, "mine-2"))
    changed_ms = int(shards.now * 1000)
    waits = Owed(waits_for=((shards.store(0), changed_ms),))
    behind = shards.cycle(2, "new-2", owed=waits)  # shard 0's folder holds older data of its targets
    assert shards.kind.delivered == []  # neither replayed nor sent: nothing overtakes moved-0
    assert shards.waiting(2) == ["failed", "behind_shard"]
    assert behind.spilled == 1 and "waiting for backlog sink-s0" in behind.warnings[0]
    shards.cycle(0, "stay-0")  # shard 0 drains its own folder
    shards.cycle(2, "next-2", owed=waits)
    assert shards.kind.delivered == [b"moved-0", b"stay-0", b"mine-2", b"new-2", b"next-2"]


def test_items_a_folder_got_after_the_targets_left_hold_no_one_back() -> None:
    shards = Shards()
    changed_ms = int(shards.now * 1000)
    shards.now += 5
    outage(shards, (0, "later-0"))  # only the shard's own targets, scraped after the change
    shards.cycle(2, "new-2", owed=Owed(waits_for=((shards.store(0), changed_ms),)))
    assert shards.kind.delivered == [b"new-2"]


def test_nothing_is_owed_once_the_sink_s_age_bound_has_passed_since_the_change() -> None:
    shards = Shards()
    outage(shards, (0, "ancient-0"))
    changed_ms = int(shards.now * 1000)
    shards.now += shards.kind.default_max_age + OWED_GRACE_SECONDS + 1
    shards.cycle(2, "new-2", owed=Owed(waits_for=((shards.store(0), changed_ms),)))
    assert shards.kind.delivered == [b"new-2"]
