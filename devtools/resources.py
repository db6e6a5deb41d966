"""The template's stateful resources, created in an emulator (the demo and the tests use them)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from scrape_push.statetable import KEY_ATTRIBUTE, TTL_ATTRIBUTE

STATE_TABLE = "scrape-push-state"
BACKLOG_BUCKET = "scrape-push-backlog"
SHARD_QUEUE = "scrape-push-shards"
TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"


def create_state_table(client: Any, name: str = STATE_TABLE) -> str:
    """The state table as template.yaml defines it (key and TTL attributes from statetable.py):
    CloudWatch counter state and the per-sink delivery leases."""
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": KEY_ATTRIBUTE, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": KEY_ATTRIBUTE, "KeyType": "HASH"}],
    )
    client.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
    )
    return name


def create_backlog_bucket(client: Any, name: str = BACKLOG_BUCKET) -> str:
    """The backlog bucket (encryption and lifecycle rules are the template's; the emulator
    needs only the bucket)."""
    client.create_bucket(Bucket=name)
    return name


@dataclass(frozen=True)
class ShardQueues:
    """The shard queue and its dead-letter queue, as created in the emulator."""

    url: str
    arn: str
    dead_letter_url: str


def create_shard_queues(client: Any, name: str = SHARD_QUEUE) -> ShardQueues:
    """The shard queue and its dead-letter queue with the template's settings (``ShardQueue``,
    ``ShardDeadLetterQueue``): encryption, the visibility timeout, redrive after the retry."""
    resources = load_template()["Resources"]
    queue, dead = resources["ShardQueue"]["Properties"], resources["ShardDeadLetterQueue"]["Properties"]
    dead_url = client.create_queue(QueueName=f"{name}-dlq", Attributes=_attributes(dead))["QueueUrl"]
    dead_arn = _arn(client, dead_url)
    redrive = {"deadLetterTargetArn": dead_arn, "maxReceiveCount": queue["RedrivePolicy"]["maxReceiveCount"]}
    attributes = {**_attributes(queue), "RedrivePolicy": json.dumps(redrive)}
    url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return ShardQueues(url, _arn(client, url), dead_url)


def _attributes(properties: dict[str, Any]) -> dict[str, str]:
    """A queue's template properties that are plain values, as SQS attributes."""
    return {
        key: str(value).lower() if isinstance(value, bool) else str(value)
        for key, value in properties.items()
        if not isinstance(value, dict)
    }


def _arn(client: Any, url: str) -> str:
    return str(
        client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    )


def load_template() -> dict[str, Any]:
    """template.yaml, its short-form intrinsics (``!Ref``, ``!Sub`` ...) read as ``{"Fn::X": value}``."""
    loaded: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)
    return loaded


class _CfnLoader(yaml.SafeLoader):
    """A safe loader that reads CloudFormation's short-form intrinsics."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        return {name: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {name: loader.construct_sequence(node, deep=True)}
    return {name: loader.construct_mapping(node, deep=True)}  # type: ignore[arg-type]


_CfnLoader.add_multi_constructor("!", _intrinsic)
