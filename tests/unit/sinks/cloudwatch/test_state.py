"""The DynamoDB state store against moto's in-process DynamoDB (no network): conditional
writes, sharding of large targets, TTL attribute, request counts."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from scrape_push.deadline import Deadline
from scrape_push.sinks.cloudwatch.counters import CumulativePoint
from scrape_push.sinks.cloudwatch.state import (
    MAX_ITEM_BYTES,
    StateError,
    StateStore,
    state_id,
    target_key,
)
from scrape_push.statetable import KEY_ATTRIBUTE, TTL_ATTRIBUTE

TABLE = "state"
LONG = Deadline.after(3600.0)
NOW = 1_800_000_000.0


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": KEY_ATTRIBUTE, "AttributeType": "S"}],
            KeySchema=[{"AttributeName": KEY_ATTRIBUTE, "KeyType": "HASH"}],
        )
        yield dynamodb


def store(client: Any) -> StateStore:
    return StateStore(lambda _: client, TABLE, clock=lambda: NOW)


def test_round_trip_in_two_requests_per_target(client: Any) -> None:
    key = target_key("cloudwatch/N", "N", "job", "host:9100")
    points = {state_id("x_total", (("a", "1"),)): CumulativePoint(1000, (5.0,), 17.0, "")}
    s = store(client)
    stored = s.load([key], LONG)[key]
    assert stored.points == {} and stored.versions == {0: None}
    assert s.save(key, stored, points, LONG) == set(points)
    again = s.load([key], LONG)[key]
    assert again.points == points
    assert s.requests == 3  # BatchGetItem, PutItem, BatchGetItem
    item = client.get_item(TableName=TABLE, Key={KEY_ATTRIBUTE: {"S": key}})["Item"]
    assert int(item[TTL_ATTRIBUTE]["N"]) > NOW


def test_an_overlapping_writer_loses_and_owns_nothing(client: Any) -> None:
    key = target_key("s", "N", "j", "i")
    ident = state_id("x", ())
    first, second = store(client), store(client)
    read_by_first = first.load([key], LONG)[key]
    read_by_second = second.load([key], LONG)[key]
    assert first.save(key, read_by_first, {ident: CumulativePoint(1000, (1.0,))}, LONG) == {ident}
    assert second.save(key, read_by_second, {ident: CumulativePoint(1001, (1.0,))}, LONG) == set()
    # after a fresh read the second one wins again
    assert second.save(key, second.load([key], LONG)[key], {ident: CumulativePoint(2000, (2.0,))}, LONG) == {
        ident
    }


def test_large_targets_are_sharded_and_read_back_whole(client: Any) -> None:
    key = target_key("s", "N", "j", "big")
    rng = random.Random(7)
    points = {
        state_id(f"m{i}", ()): CumulativePoint(1000, tuple(rng.random() for _ in range(4)))
        for i in range(12000)
    }
    s = store(client)
    assert s.save(key, s.load([key], LONG)[key], points, LONG) == set(points)
    loaded = store(client).load([key], LONG)[key]
    assert len(loaded.versions) > 1
    assert loaded.points == points
    assert MAX_ITEM_BYTES < 400_000


def test_many_targets_are_read_100_per_request(client: Any) -> None:
    keys = [target_key("s", "N", "j", f"h{i}") for i in range(250)]
    s = store(client)
    s.load(keys, LONG)
    assert s.requests == 3


def test_unseen_series_expire_from_the_item(client: Any) -> None:
    key = target_key("s", "N", "j", "i")
    old, new = state_id("old", ()), state_id("new", ())
    s = store(client)
    s.save(
        key,
        s.load([key], LONG)[key],
        {old: CumulativePoint(int(NOW * 1000) - 2 * 86400 * 1000, (1.0,))},
        LONG,
    )
    s.save(key, s.load([key], LONG)[key], {new: CumulativePoint(int(NOW * 1000), (1.0,))}, LONG)
    assert set(s.load([key], LONG)[key].points) == {new}


def test_a_missing_table_is_a_state_error_not_a_crash(client: Any) -> None:
    with pytest.raises(StateError, match="ResourceNotFoundException"):
        StateStore(lambda _: client, "missing").load([target_key("s", "N", "j", "i")], LONG)


def test_an_older_point_never_replaces_a_newer_one(client: Any) -> None:
    key = target_key("s", "N", "j", "i")
    ident = state_id("x_total", ())
    s = store(client)
    t0 = int(NOW * 1000)
    s.save(key, s.load([key], LONG)[key], {ident: CumulativePoint(t0 + 2000, (30.0,))}, LONG)
    assert s.save(key, s.load([key], LONG)[key], {ident: CumulativePoint(t0 + 1000, (20.0,))}, LONG) == {
        ident
    }
    assert s.load([key], LONG)[key].points == {ident: CumulativePoint(t0 + 2000, (30.0,))}


@pytest.mark.parametrize("first_writer", ["newer", "older"])
def test_overlapping_writers_of_out_of_order_scrapes_count_each_interval_once(
    client: Any, first_writer: str
) -> None:
    """Two invocations read the same state (10 at T0); whichever writes first owns its interval,
    the other owns nothing; the next scrape's increase starts where the winner left off."""
    key = target_key("s", "N", "j", "i")
    ident = state_id("x_total", ())
    base = store(client)
    t0 = int(NOW * 1000)
    base.save(key, base.load([key], LONG)[key], {ident: CumulativePoint(t0, (10.0,))}, LONG)
    points = {"older": CumulativePoint(t0 + 1000, (20.0,)), "newer": CumulativePoint(t0 + 2000, (30.0,))}
    reads = {name: store(client).load([key], LONG)[key] for name in points}
    second = "older" if first_writer == "newer" else "newer"
    assert base.save(key, reads[first_writer], {ident: points[first_writer]}, LONG) == {ident}
    assert base.save(key, reads[second], {ident: points[second]}, LONG) == set()
    won = points[first_writer].values[0] - 10.0
    after = base.load([key], LONG)[key].points[ident]
    assert won + (40.0 - after.values[0]) == 30.0  # the true increase from 10 to 40
