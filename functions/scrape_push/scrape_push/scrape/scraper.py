"""The scrape stage: fetch each target's exposition concurrently, parse it, label it.

A target that is down, slow, too large, over its memory budget, serves garbage or trips a bug
yields ``up 0`` with the reason; it never affects another target. Each scrape is cut at its
deadline (its scrape timeout, bounded by the invocation's), and the stage returns by the
invocation's scrape deadline whatever the targets do.

The ``Scraper`` keeps what a warm process reuses: pooled HTTP sessions, the kept connections of
the plain ``http`` targets (``scrapehttp``) and one series cache per
target (``series.SeriesCache``), whose ``SeriesRef`` values come from one allocator, bounded by
the function's memory (``CACHE_SHARE``: the least recently scraped targets' series go first). It
collects the refs its caches dropped (series gone, a target gone or evicted) for the sinks to
forget.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from itertools import count
from typing import Final

from ..budget import (
    BASELINE_MB,
    MIB,
    MIN_USABLE_MB,
    SINK_BYTES_PER_SAMPLE,
    Account,
    MemoryBudget,
    parse_working_bytes,
)
from ..credentials import SecretResolver
from ..deadline import Deadline
from ..fetch import Response, ScrapeError, fetch
from ..guard import Aborted, Guard, Watch, guarding
from ..httpconfig import PooledSession, TLSConfig, new_session
from ..labels import finisher, synthetic
from ..limits import LimitExceeded, MemoryBudgetExceeded, SampleLimitExceeded, ScrapeBudget
from ..model import Sample, SeriesRef
from ..parse import ParseError
from ..reach import Reach
from ..scrapehttp import ScrapeTransport
from ..statetable import WriteBatch
from ..targets import FailedTarget, Target
from ..turns import Turn, Turns, free
from .entries import CommonValues
from .record import Adoption, RecordKeeper, RecordReport, StalenessRecord
from .series import SeriesCache
from .stale import EndedTarget, keys_before

CACHE_SHARE: Final = 0.5
"""Of the function's usable memory (``budget``: ``MemorySize - BASELINE_MB``), the share the
warm series caches may hold between cycles (docs/scaling.md, "The series caches"): twice what
the shard sizing plans for a shard's series, so a planned shard never evicts."""

CACHED_SERIES_BYTES: Final = 800
"""What one cached series holds across the warm state, its cache entry, series text, final
labels and identity index and the sinks' encoding of it (measured 620 to 700 bytes for
node_exporter-shaped targets with a Remote Write sink when it was set, about 530 since the
targets share their names, label pairs and families; docs/scaling.md)."""

KEPT_TARGET_CONNECTIONS: Final = 512
"""Targets (host and port) whose connection a scrape session keeps from one cycle to the next,
as Prometheus keeps each target's connection alive between scrapes (no new TCP or TLS handshake
a scrape); the least recently scraped beyond are closed. Lambda gives an execution environment
1,024 file descriptors (Lambda quotas): half are left to the sinks, AWS clients and the scrapes'
own. A kept connection that the target closes as a scrape goes out is retried once on a new one
(``fetch``)."""

ABORT_GRACE_SECONDS = 1.0
"""After the scrape deadline, how long the stage waits for cut scrapes to unwind (a cut
connection ends its read at once; only a DNS lookup or a parse already running can take longer,
and such a scrape is abandoned: reported down, its series cache dropped)."""

MAX_ERROR_CHARS = 300
"""A target's error is one line of at most this many characters (it may quote the target)."""


@dataclass
class ScrapeResult:
    """What one target gave in one cycle: its samples (final labels and timestamps) or an error."""

    target: Target
    up: bool
    duration: float
    scraped: int
    """How many samples the exposition held (``scrape_samples_scraped``)."""
    error: str | None
    samples: list[Sample] = field(default_factory=list)
    """The exposition's samples, the staleness markers, then the ``up``/``scrape_*`` series."""
    duplicates: int = 0
    """Samples dropped because an earlier sample of the body had their series and time."""
    stale: int = 0
    """Staleness markers among ``samples`` (series this scrape ended)."""


