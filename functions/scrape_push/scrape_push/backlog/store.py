"""The durable backlog in S3: one object per sink and cycle, listed oldest first by key.

Keys: ``backlog/<sink id>/<scraped ms, 13 digits>-<nonce>-<samples>``. S3 lists keys in
UTF-8 binary order, so one ListObjectsV2 gives a sink's items oldest first with their sample
counts and sizes, without reading them. Requests a destination refused for good are kept under
``rejected/<sink id>/`` for inspection and never replayed. The bucket (encryption, lifecycle
expiry of both prefixes) comes from the template; its name from ``BACKLOG_BUCKET``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from .. import aws
from ..deadline import Deadline
from .spool import Item, SpoolError, dump, load

BACKLOG_PREFIX = "backlog/"
REJECTED_PREFIX = "rejected/"

CALL_SECONDS = 8.0
"""The longest one S3 call may take (an attempt: half of it, see ``aws``), and never past the
deadline it is given: an S3 that does not answer costs the replay a few seconds, and a spill fits
the time kept back for it (``deadline.SPILL_RESERVE``)."""

_SLUG = re.compile(r"[^A-Za-z0-9_.-]+")
_KEY = re.compile(r"/(\d{13})-([0-9a-f]{16})-(\d+)$")


class StoreError(Exception):
    """S3 could not be read or written; the message is safe to report."""


@dataclass(frozen=True)
class Listed:
    """One waiting item as listed: key, scrape time, samples and size, without reading it."""

    key: str
    scraped_ms: int
    samples: int
    size: int


def sink_id(sink: str, group: str, shard: int = 0) -> str:
    """A sink's backlog folder: readable, bounded, distinct per sink name, job group and shard
    (shard 0, a cycle not split, keeps the folder it had before shards existed)."""
    named = f"{sink}\0{group}" + (f"\0{shard}" if shard else "")
    digest = hashlib.sha256(named.encode()).hexdigest()[:12]
    return f"{_SLUG.sub('_', sink)[:60]}{f'-s{shard}' if shard else ''}-{digest}"


def item_key(prefix: str, sid: str, scraped_ms: int, samples: int, nonce: str | None = None) -> str:
    return f"{prefix}{sid}/{scraped_ms:013d}-{nonce or secrets.token_hex(8)}-{samples}"


def parse_key(key: str, size: int) -> Listed | None:
    match = _KEY.search(key)
    if match is None:
        return None
    return Listed(key, int(match[1]), int(match[3]), size)


class BacklogStore:
    """One sink's backlog folder (and its rejected folder) in the bucket."""

    def __init__(self, bucket: str, sid: str, clients: aws.ClientFor) -> None:
        self.bucket = bucket
        self.sid = sid
        self.clients = clients

    def _error(self, what: str, exc: Exception) -> StoreError:
        return StoreError(f"backlog bucket {self.bucket}: {what}: {aws.describe_error(exc)}")

    def _call(self, what: str, deadline: Deadline, **kwargs: Any) -> Any:
        try:
            return getattr(self.clients(deadline.within(CALL_SECONDS)), what)(Bucket=self.bucket, **kwargs)
        except aws.call_errors() as exc:
            raise self._error(f"{what} failed", exc) from None

    def list(self, deadline: Deadline) -> tuple[list[Listed], list[str]]:
        """Waiting items, oldest first, and keys under the folder that are not items."""
        items: list[Listed] = []
        foreign: list[str] = []
        kwargs: dict[str, Any] = {"Prefix": f"{BACKLOG_PREFIX}{self.sid}/"}
        while True:
            page = self._call("list_objects_v2", deadline, **kwargs)
            for obj in page.get("Contents", []):
                listed = parse_key(obj["Key"], int(obj.get("Size", 0)))
                if listed is None:
                    foreign.append(obj["Key"])
                else:
                    items.append(listed)
            if not page.get("IsTruncated"):
                break
            kwargs["ContinuationToken"] = page["NextContinuationToken"]
        items.sort(key=lambda listed: listed.key)
        return items, foreign

    def get(self, listed: Listed, deadline: Deadline) -> Item:
        """The item, or ``SpoolError`` if the object is not a readable one."""
        body = self._call("get_object", deadline, Key=listed.key)["Body"]
        try:
            data: bytes = body.read()
        except (*aws.unanswered_errors(), OSError) as exc:
            raise self._error(f"reading {listed.key} failed", exc) from None
        return load(data)

    def put(
        self, item: Item, deadline: Deadline, prefix: str = BACKLOG_PREFIX, nonce: str | None = None
    ) -> Listed:
        blob = dump(item)
        key = item_key(prefix, self.sid, item.scraped_ms, item.samples, nonce)
        self._call(
            "put_object",
            deadline,
            Key=key,
            Body=blob,
            ContentType="application/octet-stream",
            Metadata={
                "sink": item.sink.encode("ascii", "replace").decode(),
                "samples": str(item.samples),
                "first-failure-ms": str(item.first_failure_ms),
                "reason": item.reason,
            },
        )
        return Listed(key, item.scraped_ms, item.samples, len(blob))

    def replace(self, listed: Listed, item: Item, deadline: Deadline) -> Listed:
        """Write what is left of ``listed`` (same scrape time and nonce, so the same place in
        the order), then delete the old object. A crash in between leaves both: the part already
        delivered would be sent again, never lost."""
        nonce = _KEY.search(listed.key)[2]  # type: ignore[index]
        written = self.put(item, deadline, nonce=nonce)
        if written.key != listed.key:
            self.delete(listed, deadline)
        return written

    def delete(self, listed: Listed, deadline: Deadline) -> None:
        self._call("delete_object", deadline, Key=listed.key)

    def reject(self, item: Item, deadline: Deadline) -> str:
        """Keep refused requests for inspection under ``rejected/``; they are never replayed."""
        return self.put(item, deadline, REJECTED_PREFIX).key


__all__ = ["BacklogStore", "Listed", "SpoolError", "StoreError", "sink_id"]
