"""Durable, ordered delivery: a sink that keeps what it cannot deliver and replays it in order.

Per cycle and sink (and job group):

1. ``open`` (at the start of the cycle, while targets are scraped): take the sink's lease; if
   held, discard what is past the backlog's bounds (counted as lost, with the reason), then
   replay the backlog oldest first within ``backlog.replay_time``, stopping at the first
   request that fails (the destination is still down) and before any item scraped after this
   cycle (an overlapping invocation's, queued while this one held the lease).
2. ``push``: translate the samples into requests. If nothing older is waiting, send them, then
   replay what newer items wait; what fails or is not reached before the send deadline joins the
   backlog (in scrape order, so before those newer items). If older items still wait, or another
   invocation holds the lease, or the lease table or the backlog could not be read, the requests
   join the backlog without being sent, so they can never overtake older data (if S3 refuses that
   write too, they are sent: late beats lost).
3. ``close``: release the lease.

A sharded cycle (``shards/``) has a folder and lease per shard. After the shard count changed, a
delivery also settles what its shard owes (``Owed``, from ``shards.lineage``): it first drains
the folders of removed shards it inherits (each under that shard's lease), then, while a folder
its targets moved from still holds items scraped before they moved, it neither replays nor
sends: its batches queue behind (``behind_shard``), so no series overtakes its older data.

Requests the destination refuses for good (HTTP 4xx but 429, an invalid PutMetricData) are
never replayed: they are counted as rejected and kept under ``rejected/`` for inspection.
Sends stop ``deadline.SPILL_RESERVE`` before the invocation's deadline, leaving time to write
what is pending to S3; every S3 and DynamoDB call is bounded by the deadline it serves.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from ..deadline import SAFETY_MARGIN_SECONDS, SPILL_RESERVE, Deadline
from ..delivery import account, count_attempt, describe, samples_in
from ..model import Sample
from ..sinks.base import Request, Result, Sink, SinkReport
from .config import BacklogConfig
from .lease import Lease, LeaseError, Leases
from .report import BacklogReport
from .spool import Entry, Item, SpoolError, entries_of
from .store import BACKLOG_PREFIX, BacklogStore, Listed, StoreError

MIN_REPLAY_SECONDS = 1.0
"""An item is not started with less replay time than this left."""
OWED_GRACE_SECONDS = 3600.0
"""Another shard's folder is owed for this long past the sink's ``max_age`` after the count
changed: by then whoever drained it has discarded (and counted) what was past the bound."""


@dataclass(frozen=True)
class Owed:
    """Other shards' folders a delivery owes after the shard count changed (``shards.lineage``)."""

    waits_for: tuple[tuple[BacklogStore, int], ...] = ()
    """(folder, ms): send nothing ahead of its items scraped before then."""
    inherits: tuple[tuple[BacklogStore, int], ...] = ()
    """(folder of a removed shard, removed at ms): drain it."""


NOTHING_OWED = Owed()