@dataclass
class _Run:
    """One target's scrape as the waiting thread sees it."""

    target: Target
    started: float | None = None
    scrape_ms: int = 0
    result: ScrapeResult | None = None
    """Set by the scrape's thread before it tells the ``Watch`` it is done: the waiter can wake
    before the pool marks the scrape's future done, and the scrape is not abandoned for that."""


class Scraper:
    """Scrapes targets over pooled HTTP sessions and series caches that survive warm invocations."""

    def __init__(
        self,
        max_concurrency: int,
        secrets: SecretResolver,
        reach: Callable[[str], Reach] = Reach,
        refs: Iterator[SeriesRef] | None = None,
        record: StalenessRecord | None = None,
    ) -> None:
        self.max_concurrency = max_concurrency
        self.secrets = secrets
        """Resolves the targets' credentials; its scrubber cleans every error reported."""
        self.reach = reach
        """The redirect policy of a scrape of a URL (``reach.Reach``)."""
        self.refs = count() if refs is None else refs
        """The allocator of every ``SeriesRef`` its caches give out."""
        self._sessions: dict[TLSConfig, PooledSession] = {}
        self._sessions_lock = threading.Lock()
        self.transport = ScrapeTransport(KEPT_TARGET_CONNECTIONS, max_concurrency)
        """The plain ``http`` targets' GETs, on connections of its own (``fetch``)."""
        self._series: OrderedDict[tuple[object, ...], SeriesCache] = OrderedDict()
        """The series caches, least recently scraped first."""
        self.common = CommonValues()
        """The families, metric names and label pairs the series caches share (bounded after
        each cycle by the series they hold)."""
        self._evicted: dict[tuple[object, ...], SeriesCache] = {}
        """Caches evicted to bound memory, holding only their staleness memory (``evict``)."""
        self._series_lock = threading.Lock()
        self._forgotten: list[SeriesRef] = []
        self._ended: list[EndedTarget] = []
        self.keeper = None if record is None else RecordKeeper(record, self.refs)
        """Seeds the first cycle's caches from the staleness record, and keeps it."""

    def session_for(self, tls: TLSConfig) -> PooledSession:
        """A pooled session per distinct TLS setting (most jobs share the default one)."""
        with self._sessions_lock:
            found = self._sessions.get(tls)
            if found is None:
                found = self._sessions[tls] = new_session(
                    tls, self.max_concurrency, self.secrets, hosts=KEPT_TARGET_CONNECTIONS
                )
            return found

    @staticmethod
    def _series_key(target: Target) -> tuple[object, ...]:
        return (
            target.url,
            target.labels,
            target.external_labels,
            target.honor_labels,
            target.metric_relabel_key,
            target.strict,
            target.legacy_names,
        )

    def series_cache(self, target: Target) -> SeriesCache:
        """The target's series cache, kept across warm invocations; a target whose labels
        changed gets a fresh one (its cached entries hold final labels)."""
        key = self._series_key(target)
        with self._series_lock:
            cache = self._series.get(key)
            if cache is None:
                cache = self._evicted.pop(key, None)
                if cache is None:
                    cache = SeriesCache(
                        finisher(target),
                        target.metric_relabel,
                        self.refs,
                        legacy_names=target.legacy_names,
                        common=self.common,
                    )
                self._series[key] = cache
            else:
                self._series.move_to_end(key)
            return cache

    def evict(self, memory_mb: int) -> None:
        """Evict the least recently scraped targets' series while the caches hold more series
        than a function of ``memory_mb`` allows them (``cached_series_allowed``). An evicted
        target's next scrape is cold; its staleness memory stays (``SeriesCache.evict``)."""
        allowed = cached_series_allowed(memory_mb)
        with self._series_lock:
            held = sum(map(len, self._series.values()))
            while held > allowed and self._series:
                key, cache = self._series.popitem(last=False)
                held -= len(cache)
                self._forgotten += cache.evict()
                self._evicted[key] = cache
            self.common.bound(held)

    def drop_cache(self, target: Target) -> None:
        """Drop the target's series cache: an abandoned scrape may still be writing to it."""
        with self._series_lock:
            cache = self._series.pop(self._series_key(target), None)
            if cache is not None:
                self._forgotten += cache.refs_held()

    def keep_caches(self, targets: Sequence[Target], now_ms: int) -> None:
        """Drop the series caches of targets not among ``targets``: they left, so Prometheus
        stops their scrape loop, marks their series stale (end-of-run staleness, see
        ``take_ended``) and drops the cache."""
        wanted = {self._series_key(target) for target in targets}
        with self._series_lock:
            for key in [key for key in self._evicted if key not in wanted]:
                self._series[key] = self._evicted.pop(key)  # its markers are made below
            for key in [key for key in self._series if key not in wanted]:
                cache = self._series.pop(key)
                stale = cache.tracker.ended(now_ms)
                if stale and cache.tracker.last is not None:
                    left = cache.tracker.last[0]
                    self._ended.append(EndedTarget(left.job, left.labels, left.url, stale))
                self._forgotten += cache.refs_held()

    def keep_record(
        self, deadline: Deadline, joined: WriteBatch | None = None, *, eager: bool = True
    ) -> RecordReport | None:
        """Write the staleness record if it is due (after the cycle's samples were pushed), in
        ``joined`` (the caller's write after the cycle) when given, even in a cycle that read it
        when ``eager`` (``RecordKeeper.keep``); what the record did this cycle (``None``: no
        record)."""
        if self.keeper is None:
            return None
        with self._series_lock:
            caches = [*self._series.values(), *self._evicted.values()]
        return self.keeper.keep(caches, deadline, joined, eager=eager)

    def start_from_record(
        self, targets: Sequence[Target], deadline: Deadline, scrape_ms: int, adoption: Adoption | None = None
    ) -> None:
        """At the first cycle, seed the caches from the staleness record; end the targets that
        left of the removed shards' records ``adoption`` names (one read for all: nothing
        without a record of our own)."""
        keeper = self.keeper
        if keeper is not None and (not keeper.loaded or adoption is not None):
            caches = [] if keeper.loaded else [(target, self.series_cache(target)) for target in targets]
            self._end(keeper.seed(caches, deadline, scrape_ms, adoption))

    def _end(self, ended: list[EndedTarget]) -> None:
        with self._series_lock:
            self._ended += ended
            self._forgotten += [sample.series for gone in ended for sample in gone.samples]

    def forget_all(self) -> None:
        """Drop every series cache, and read the staleness record again before the next scrape:
        this scraper's cycles went to shards, so what it remembers is older than the record
        (markers from it would be late, or for series that went long ago)."""
        with self._series_lock:
            for cache in self._series.values():
                self._forgotten += cache.refs_held()
            self._series.clear()
        if self.keeper is not None:
            self.keeper.loaded = False

    def take_ended(self) -> list[EndedTarget]:
        """The targets that left since the last call, with their markers."""
        with self._series_lock:
            ended, self._ended = self._ended, []
        return ended

    def forgotten(self) -> list[SeriesRef]:
        """The refs of series the scrape stage no longer has, since the last call: every sink
        should forget what it keeps for them once it pushed the cycle's samples."""
        with self._series_lock:
            refs, self._forgotten = self._forgotten, []
            for cache in self._series.values():
                refs += cache.take_retired()
        return refs

    def _shown(self, result: ScrapeResult) -> ScrapeResult:
        """``result`` with its error as it may leave the process (``shown_error``)."""
        if result.error is None:
            return result
        return replace(result, error=shown_error(result.error, self.secrets.scrubber.scrub))

    def close(self) -> None:
        """Close the pooled sessions and connections (the pipeline is being replaced)."""
        with self._sessions_lock:
            for session in self._sessions.values():
                session.close()
            self._sessions.clear()
        self.transport.close()

    def scrape_all(
        self,
        targets: Sequence[Target],
        deadline: Deadline,
        budget: MemoryBudget | None = None,
        refused: Sequence[FailedTarget] = (),
        adoption: Adoption | None = None,
    ) -> list[ScrapeResult]:
        """Scrape every target concurrently; results come back in the targets' order, by the
        deadline (plus ``ABORT_GRACE_SECONDS`` for cut scrapes to unwind), followed by the
        ``refused`` targets' (reported down with their error, not scraped). The records of the
        removed shards of ``adoption`` are read with this scraper's own (``start_from_record``)."""
        scrape_ms = int(time.time() * 1000)
        everyone = [*targets, *(f.target for f in refused)]
        self.keep_caches(everyone, scrape_ms)
        self.start_from_record(everyone, deadline, scrape_ms, adoption)
        down = [self._failed(f.target, 0.0, scrape_ms, f.error) for f in refused]
        if not targets:
            return down
        budget = budget or MemoryBudget.plan(None, self.max_concurrency, len(targets))
        watch = Watch(deadline.clock)
        runs = [_Run(target) for target in targets]
        pool = ThreadPoolExecutor(
            max_workers=min(self.max_concurrency, len(targets)), thread_name_prefix="scrape"
        )
        running: set[Guard] = set()
        try:
            turns = Turns()
            futures = [pool.submit(self._run, run, deadline, watch, budget, turns) for run in runs]
            running = watch.until(len(runs), deadline.at + ABORT_GRACE_SECONDS)
            for future in futures:
                future.cancel()  # not started by now: never will be
            results = [self._result(f, run, deadline) for f, run in zip(futures, runs, strict=True)]
            self.evict(budget.memory_mb)
            return [self._shown(result) for result in results] + down
        finally:
            pool.shutdown(wait=not running, cancel_futures=True)

    def _result(self, future: Future[ScrapeResult], run: _Run, deadline: Deadline) -> ScrapeResult:
        if run.result is not None:
            return run.result  # _run returns every failure as a result
        if future.done() and not future.cancelled():
            return future.result()  # what _run raised, past its own handling (not an Exception)
        if run.started is None:
            reason = "not scraped: the invocation deadline came before its turn"
            return self._failed(run.target, 0.0, int(time.time() * 1000), reason)
        reason = "abandoned: the scrape did not finish before the invocation deadline"
        duration = deadline.clock() - run.started
        result = self._failed(run.target, duration, run.scrape_ms, reason)
        self.drop_cache(run.target)
        return result

    def _failed(
        self,
        target: Target,
        duration: float,
        scrape_ms: int,
        error: str,
        *,
        counted: ScrapeBudget | None = None,
        kept: Collection[str] = (),
    ) -> ScrapeResult:
        """A failed scrape's result: ``up 0`` with what it ``counted``, and markers for the
        series the target's last scrape tracked (but those read before a parse or limit error,
        ``kept``)."""
        cache = self.series_cache(target)
        cache.tracker.last = (target, scrape_ms)
        stale = cache.tracker.failed(scrape_ms, kept)
        return failed(target, cache.synthetic, duration, scrape_ms, error, counted=counted, stale=stale)

    def _run(
        self, run: _Run, deadline: Deadline, watch: Watch, budget: MemoryBudget, turns: Turns
    ) -> ScrapeResult:
        """One target's scrape on a pool thread, on the cycle's ``turns``; every failure, of any
        kind, is its own result."""
        target = run.target
        run.scrape_ms = int(time.time() * 1000)
        run.started = start = deadline.clock()
        timeout = deadline.bound(target.timeout)
        guard = Guard(start + timeout, self.reach(target.url), bool(target.http.proxy_url), deadline.clock)
        watch.started(guard)
        account = budget.scrape_account()
        turn = turns.turn(guard)
        try:
            run.result = result = self._guarded(run, guard, account, budget, timeout, turn=turn)
        except Exception as exc:  # a bug, or a fault nobody foresaw: this target's alone
            reason = f"internal error: {type(exc).__name__}: {exc}"
            run.result = result = self._failed(target, deadline.clock() - start, run.scrape_ms, reason)
        finally:
            turn.give()
            account.release()
            watch.done(guard)
        return result

    def _guarded(
        self, run: _Run, guard: Guard, account: Account, budget: MemoryBudget, timeout: float, *, turn: Turn
    ) -> ScrapeResult:
        if timeout <= 0:
            return self._failed(run.target, 0.0, run.scrape_ms, "no time left in the invocation to scrape")
        with guarding(guard):
            return self.scrape(
                run.target, guard, account, budget=budget, timeout=timeout, scrape_ms=run.scrape_ms, turn=turn
            )

    def scrape(
        self,
        target: Target,
        guard: Guard,
        account: Account,
        *,
        budget: MemoryBudget,
        timeout: float,
        scrape_ms: int,
        turn: Turn | None = None,
    ) -> ScrapeResult:
        """Fetch, parse, label, relabel and check one target, within ``guard`` and ``account``;
        from its answer on, on its cycle's ``turn`` (``turns``; none outside a cycle)."""
        start = guard.clock()
        turn = free() if turn is None else turn
        cache = self.series_cache(target)
        retained = budget.retained_account()
        keeping = "keeping samples for the sinks"
        limits = ScrapeBudget(target.limits, spend=partial(retained.charge, what=keeping))
        scraped = 0
        response = None
        try:
            session = self.session_for(target.http.tls_config)
            response = fetch(
                session,
                target,
                guard,
                account,
                timeout=timeout,
                secrets=self.secrets,
                transport=self.transport,
                turn=turn,
            )
            turn.take()
            account.charge(parse_working_bytes(response.body), "parsing")
            read = cache.read(
                response.body,
                response.content_type,
                scrape_ms,
                honor_timestamps=target.honor_timestamps,
                track_timestamped=target.track_timestamps_staleness,
                budget=limits,
                strict=target.strict,
                histograms=target.negotiation.histograms,
            )
            samples, scraped = self._take(
                read, guard, limits, partial(retained.charge, what=keeping), cache, turn=turn
            )
            response = None
        except ScrapeError as exc:
            retained.release()
            return self._failed(target, guard.clock() - start, scrape_ms, str(exc))
        except Aborted:
            retained.release()
            return self._failed(target, guard.clock() - start, scrape_ms, f"timed out after {timeout:g}s")
        except ParseError as exc:
            retained.release()
            try:
                read_before = self._read_before(response, exc, guard, turn)
            except Aborted:
                return self._failed(target, guard.clock() - start, scrape_ms, f"timed out after {timeout:g}s")
            reason = f"invalid exposition: {exc}"
            if target.limits.sample_limit:  # no series is added past the limit
                limits.added = min(limits.added, target.limits.sample_limit)
            duration = guard.clock() - start
            return self._failed(target, duration, scrape_ms, reason, counted=limits, kept=read_before)
        except SampleLimitExceeded as exc:
            retained.release()
            reason = self._count_rest(read, guard, limits, turn) or str(exc)
            duration = guard.clock() - start
            return self._failed(target, duration, scrape_ms, reason, counted=limits, kept=cache.reading)
        except LimitExceeded as exc:  # a label limit, or the function's memory
            retained.release()
            duration = guard.clock() - start
            return self._failed(target, duration, scrape_ms, str(exc), counted=limits, kept=cache.reading)
        duration = guard.clock() - start
        kept = limits.admitted  # with the duplicates and the samples beyond int64 ms, as Prometheus
        cache.tracker.last = (target, scrape_ms)
        stale = cache.tracker.take_stale()
        samples += stale
        samples += synthetic(
            target,
            cache.synthetic,
            up=True,
            duration=duration,
            scraped=scraped,
            kept=kept,
            added=cache.added,
            scrape_ms=scrape_ms,
        )
        return ScrapeResult(target, True, duration, scraped, None, samples, limits.duplicates, len(stale))

    @staticmethod
    def _read_before(
        response: Response | None, error: ParseError, guard: Guard, turn: Turn
    ) -> Collection[str]:
        """The series read before the parse ``error`` (``keys_before``): the body's lines before
        it read again, within the scrape's deadline (``Aborted``) and sharing its ``turn``."""
        if response is None:
            return ()

        def between() -> None:
            guard.check()
            turn.share()

        return keys_before(response.body, response.content_type, error.line, between)

    @staticmethod
    def _take(
        read: Iterator[list[Sample]],
        guard: Guard,
        limits: ScrapeBudget,
        keep: Callable[[int], None],
        cache: SeriesCache,
        *,
        turn: Turn,
    ) -> tuple[list[Sample], int]:
        """Every chunk of ``read``, checked against the limits as it comes (``keep`` charges what
        is kept): the samples, and how many the body held. A limit error leaves in ``limits``
        the counts of Prometheus's scrape loop, which appends line by line and stops at the
        sample at fault: scraped up to it, included (relabeling drops too); kept up to it,
        excluded; the new series before it (before the limit's, for ``sample_limit``, whose
        rest the caller counts). The function's memory (or a histogram's buckets) stops the
        parse between chunks, and the scrape shares its ``turn`` there."""
        samples: list[Sample] = []
        scraped = prior = 0
        at_fault = False
        try:
            for chunk in read:
                guard.check()
                turn.share()
                before, scraped = scraped, limits.parsed
                admitted = limits.admitted
                try:
                    limits.admit(chunk)
                except SampleLimitExceeded:
                    line = cache.relabeled_line(limits.limits.sample_limit - prior)
                    cache.count_read(limits, line, stopped=False)
                    raise
                except LimitExceeded:  # a label limit, at one of the chunk's samples
                    at_fault = True
                    line = cache.line_of(chunk[limits.admitted - admitted])
                    scraped = before + line + 1
                    prior += cache.count_read(limits, line, stopped=True)
                    raise
                prior = limits.admitted
                keep(len(chunk) * SINK_BYTES_PER_SAMPLE)
                samples += chunk
        except SampleLimitExceeded:
            raise
        except LimitExceeded:
            limits.parsed, limits.admitted = scraped, prior
            if not at_fault:  # while a chunk was parsed: what the chunks before held
                cache.count_read(limits, None, stopped=True)
            raise
        return samples, scraped

    @staticmethod
    def _count_rest(
        read: Iterator[list[Sample]], guard: Guard, limits: ScrapeBudget, turn: Turn
    ) -> str | None:
        """Past ``sample_limit``, read the rest of the body only to count it in ``limits``, as
        Prometheus does: its ``scrape_samples_scraped`` and ``..._post_metric_relabeling`` say how
        many samples the target has (its ``scrape_series_added``, the new series within the
        limit, was counted where the limit was passed). The body parsed to its end is what the
        target exposes: the series cache keeps it. An invalid exposition is then the scrape's
        error (Prometheus reports a parse error before the limit); else ``None``."""
        added = limits.added
        try:
            for chunk in read:
                guard.check()
                turn.share()
                limits.admitted += len(chunk)
        except ParseError as exc:
            return f"invalid exposition: {exc}"
        except (Aborted, MemoryBudgetExceeded):
            return None
        finally:
            limits.added = added
        return None


