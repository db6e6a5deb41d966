"""Discovery as Prometheus runs it, in a function invoked once per cycle.

Prometheus refreshes each discoverer on its own ticker (``refresh_interval``) and, when a
refresh fails, logs it and keeps the targets it had (``discovery/refresh``). A warm Lambda keeps
the pipeline, so each ``*_sd_configs`` entry keeps its discoverer, its last targets and when it
last refreshed: a cycle refreshes only the entries that are due, all at once, and every refresh
ends within its share of the invocation's deadline. A refresh that fails, or does not finish in
time, leaves the entry's last known targets in use; while they are, each cycle reports why
under ``target_errors`` (and the failure is logged when it happens), so stale targets are never
silent. ``refresh`` is one call per cycle, made by whoever plans the cycle.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from ..deadline import Deadline
from ..plugins import DISCOVERIES, BuildContext
from . import Discovered, Discoverer, DiscoveryError, LabelSet

logger = Logger(service="scrape-push", child=True)

DEFAULT_REFRESH_INTERVAL = 60.0
"""Prometheus's default ``refresh_interval`` for every discovery that has one."""
REFRESH_SHARE = 0.5
"""A cycle's refreshes take at most this share of the time left in the invocation, so that the
scrapes keep the rest."""
UNSCOPED_REFRESH_SECONDS = 30.0
"""How long refreshes may take when no invocation deadline is set (the command line's ``run``)."""
EARLY_SECONDS = 5.0
"""An entry is due this long before its ``refresh_interval`` has passed: a schedule's invocations
start a little early or late, and one whose period is the interval must refresh every cycle."""
MAX_CONCURRENT_REFRESHES = 8
"""Entries refreshed at once (each may make concurrent calls of its own)."""

Key = tuple[str, str, int]
"""(job name, ``*_sd_configs`` key, index of the entry)."""
Build = Callable[[str, Any, BuildContext], Discoverer]
"""Makes the discoverer of a ``*_sd_configs`` key's entry."""


def build_plugin(key: str, config: Any, context: BuildContext) -> Discoverer:
    """The discoverer the plugin serving ``key`` builds for ``config``."""
    return DISCOVERIES.get(key).build(config, context)


@dataclass
class _Entry:
    """One ``*_sd_configs`` entry's discoverer and what it last found."""

    config: object
    discoverer: Discoverer
    interval: float
    targets: list[LabelSet] | None = None
    """The last targets found (``None`` until a refresh succeeds)."""
    found_at: float | None = None
    attempted_at: float | None = None
    error: str | None = None
    """Why the targets in use are not this refresh's (``None``: they are)."""
    running: Future[Discovered] | None = None
    """A refresh that outlived its deadline and is still running (never started twice)."""

    def due(self, now: float) -> bool:
        if self.running is not None and not self.running.done():
            return False
        if self.attempted_at is None or self.targets is None:
            return True
        return now - self.attempted_at >= self.interval - EARLY_SECONDS


class Refresher:
    """Every ``*_sd_configs`` entry of a pipeline's jobs: its discoverer, built once and kept
    warm (clients, caches), its last known targets, and when it refreshes."""

    def __init__(
        self, context: BuildContext, clock: Callable[[], float] = time.monotonic, build: Build = build_plugin
    ) -> None:
        self.context = context
        self.clock = clock
        self.build = build
        self._entries: dict[Key, _Entry] = {}

    def refresh(self, entries: Iterable[tuple[Key, object]]) -> None:
        """Refresh each of ``entries`` (key, configuration) that is due, at once, within the
        deadline of this cycle's refreshes; what fails keeps its last targets."""
        now = self.clock()
        due = [(key, entry) for key, entry in map(self._entry, entries) if entry.due(now)]
        if not due:
            return
        deadline = self._deadline()
        pool = ThreadPoolExecutor(min(len(due), MAX_CONCURRENT_REFRESHES), thread_name_prefix="discovery")
        try:
            futures = {
                key: pool.submit(entry.discoverer.discover, deadline.within(entry.interval))
                for key, entry in due
            }
            wait(futures.values(), timeout=deadline.remaining())
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        for key, entry in due:
            self._settle(key, entry, futures[key], now)

    def found(self, key: Key) -> tuple[list[LabelSet], str | None]:
        """The entry's targets in use, and why they are not fresh (``None``: they are)."""
        entry = self._entries.get(key)
        if entry is None:
            return [], None
        targets = entry.targets or []
        if entry.error is None or entry.targets is None:
            return targets, entry.error
        age = self.clock() - (entry.found_at or 0.0)
        return targets, f"{entry.error}; using the {len(targets)} target(s) found {age:.0f}s ago"

    def _entry(self, item: tuple[Key, object]) -> tuple[Key, _Entry]:
        key, config = item
        entry = self._entries.get(key)
        if entry is None or entry.config is not config:
            discoverer = self.build(key[1], config, self.context)
            interval = getattr(config, "refresh_interval", DEFAULT_REFRESH_INTERVAL)
            entry = self._entries[key] = _Entry(config, discoverer, interval)
        return key, entry

    def _deadline(self) -> Deadline:
        scope = self.context.aws.scope
        if scope is None:
            return Deadline.after(UNSCOPED_REFRESH_SECONDS, self.clock)
        return Deadline(scope.clock() + REFRESH_SHARE * scope.remaining(), scope.clock)

    def _settle(self, key: Key, entry: _Entry, future: Future[Discovered], started: float) -> None:
        """Take the outcome of ``future`` into ``entry`` (a failure keeps its targets)."""
        entry.attempted_at = started
        entry.running = None
        error: str | None
        if not future.done():
            entry.running = future
            error = "refresh did not finish before the deadline of this cycle's discovery"
        elif future.cancelled():
            error = "refresh not started before the deadline of this cycle's discovery"
        elif isinstance(future.exception(), DiscoveryError):
            error = str(future.exception())
        elif future.exception() is not None:
            exc = future.exception()
            error = f"internal error: {type(exc).__name__}: {str(exc)[:200]}"
        else:
            found = future.result()
            entry.targets, entry.found_at = found.targets, started
            entry.error = "; ".join(found.problems) or None
            if entry.error is not None:
                self._log(key, entry)
            return
        entry.error = error
        self._log(key, entry)

    def _log(self, key: Key, entry: _Entry) -> None:
        job, name, index = key
        kept = len(entry.targets) if entry.targets is not None else 0
        logger.warning(
            f"discovery {name}[{index}] of job {job}: {entry.error}",
            extra={"job": job, "discovery": f"{name}[{index}]", "error": entry.error, "targets_kept": kept},
        )
