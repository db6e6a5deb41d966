"""Shard messages: what a planner writes a worker reads back, and anything else is refused by field."""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

import pytest
from scrape_push.shards.handoff import PlannedTarget
from scrape_push.shards.lineage import Lineage
from scrape_push.shards.message import (
    FORMAT,
    MAX_MESSAGE_BYTES,
    MAX_TARGETS_BYTES,
    MessageError,
    ShardMessage,
    decode,
    encode,
)

TARGET = PlannedTarget(
    "node", "https://10.0.0.1:9100/metrics?x=1", (("instance", "é"), ("job", "node")), 10.0, 60.0, 1234
)
MESSAGE = ShardMessage(
    cycle_ms=1_800_000_000_000,
    deadline_ms=1_800_000_058_000,
    digest="0123456789abcdef",
    jobs=("node",),
    shard=2,
    shards=3,
    targets=(TARGET,) * 3,
    lineage=Lineage(((4, 1_799_999_000_000),), ((3, 1_799_999_000_000),)),
    left=frozenset({0, 7, 2**64 - 1}),
    adopt=(5, 8),
)


def test_a_message_reads_back_as_written_and_is_ascii() -> None:
    body = encode(MESSAGE)
    assert body.isascii()  # always a valid SQS body, whatever the labels hold
    assert decode(body) == MESSAGE
    assert decode(encode(ShardMessage(1, 2, "d", None, 0, 1, ()))).jobs is None
    assert MESSAGE.name == "shard 2 of 3"


def test_a_message_without_left_as_an_older_planner_wrote_it_lists_no_target_gone() -> None:
    document = json.loads(encode(MESSAGE))
    del document["left"], document["adopt"]
    message = decode(json.dumps(document))
    assert (message.left, message.adopt) == (frozenset(), ())


def _document(**changes: Any) -> str:
    document = json.loads(encode(MESSAGE))
    document.update(changes)
    return json.dumps(document)


def _packed(rows: object) -> str:
    return base64.b64encode(zlib.compress(json.dumps(rows).encode())).decode()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (None, "the record has no message body"),
        ("{", "the body is not JSON"),
        ("[]", "the body is not a JSON object"),
        (_document(format="scrape-push/shard/2"), "field 'format' is not 'scrape-push/shard/1'"),
        (_document(shard=3), "field 'shard' (3) must be less than 'shards' (3)"),
        (_document(shards=0), "field 'shards' must be a whole number of at least 1"),
        (_document(cycle_ms="now"), "field 'cycle_ms' must be a whole number"),
        (_document(deadline_ms=True), "field 'deadline_ms' must be a whole number"),
        (_document(digest=7), "field 'digest' must be a string"),
        (_document(jobs="node"), "field 'jobs' must be null or a list of job names"),
        (_document(waits_for=[[1]]), "field 'waits_for' must be a list of [shard, time ms] pairs"),
        (_document(inherits=[[1, -2]]), "field 'inherits' must be a list of [shard, time ms] pairs"),
        (_document(target_count=4), "field 'targets' does not hold 'target_count' targets"),
        (_document(left=[1, 2]), "field 'left' must be the base64 of 8-byte target keys"),
        (_document(left="AAAA"), "field 'left' must be the base64 of 8-byte target keys"),
        (_document(left="@@"), "field 'left' must be the base64 of 8-byte target keys: not base64"),
        (_document(adopt=[2]), "field 'adopt' must be a list of removed shards (from 'shards' to 999)"),
        (_document(adopt=[1000]), "field 'adopt' must be a list of removed shards"),
        (_document(adopt="5"), "field 'adopt' must be a list of removed shards"),
        (_document(targets="@@"), "field 'targets' is not base64 of zlib data"),
        (_document(targets=_packed({})), "field 'targets' is not a JSON list"),
        (_document(targets=_packed([[1]]), target_count=1), "targets[0] must be [job, url, labels,"),
        (
            _document(targets=_packed([["", "http://h:1/m", [], 1, 1, 0]]), target_count=1),
            "targets[0]: the job must be a name",
        ),
        (
            _document(targets=_packed([["j", "http://u:p@h:1/m", [], 1, 1, 0]]), target_count=1),
            "targets[0]: 'http://u:p@h:1/m' is not an http(s) URL without credentials",
        ),
        (
            _document(targets=_packed([["j", "file:///etc/passwd", [], 1, 1, 0]]), target_count=1),
            "is not an http(s) URL",
        ),
        (
            _document(targets=_packed([["j", "http://h:1/m", [["a"]], 1, 1, 0]]), target_count=1),
            "targets[0]: the labels must be a list of [name, value] pairs",
        ),
        (
            _document(targets=_packed([["j", "http://h:1/m", [], 0, 1, 0]]), target_count=1),
            "targets[0]: the timeout must be a positive number of seconds",
        ),
        (
            _document(targets=_packed([["j", "http://h:1/m", [], 1, 1, -1]]), target_count=1),
            "targets[0]: the series count must be a whole number",
        ),
    ],
)
def test_a_body_that_is_not_a_shard_message_is_refused_naming_the_field(body: object, error: str) -> None:
    with pytest.raises(MessageError) as caught:
        decode(body)
    assert error in str(caught.value)


def test_a_compressed_bomb_is_refused_before_it_is_inflated() -> None:
    bomb = base64.b64encode(zlib.compress(b"[" + b" " * (MAX_TARGETS_BYTES + 1) + b"]", 9)).decode()
    assert len(bomb) < MAX_MESSAGE_BYTES
    with pytest.raises(MessageError, match=f"more than {MAX_TARGETS_BYTES} bytes once decompressed"):
        decode(_document(targets=bomb))


def test_a_body_past_sqs_s_limit_is_refused() -> None:
    with pytest.raises(MessageError, match="longer than 1048576 characters"):
        decode(" " * (MAX_MESSAGE_BYTES + 1))


def test_the_format_marker_comes_first_so_a_message_says_what_it_is() -> None:
    assert encode(MESSAGE).startswith(f'{{"format":"{FORMAT}"')