def cached_series_allowed(memory_mb: int) -> int:
    """The series the warm caches of a function of ``memory_mb`` may hold between cycles::

    max(MIN_USABLE_MB, memory_mb - BASELINE_MB) MiB x CACHE_SHARE / CACHED_SERIES_BYTES
    """
    return int(max(MIN_USABLE_MB, memory_mb - BASELINE_MB) * MIB * CACHE_SHARE) // CACHED_SERIES_BYTES


def shown_error(error: str, scrub: Callable[[str], str]) -> str:
    """A target's error as it may leave the process: scrubbed of secrets, one short line."""
    line = " ".join(scrub(error).split())
    return line if len(line) <= MAX_ERROR_CHARS else line[: MAX_ERROR_CHARS - 3] + "..."


def failed(
    target: Target,
    refs: Sequence[SeriesRef],
    duration: float,
    scrape_ms: int,
    error: str,
    *,
    counted: ScrapeBudget | None = None,
    stale: Sequence[Sample] = (),
) -> ScrapeResult:
    """The result of a failed scrape: its staleness markers (``stale``), then the synthetic
    series (``refs``), with ``up 0`` and the counts Prometheus reports for it: what the scrape
    ``counted`` before it failed (nothing when the body never arrived)."""
    scraped, kept, added = (counted.parsed, counted.admitted, counted.added) if counted else (0, 0, 0)
    series = synthetic(
        target,
        refs,
        up=False,
        duration=duration,
        scraped=scraped,
        kept=kept,
        added=added,
        scrape_ms=scrape_ms,
    )
    return ScrapeResult(target, False, duration, scraped, error, [*stale, *series], stale=len(stale))
