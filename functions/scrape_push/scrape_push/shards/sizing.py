"""How many shards a cycle needs: the fleet's series against what one invocation can carry.

docs/scaling.md ("How many shards") gives the formula with the measured figures behind each
constant. In short, one invocation of ``MemorySize`` MB with a cycle window of ``W`` seconds
carries at most::

    memory:  (MemorySize - BASELINE_MB) MiB x RETAINED_SHARE x MEMORY_HEADROOM / COLD_BYTES_PER_SERIES
    CPU:     min(1, MemorySize / FULL_VCPU_MB) x (W - RESERVED_SECONDS) x CPU_HEADROOM
             / COLD_CPU_SECONDS_PER_SERIES
    targets: MAX_TARGETS_PER_SHARD

series, the smaller of the two, and the fleet needs ``ceil(series / capacity)`` shards (and
``ceil(targets / MAX_TARGETS_PER_SHARD)``). Cold figures, because Lambda gives a shard's
message to whichever execution environment is free: a worker is often the first of its kind
in its environment. Growing is at once; shrinking waits until the fleet fits the smaller count
with every shard at most ``SHRINK_FILL`` full, for ``SHRINK_AFTER_MS`` in a row, so the count
does not flap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from ..budget import BASELINE_MB, MIB, RETAINED_SHARE, SINK_BYTES_PER_SAMPLE
from ..deadline import SEND_RESERVE

FULL_VCPU_MB: Final = 1769
"""A function gets one full vCPU at 1,769 MB, proportionally less below (Lambda developer guide,
"Memory and computing power"); a cycle is Python on one core, so more memory adds no speed."""

COLD_PARSE_BYTES_PER_SERIES: Final = 1200
"""What the memory budget charges a cold parse per new series of a node_exporter-like target
(``limits.ScrapeBudget``'s estimate: 1,167 bytes; docs/scaling.md)."""
COLD_BYTES_PER_SERIES: Final = COLD_PARSE_BYTES_PER_SERIES + SINK_BYTES_PER_SAMPLE
"""All the budget charges a series on a cold cycle: the parse's keep plus the sinks' share."""
MEMORY_HEADROOM: Final = 0.7
"""Of the budget's pool for kept samples, the share planned for: targets larger than their
estimate, and the budget's per-target slices, need the rest."""

COLD_CPU_SECONDS_PER_SERIES: Final = 40e-6
"""CPU of a cold cycle per series, scraped, parsed and sent (bench/bench_fleet.py, one vCPU)."""
CPU_HEADROOM: Final = 0.5
"""Of the cycle window's CPU, the share planned for (arm64 cores, noisy neighbours, slow sinks)."""
RESERVED_SECONDS: Final = SEND_RESERVE[0] + 2.0
"""Of the cycle window, the time no scrape runs in: the send reserve, and the queue's delivery."""

MAX_TARGETS_PER_SHARD: Final = 5000
"""Targets per shard at most, whatever their series: a shard's message carries about 30 bytes
per target compressed (docs/scaling.md), so 5,000 stay far under SQS's 1 MiB message even with
labels several times a node_exporter's. (The warm series caches are bounded by memory, not by
targets: ``scrape.scraper.CACHE_SHARE``.)"""

DEFAULT_SERIES_PER_TARGET: Final = 1000
"""Series assumed for a target no cycle has counted yet (a node_exporter exposes 1,000 to
2,000): sized generously, as the first cycle learns the real figure."""

SHRINK_FILL: Final = 0.75
SHRINK_AFTER_MS: Final = 10 * 60 * 1000


@dataclass(frozen=True)
class Capacity:
    """What one invocation carries."""

    series: int
    targets: int = MAX_TARGETS_PER_SHARD

    @classmethod
    def of(cls, memory_mb: int, window_seconds: float) -> Capacity:
        """The capacity of an invocation of ``memory_mb`` with ``window_seconds`` for its cycle."""
        memory = (max(0, memory_mb - BASELINE_MB) * MIB * RETAINED_SHARE * MEMORY_HEADROOM) / (
            COLD_BYTES_PER_SERIES
        )
        vcpus = min(1.0, memory_mb / FULL_VCPU_MB)
        seconds = max(1.0, window_seconds - RESERVED_SECONDS)
        cpu = vcpus * seconds * CPU_HEADROOM / COLD_CPU_SECONDS_PER_SERIES
        return cls(max(1, int(min(memory, cpu))))

    def needed(self, series: int, targets: int, fill: float = 1.0) -> int:
        """Shards for ``series`` over ``targets`` with each shard at most ``fill`` full."""
        by_series = math.ceil(series / (self.series * fill))
        by_targets = math.ceil(targets / (self.targets * fill))
        return max(1, by_series, by_targets)


@dataclass(frozen=True)
class Decision:
    """The count a cycle runs with, and since when a smaller one would have done."""

    shards: int
    low_since_ms: int = 0


def decide(current: int, low_since_ms: int, needs: int, fits: int, now_ms: int) -> Decision:
    """The count after ``current``, when the fleet needs ``needs`` shards (each full) and fits
    ``fits`` (each at most ``SHRINK_FILL`` full): grow at once, shrink after a while."""
    if needs >= current:
        return Decision(needs)
    if fits >= current:
        return Decision(current)
    since = low_since_ms or now_ms
    if now_ms - since >= SHRINK_AFTER_MS:
        return Decision(fits)
    return Decision(current, since)
