"""What is waiting, or was refused, in a backlog bucket: ``scrape-push backlog``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from . import spool
from .store import BACKLOG_PREFIX, REJECTED_PREFIX, Listed, parse_key


@dataclass
class Folder:
    """One sink's folder (per job group): how much is in it and since when."""

    folder: str
    objects: int = 0
    samples: int = 0
    bytes: int = 0
    oldest_ms: int | None = None
    newest_ms: int | None = None

    def add(self, listed: Listed) -> None:
        self.objects += 1
        self.samples += listed.samples
        self.bytes += listed.size
        self.oldest_ms = min(listed.scraped_ms, self.oldest_ms or listed.scraped_ms)
        self.newest_ms = max(listed.scraped_ms, self.newest_ms or listed.scraped_ms)


def _objects(client: Any, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        yield from page.get("Contents", [])


def folders(client: Any, bucket: str, rejected: bool = False) -> list[Folder]:
    """Every sink folder under ``backlog/`` (or ``rejected/``), by name."""
    prefix = REJECTED_PREFIX if rejected else BACKLOG_PREFIX
    found: dict[str, Folder] = {}
    for obj in _objects(client, bucket, prefix):
        listed = parse_key(obj["Key"], int(obj.get("Size", 0)))
        if listed is None:
            continue
        name = obj["Key"][len(prefix) :].split("/", 1)[0]
        found.setdefault(name, Folder(name)).add(listed)
    return [found[name] for name in sorted(found)]


def describe(client: Any, bucket: str, key: str) -> dict[str, object]:
    """One item's header: whose requests, scraped when, why kept, the last error."""
    blob = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    try:
        item = spool.load(blob)
    except spool.SpoolError as exc:
        return {"key": key, "error": f"not a backlog item: {exc}"}
    return {
        "key": key,
        **spool.describe(item),
        "requests": [{"samples": e.samples, "bytes": len(e.body), "chain": e.chain} for e in item.entries],
    }
