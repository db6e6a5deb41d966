"""The template's stateful resources, created in an emulator (the demo and the tests use them)."""

from __future__ import annotations

from typing import Any

from scrape_push.statetable import KEY_ATTRIBUTE, TTL_ATTRIBUTE

STATE_TABLE = "scrape-push-state"
BACKLOG_BUCKET = "scrape-push-backlog"


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
