"""Which targets a shard no longer has left the fleet, and which moved (``shards.departures``)."""

from __future__ import annotations

import pytest
from scrape_push.scrape import EndedTarget
from scrape_push.shards.assign import identity_key, jump
from scrape_push.shards.departures import (
    MAX_LEFT_TARGETS,
    Departures,
    departures_of,
    pack_keys,
    unpack_keys,
)
from scrape_push.shards.message import MAX_MESSAGE_BYTES


def ended(instance: str) -> EndedTarget:
    return EndedTarget("node", (("instance", instance), ("job", "node")), "", [])


def key_of(target: EndedTarget) -> int:
    return identity_key(target.job, target.labels)


TARGETS = [ended(f"10.0.0.{i}:9100") for i in range(40)]


def test_a_target_that_still_maps_here_left_the_fleet_one_that_maps_elsewhere_moved() -> None:
    here = Departures(shard=1, shards=4)
    mapped = {target.instance: jump(key_of(target), 4) for target in TARGETS}
    assert {t.instance for t in TARGETS if here.ended(t)} == {i for i, shard in mapped.items() if shard == 1}
    assert any(shard != 1 for shard in mapped.values())


def test_a_target_the_planner_lists_as_gone_left_wherever_it_maps_now() -> None:
    elsewhere = next(t for t in TARGETS if jump(key_of(t), 4) != 1)
    assert not Departures(1, 4).ended(elsewhere)
    assert Departures(1, 4, frozenset({key_of(elsewhere)})).ended(elsewhere)


def test_each_shard_is_told_what_its_last_cycle_had_and_the_fleet_lacks() -> None:
    last = {0: frozenset({1, 2, 3}), 1: frozenset({4, 5}), 2: frozenset({7})}
    told = departures_of(last, [1, 3, 4, 7], 3)
    assert [(d.shard, d.shards, d.left, d.adopt) for d in told] == [
        (0, 3, {2}, ()),
        (1, 3, {5}, ()),
        (2, 3, frozenset(), ()),
    ]


def test_a_removed_shards_departures_go_to_the_shard_that_inherits_its_backlog() -> None:
    last = {0: frozenset({1}), 1: frozenset({2}), 2: frozenset({3, 4}), 3: frozenset({5}), 5: frozenset({6})}
    told = departures_of(last, [1, 2, 4, 5], 2)  # from 6 shards (or more) down to 2
    # shard 2 goes to 0, 5 to 1; shard 3's target is still in the fleet: nothing to adopt there
    assert [(d.left, d.adopt) for d in told] == [({3}, (2,)), ({6}, (5,))]
    (alone,) = departures_of(last, [1], 1)  # back to one invocation: the planner's cycle adopts all
    assert (alone.left, alone.adopt) == ({2, 3, 4, 5, 6}, (1, 2, 3, 5))
    assert alone.listed("node", ()) is False


def test_a_list_is_bounded_so_that_a_message_stays_within_sqs_s_limit() -> None:
    many = {0: frozenset(range(2 * MAX_LEFT_TARGETS)), 1: frozenset(range(-1, -MAX_LEFT_TARGETS, -1))}
    (told,) = departures_of(many, [], 1)
    assert len(told.left) == MAX_LEFT_TARGETS
    packed = pack_keys(frozenset(range(MAX_LEFT_TARGETS)))
    assert len(packed) < MAX_MESSAGE_BYTES / 8
    assert set(unpack_keys(packed)) == set(range(MAX_LEFT_TARGETS))


@pytest.mark.parametrize("text", ["@@", "AAAA", pack_keys(range(MAX_LEFT_TARGETS + 1))])
def test_a_field_that_is_not_a_bounded_key_list_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not"):
        unpack_keys(text)
