"""The jump consistent hash: stable while the count stays, minimal moves when it changes."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from scrape_push.shards.assign import assign, identity_key, jump, target_key
from scrape_push.targets import Target

_RNG = random.Random(7)
KEYS = [_RNG.getrandbits(64) for _ in range(20_000)]
KEY = 0x2B45A0E8EE12351E


def test_a_target_s_key_is_its_job_and_final_labels_and_the_same_in_every_process() -> None:
    labels = (("instance", "10.0.0.1:9100"), ("job", "node"))
    target = Target("node", "http://10.0.0.1:9100/metrics", labels, (), 10.0, 60.0, False, True, 1)
    assert target_key(target) == identity_key("node", labels) == KEY  # no process-seeded hash: pinned
    moved = Target("node", "http://10.0.0.2:9100/metrics", labels, (), 10.0, 60.0, False, True, 1)
    assert target_key(moved) == target_key(target)  # the URL is not its identity
    assert identity_key("other", labels) != target_key(target)
    assert identity_key("node", (("instance", "10.0.0.1:9101"), ("job", "node"))) != target_key(target)


@pytest.mark.parametrize(
    ("key", "shards", "shard"),
    [
        (1, 1, 0),
        (42, 57, 43),
        (256, 1024, 520),
        (3735883980, 1, 0),
        (3735883980, 666, 361),
        (16045690984833335023, 255, 237),
        (0, 60, 0),
        (1, 60, 55),
        (2, 60, 46),
    ],
)
def test_the_paper_s_algorithm_gives_what_other_implementations_give(
    key: int, shards: int, shard: int
) -> None:
    # ClickHouse's jumpConsistentHash test reference and the jump_consistent_hash crate's examples.
    assert jump(key, shards) == shard


@pytest.mark.parametrize("shards", [2, 3, 8, 100])
def test_targets_spread_evenly(shards: int) -> None:
    counts = Counter(assign(KEYS, shards))
    mean = len(KEYS) / shards
    assert set(counts) == set(range(shards))
    assert max(abs(c - mean) for c in counts.values()) < 0.2 * mean + 30


@pytest.mark.parametrize(("before", "after"), [(1, 2), (3, 4), (4, 8), (8, 9), (7, 20)])
def test_growing_moves_targets_only_onto_the_new_shards_and_only_their_share(before: int, after: int) -> None:
    old, new = assign(KEYS, before), assign(KEYS, after)
    moved = [(o, n) for o, n in zip(old, new, strict=True) if o != n]
    assert all(n >= before for _, n in moved)
    share = len(moved) / len(KEYS)
    expected = (after - before) / after
    assert abs(share - expected) < 0.03


@pytest.mark.parametrize(("before", "after"), [(2, 1), (4, 3), (8, 4), (20, 7)])
def test_shrinking_moves_only_the_removed_shards_targets(before: int, after: int) -> None:
    old, new = assign(KEYS, before), assign(KEYS, after)
    assert all(o == n for o, n in zip(old, new, strict=True) if o < after)
    assert all(n < after for n in new)
