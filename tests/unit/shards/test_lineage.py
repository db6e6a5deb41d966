"""What a shard owes after the count changed: folders to wait behind, removed ones to drain."""

from __future__ import annotations

import random

from scrape_push.shards.assign import jump
from scrape_push.shards.lineage import MAX_ERAS, Era, Lineage, changed, forget_older, lineage

_RNG = random.Random(3)
KEYS = [_RNG.getrandbits(64) for _ in range(2000)]


def mine(shard: int, shards: int) -> list[int]:
    return [key for key in KEYS if jump(key, shards) == shard]


def test_an_unchanged_count_owes_nothing() -> None:
    assert lineage(1, mine(1, 4), 4, []) == Lineage()
    assert lineage(1, mine(1, 4), 4, [Era(4, 100)]) == Lineage()


def test_after_shrinking_each_removed_shard_is_drained_by_one_remaining_and_waited_for_by_its_gainers() -> (
    None
):
    eras = [Era(8, 1000)]
    owed = {shard: lineage(shard, mine(shard, 4), 4, eras) for shard in range(4)}
    assert [owed[s].inherits for s in range(4)] == [((4, 1000),), ((5, 1000),), ((6, 1000),), ((7, 1000),)]
    for shard in range(4):
        # it waits for exactly the removed shards its targets came from
        came_from = {jump(key, 8) for key in mine(shard, 4)} - {shard}
        assert {s for s, _ in owed[shard].waits_for} == came_from
        assert came_from <= set(range(4, 8)) and all(until == 1000 for _, until in owed[shard].waits_for)


def test_after_growing_new_shards_wait_for_the_old_ones_and_old_ones_owe_nothing() -> None:
    eras = [Era(2, 5000)]
    for shard in (0, 1):
        assert lineage(shard, mine(shard, 4), 4, eras) == Lineage()
    for shard in (2, 3):
        owed = lineage(shard, mine(shard, 4), 4, eras)
        assert owed.waits_for == ((0, 5000), (1, 5000)) and owed.inherits == ()


def test_going_back_to_one_invocation_drains_and_waits_for_every_shard() -> None:
    owed = lineage(0, KEYS, 1, [Era(4, 7)])
    assert owed.inherits == ((1, 7), (2, 7), (3, 7))
    assert owed.waits_for == ((1, 7), (2, 7), (3, 7))


def test_several_changes_owe_the_latest_time_each_folder_held_the_targets() -> None:
    eras = [Era(6, 100), Era(3, 200)]
    owed = lineage(0, mine(0, 2), 2, eras)
    assert dict(owed.inherits) == {2: 200, 4: 100}
    waits = dict(owed.waits_for)
    assert waits[2] == 200 and waits.get(1) is None  # shard 1 never held shard 0's targets


def test_eras_are_bounded_and_forgotten_once_nothing_can_be_owed() -> None:
    eras: tuple[Era, ...] = ()
    for n in range(MAX_ERAS + 5):
        eras = changed(eras, n + 1, n * 10)
    assert len(eras) == MAX_ERAS and eras[-1] == Era(MAX_ERAS + 5, (MAX_ERAS + 4) * 10)
    assert forget_older(eras, (MAX_ERAS + 3) * 10) == eras[-2:]