class DurableDelivery:
    """A sink's delivery with a durable backlog in S3 and a lease against overlapping invocations."""

    def __init__(  # noqa: PLR0917 (the collaborators, each once)
        self,
        sink: Sink,
        store: BacklogStore,
        leases: Leases | None,
        config: BacklogConfig,
        cycle_ms: int,
        clock: Callable[[], float] = time.time,
        scrub: Callable[[str], str] = str,
        owed: Owed = NOTHING_OWED,
    ) -> None:
        self.sink = sink
        self.config = config
        self.name = sink.name
        self.kind = sink.kind
        self.store = store
        self.leases = leases
        self.max_age = config.max_age or sink.default_max_age
        self.max_size = config.max_size
        self.replay_time = config.replay_time
        self.cycle_ms = cycle_ms
        self.clock = clock
        self.scrub = scrub
        """Applied to a destination's error before it is stored with an item (it may echo a
        credential back): the runtime's scrubber."""
        self.owed = owed
        self.report = SinkReport(sink.name, sink.kind)
        self.state = self.report.backlog = BacklogReport()
        self._lease: Lease | None = None
        self._thread: threading.Thread | None = None
        self._waiting: list[Listed] | None = None
        """Items still waiting after the replay; ``None`` when the backlog could not be read."""
        self._down = False
        """The destination failed during the replay: do not try it again this cycle."""
        self._behind: str | None = None
        """The folder of another shard this one waits behind (``Owed.waits_for``), if any."""
        self._owed_waiting: list[Listed] = []
        """Items still waiting in inherited folders after draining them."""
        self._head_failure_ms: int | None = None
        self._send_deadline: Deadline | None = None
        self._deadline: Deadline | None = None
        """The invocation's deadline (given to ``open``): the lease is released before it."""

    # -- cycle -------------------------------------------------------------------------------

    def open(self, deadline: Deadline) -> None:
        self._deadline = deadline
        self._sends_until(deadline)
        self._thread = threading.Thread(
            target=self._begin, args=(deadline,), name=f"backlog-{self.kind}", daemon=True
        )
        self._thread.start()

    def push(self, samples: Sequence[Sample], deadline: Deadline) -> SinkReport:
        report = self.report
        report.offered = len(samples)
        self._deadline = self._deadline or deadline
        sends = self._sends_until(deadline)
        requests = self.sink.prepare(samples, report).resolve(sends, report)
        if self._thread is None:
            self._begin(deadline)
        else:
            self._thread.join()
        durable = [r for r in requests if r.durable]
        side = [r for r in requests if not r.durable]
        if self.state.lease == "busy":
            report.warn(
                "another invocation is sending to this sink; this cycle's batches were queued "
                "behind it in the backlog"
            )
            self._spill(durable, "lease_busy", self._head_failure_ms, deadline)
            self._observe(deadline)
        elif self._waiting is None:
            # The lease table or the backlog could not be read: older data may be waiting, so
            # this cycle's requests join the backlog rather than risk overtaking it; only if S3
            # refuses them too (given half the time to the send deadline, so sends still have
            # the rest) are they sent directly (late beats lost).
            first = sends.within(sends.remaining() / 2)
            if not self._spill(durable, "backlog_unknown", None, first, lost_if_failed=False):
                report.warn("the backlog is unavailable: sent directly, possibly ahead of older data")
                self._send(durable, side, sends, deadline)
        elif self._behind is not None:
            report.warn(
                f"waiting for backlog {self._behind}, which holds older data of targets that moved to "
                "this shard when the shard count changed; this cycle's batches were queued behind it"
            )
            self._spill(durable, "behind_shard", self._head_failure_ms, deadline)
        elif self._down or self._older_waiting():
            self._spill(durable, "behind_backlog", self._head_failure_ms, deadline)
        elif self._send(durable, side, sends, deadline) and self._waiting:
            self._replay_newer(sends)
        self._update_state()
        return report

    def close(self) -> None:
        if self._thread is not None:
            self._thread.join()
        if self._lease is not None and self._deadline is not None:
            self._lease.release(self._deadline)

    def _sends_until(self, deadline: Deadline) -> Deadline:
        """Sends end early enough to spill what is pending (fixed when the cycle opens)."""
        if self._send_deadline is None:
            self._send_deadline = deadline.reserve(SPILL_RESERVE)
        return self._send_deadline

    # -- replay ------------------------------------------------------------------------------

    def _begin(self, deadline: Deadline) -> None:
        """Take the lease and replay the backlog (runs beside the scrapes)."""
        try:
            if self.leases is None:
                self.state.lease = "none"
                self.report.warn("no lease table (STATE_TABLE): overlapping invocations may interleave")
            else:
                self._lease = self.leases.acquire(
                    self.store.sid, deadline.remaining() + SAFETY_MARGIN_SECONDS, self._sends_until(deadline)
                )
                if self._lease is None:
                    self.state.lease = "busy"
                    return
        except LeaseError as exc:
            self.state.lease = "unavailable"
            self.report.error(f"{exc}; this cycle queues behind the backlog")
            return
        try:
            budget = self._sends_until(deadline).within(self.replay_time)
            self._settle_owed(budget)
            if self._behind is not None:
                self._observe(budget)
            else:
                self._replay(budget)
        except StoreError as exc:
            self._waiting = None
            self.report.error(f"{exc}; this cycle queues behind the backlog")
        except Exception as exc:  # a bug must not lose this cycle's samples: they are still sent
            self._waiting = None
            self.report.error(f"backlog replay: internal error: {type(exc).__name__}: {str(exc)[:200]}")

    def _settle_owed(self, budget: Deadline) -> None:
        """Drain the removed shards' folders this one inherits, then see whether a folder its
        targets moved from still holds older items (``Owed``)."""
        horizon_ms = int((self.clock() - self.max_age - OWED_GRACE_SECONDS) * 1000)
        for store, removed_ms in self.owed.inherits:
            if removed_ms >= horizon_ms:
                self._drain(store, budget)
        for store, until_ms in self.owed.waits_for:
            if until_ms >= horizon_ms and self._drain_pending(store, until_ms, budget):
                self._behind = store.sid
                return

    def _drain(self, store: BacklogStore, budget: Deadline) -> None:
        """Replay a removed shard's folder under that shard's lease, as its own delivery would."""
        drain = DurableDelivery(
            self.sink, store, self.leases, self.config, self.cycle_ms, self.clock, self.scrub
        )
        drain.open(budget)
        drain.close()
        self._absorb(drain)

    def _absorb(self, drain: DurableDelivery) -> None:
        """Count what a drain did in this delivery's report."""
        theirs, ours = drain.report, self.report
        ours.requests += theirs.requests
        ours.failed_requests += theirs.failed_requests
        prefix = f"inherited backlog {drain.store.sid}: "
        for error in theirs.errors:
            ours.error(prefix + error)
        for warning in theirs.warnings:
            ours.warn(prefix + warning)
        self.state.replayed += drain.state.replayed
        self.state.rejected += drain.state.rejected
        self.state.lost.update(drain.state.lost)
        self._owed_waiting.extend(drain._waiting or [])
        self._down = self._down or drain._down

    def _drain_pending(self, store: BacklogStore, until_ms: int, budget: Deadline) -> bool:
        """Whether ``store`` still holds items scraped before ``until_ms``."""
        items, _ = store.list(budget)
        return any(listed.scraped_ms < until_ms for listed in items)

    def _replay(self, budget: Deadline) -> None:
        items, foreign = self.store.list(budget)
        if foreign:
            folder = f"{BACKLOG_PREFIX}{self.store.sid}/"
            self.report.warn(f"{len(foreign)} object(s) under {folder} are not backlog items; left alone")
        self._waiting = self._bound(items, budget)
        self._replay_waiting(budget, self.cycle_ms)

    def _replay_waiting(self, budget: Deadline, until_ms: int | None) -> None:
        """Replay waiting items in order, those scraped by ``until_ms`` only (all if ``None``),
        until one does not go through or the budget ends."""
        items = self._waiting or []
        for index, listed in enumerate(items):
            newer = until_ms is not None and listed.scraped_ms > until_ms
            if newer or budget.remaining() < MIN_REPLAY_SECONDS:
                return
            try:
                item = self.store.get(listed, budget)
            except SpoolError as exc:
                self.store.delete(listed, budget)
                self.state.lost["unreadable"] += listed.samples
                self.report.error(f"backlog item {listed.key} unreadable ({exc}); discarded")
                self._waiting = items[index + 1 :]
                continue
            left = self._replay_item(item, budget)
            if left:
                self._head_failure_ms = item.first_failure_ms
                head = listed
                if left != item.entries:  # some were delivered or set aside: keep only the rest
                    head = self.store.replace(listed, replace(item, entries=left), budget)
                self._waiting = [head, *items[index + 1 :]]
                return
            self.store.delete(listed, budget)
            self._waiting = items[index + 1 :]

    def _replay_newer(self, budget: Deadline) -> None:
        """Replay the items queued by an invocation that scraped after this one, now that this
        cycle's requests went first."""
        try:
            self._replay_waiting(budget, None)
        except StoreError as exc:
            self.report.error(f"{exc}; the rest of the backlog waits for the next cycle")

    def _older_waiting(self) -> bool:
        """Items scraped no later than this cycle still wait (the replay did not reach them)."""
        return any(listed.scraped_ms <= self.cycle_ms for listed in self._waiting or [])

    def _replay_item(self, item: Item, budget: Deadline) -> tuple[Entry, ...]:
        """Send an item's requests; the entries still to deliver (empty: all done)."""
        requests = [self.sink.load(e.body, e.samples, e.chain) for e in item.entries]
        results = self.sink.deliver(requests, budget, self.report)
        left: list[Entry] = []
        refused: list[Entry] = []
        error: str | None = None
        for entry, request, result in zip(item.entries, requests, results, strict=True):
            count_attempt(self.report, result)
            if result.status == "sent":
                self.state.replayed += entry.samples - result.refused
                if result.refused:
                    self.state.rejected += result.refused
                    self.report.error(f"backlog: {describe(request, result)}")
            elif result.status == "rejected":
                refused.append(entry)
                self.report.error(f"backlog: {describe(request, result)}")
                error = error or result.error
            else:
                left.append(entry)
                if result.status == "failed":
                    self._down = True
                    self.report.error(f"backlog replay: {describe(request, result)}")
        if refused:
            self.state.rejected += sum(e.samples for e in refused)
            rejected = replace(
                item, entries=tuple(refused), reason="rejected", error=error and self.scrub(error)
            )
            self._keep_rejected(rejected, budget)
        return tuple(left)

    def _bound(self, items: list[Listed], budget: Deadline) -> list[Listed]:
        """Discard (and count) what is past the backlog's age and size bounds, oldest first."""
        now_ms = int(self.clock() * 1000)
        kept: list[Listed] = []
        for listed in items:
            if now_ms - listed.scraped_ms > self.max_age * 1000:
                self._discard(listed, "max_age", budget)
            else:
                kept.append(listed)
        total = sum(listed.size for listed in kept)
        while kept and total > self.max_size:
            oldest = kept.pop(0)
            total -= oldest.size
            self._discard(oldest, "max_size", budget)
        return kept

    def _discard(self, listed: Listed, reason: str, budget: Deadline) -> None:
        self.store.delete(listed, budget)
        self.state.lost[reason] += listed.samples

    # -- this cycle's requests ---------------------------------------------------------------

    def _send(self, durable: list[Request], side: list[Request], sends: Deadline, deadline: Deadline) -> bool:
        """Send before ``sends``; spill what is not delivered before ``deadline``. Whether every
        durable request was delivered (or refused for good)."""
        requests = durable + side
        if not requests:
            return True
        unsent = account(self.report, requests, self.sink.deliver(requests, sends, self.report))
        errors = unsent.errors
        self._spill(unsent.pending, "failed", None, deadline, errors[-1] if errors else None)
        if unsent.rejected:  # kept for inspection only: after the spill, which keeps data
            self.report.rejected += samples_in(unsent.rejected)
            self._keep_rejected(self._item(unsent.rejected, "rejected", None, errors[0]), deadline)
        return not unsent.pending

    def _item(
        self, requests: Sequence[Request], reason: str, first_failure_ms: int | None, error: str | None
    ) -> Item:
        now_ms = int(self.clock() * 1000)
        return Item(
            self.name,
            self.kind,
            self.cycle_ms,
            first_failure_ms or now_ms,
            reason,
            entries_of(requests),
            self.scrub(error) if error else error,
        )

    def _spill(
        self,
        requests: Sequence[Request],
        reason: str,
        first_failure_ms: int | None,
        deadline: Deadline,
        error: str | None = None,
        *,
        lost_if_failed: bool = True,
    ) -> bool:
        """Append ``requests`` to the backlog before ``deadline``. If S3 fails too (or there is no
        time left) they are lost (and counted), or, with ``lost_if_failed=False``, left to the
        caller; ``False`` then."""
        samples = sum(r.samples for r in requests)
        if not requests:
            return True
        try:
            written = self.store.put(self._item(requests, reason, first_failure_ms, error), deadline)
        except StoreError as exc:
            if lost_if_failed:
                self.report.failed += samples
                self.report.error(f"{samples} samples lost: {exc}")
            else:
                self.report.error(str(exc))
            return False
        self.report.spilled += samples
        if self._waiting is not None:
            self._waiting = sorted([*self._waiting, written], key=lambda listed: listed.key)
        return True

    def _observe(self, deadline: Deadline) -> None:
        """What waits in the backlog, for the summary of an invocation that did not list it."""
        try:
            self._waiting, _ = self.store.list(deadline)
        except StoreError:
            self._waiting = None

    def _keep_rejected(self, item: Item, deadline: Deadline) -> None:
        try:
            self.store.reject(item, deadline)
        except StoreError as exc:
            self.report.warn(f"rejected requests not kept for inspection: {exc}")

    def _update_state(self) -> None:
        waiting = [*(self._waiting or []), *self._owed_waiting]
        self.state.objects = len(waiting)
        self.state.samples = sum(listed.samples for listed in waiting)
        self.state.bytes = sum(listed.size for listed in waiting)
        if waiting:
            oldest = min(listed.scraped_ms for listed in waiting)
            self.state.oldest_age_seconds = max(0.0, self.clock() - oldest / 1000)


__all__ = ["DurableDelivery", "Result"]
