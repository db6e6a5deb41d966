"""How many shards: what one invocation carries, growing at once, shrinking only after a while."""

from __future__ import annotations

import pytest
from scrape_push.shards.sizing import (
    MAX_TARGETS_PER_SHARD,
    SHRINK_AFTER_MS,
    SHRINK_FILL,
    Capacity,
    Decision,
    decide,
)


@pytest.mark.parametrize(
    ("memory_mb", "window", "series"),
    [
        (512, 58.0, 127_200),  # memory-bound
        (1769, 58.0, 511_700),  # one vCPU: memory still binds first
        (3008, 58.0, 600_000),  # CPU-bound: more memory adds no CPU to one Python process
        (1769, 20.0, 125_000),  # a short window: CPU-bound
        (10240, 898.0, 3_102_400),  # memory-bound: a long window on the largest function
    ],
)
def test_the_capacity_of_one_invocation(memory_mb: int, window: float, series: int) -> None:
    capacity = Capacity.of(memory_mb, window)
    assert abs(capacity.series - series) <= 0.02 * series, capacity
    assert capacity.targets == MAX_TARGETS_PER_SHARD


def test_the_fleet_needs_enough_shards_for_its_series_and_its_targets() -> None:
    capacity = Capacity(series=500_000, targets=1000)
    assert capacity.needed(0, 0) == 1
    assert capacity.needed(500_000, 500) == 1
    assert capacity.needed(500_001, 500) == 2
    assert capacity.needed(2_000_000, 2000) == 4
    assert capacity.needed(20_000, 2001) == 3  # many small targets
    assert capacity.needed(1_600_000, 100, fill=SHRINK_FILL) == 5


def test_growing_is_at_once() -> None:
    assert decide(current=2, low_since_ms=0, needs=5, fits=6, now_ms=1000) == Decision(5)
    assert decide(current=2, low_since_ms=500, needs=2, fits=3, now_ms=1000) == Decision(2)


def test_shrinking_waits_until_a_smaller_count_fits_with_room_for_a_while() -> None:
    # Needs fewer, but at SHRINK_FILL it still needs as many: no change, no clock started.
    assert decide(current=4, low_since_ms=0, needs=3, fits=4, now_ms=1000) == Decision(4)
    started = decide(current=4, low_since_ms=0, needs=2, fits=3, now_ms=1000)
    assert started == Decision(4, 1000)
    waiting = decide(4, started.low_since_ms, 2, 3, now_ms=1000 + SHRINK_AFTER_MS - 1)
    assert waiting == Decision(4, 1000)
    assert decide(4, waiting.low_since_ms, 2, 3, now_ms=1000 + SHRINK_AFTER_MS) == Decision(3)


def test_a_fleet_in_the_band_between_counts_does_not_flap() -> None:
    capacity = Capacity(series=100_000)
    current, low_since = 1, 0
    counts = []
    for minute, series in enumerate([95_000, 105_000, 95_000, 105_000] * 10):
        needs, fits = capacity.needed(series, 10), capacity.needed(series, 10, SHRINK_FILL)
        decision = decide(current, low_since, needs, fits, now_ms=minute * 60_000)
        current, low_since = decision.shards, decision.low_since_ms
        counts.append(current)
    assert counts == [1] + [2] * 39  # up once, and it stays: 95,000 does not fit 1 at 75 %
