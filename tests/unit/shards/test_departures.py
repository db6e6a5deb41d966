"""Which targets a shard no longer has left the fleet, and which moved (``shards.departures``)."""

from __future__ import annotations

import pytest
from scrape_push.scrape import EndedTarget
from scrape_push.shards.assign import identity_key, jump
from scrape_push.shards.departures import (
    MAX_LEFT_TARGETS,
    Departures,
    gone_since,
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


def test_gone_since_lists_per_shard_what_its_last_cycle_had_and_the_fleet_lacks() -> None:
    last = {0: frozenset({1, 2, 3}), 1: frozenset({4, 5}), 5: frozenset({6})}  # shard 5 is no more
    assert gone_since(last, [1, 3, 4, 6], 3) == [frozenset({2}), frozenset({5}), frozenset()]


def test_a_list_is_bounded_so_that_a_message_stays_within_sqs_s_limit() -> None:
    many = {0: frozenset(range(3 * MAX_LEFT_TARGETS))}
    (left,) = gone_since(many, [], 1)
    assert len(left) == MAX_LEFT_TARGETS
    packed = pack_keys(left)
    assert len(packed) < MAX_MESSAGE_BYTES / 8
    assert set(unpack_keys(packed)) == left


@pytest.mark.parametrize("text", ["@@", "AAAA", pack_keys(range(MAX_LEFT_TARGETS + 1))])
def test_a_field_that_is_not_a_bounded_key_list_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not"):
        unpack_keys(text)
