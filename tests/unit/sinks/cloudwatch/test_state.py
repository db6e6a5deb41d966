"""The DynamoDB state store against moto's in-process DynamoDB (no network): conditional
writes, sharding of large targets, TTL attribute, request counts."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from scrape_push.sinks.cloudwatch.counters import Point
from scrape_push.sinks.cloudwatch.state import (
    MAX_ITEM_BYTES,
    StateError,
    StateStore,
    series_id,
    target_key,
)
from scrape_push.statetable import KEY_ATTRIBUTE, TTL_ATTRIBUTE

TABLE = "state"
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
    return StateStore(client, TABLE, clock=lambda: NOW)


def test_round_trip_in_two_requests_per_target(client: Any) -> None:
    key = target_key("cloudwatch/N", "N", "job", "host:9100")
    points = {series_id("x_total", (("a", "1"),)): Point(1000, (5.0,), 17.0, "")}
    s = store(client)
    stored = s.load([key])[key]
    assert stored.points == {} and stored.versions == {0: None}
    assert s.save(key, stored, points) == set(points)
    again = s.load([key])[key]
    assert again.points == points
    assert s.requests == 3  # BatchGetItem, PutItem, BatchGetItem
    item = client.get_item(TableName=TABLE, Key={KEY_ATTRIBUTE: {"S": key}})["Item"]
    assert int(item[TTL_ATTRIBUTE]["N"]) > NOW


def test_an_overlapping_writer_loses_and_owns_nothing(client: Any) -> None:
    key = target_key("s", "N", "j", "i")
    sid = series_id("x", ())
    first, second = store(client), store(client)
    read_by_first = first.load([key])[key]
    read_by_second = second.load([key])[key]
    assert first.save(key, read_by_first, {sid: Point(1000, (1.0,))}) == {sid}
    assert second.save(key, read_by_second, {sid: Point(1001, (1.0,))}) == set()
    # after a fresh read the second one wins again
    assert second.save(key, second.load([key])[key], {sid: Point(2000, (2.0,))}) == {sid}


def test_large_targets_are_sharded_and_read_back_whole(client: Any) -> None:
    key = target_key("s", "N", "j", "big")
    rng = random.Random(7)
    points = {
        series_id(f"m{i}", ()): Point(1000, tuple(rng.random() for _ in range(4))) for i in range(12000)
    }
    s = store(client)
    assert s.save(key, s.load([key])[key], points) == set(points)
    loaded = store(client).load([key])[key]
    assert len(loaded.versions) > 1
    assert loaded.points == points
    assert MAX_ITEM_BYTES < 400_000


def test_many_targets_are_read_100_per_request(client: Any) -> None:
    keys = [target_key("s", "N", "j", f"h{i}") for i in range(250)]
    s = store(client)
    s.load(keys)
    assert s.requests == 3


def test_unseen_series_expire_from_the_item(client: Any) -> None:
    key = target_key("s", "N", "j", "i")
    old, new = series_id("old", ()), series_id("new", ())
    s = store(client)
    s.save(key, s.load([key])[key], {old: Point(int(NOW * 1000) - 2 * 86400 * 1000, (1.0,))})
    s.save(key, s.load([key])[key], {new: Point(int(NOW * 1000), (1.0,))})
    assert set(s.load([key])[key].points) == {new}


def test_a_missing_table_is_a_state_error_not_a_crash(client: Any) -> None:
    with pytest.raises(StateError, match="ResourceNotFoundException"):
        StateStore(client, "missing").load([target_key("s", "N", "j", "i")])
