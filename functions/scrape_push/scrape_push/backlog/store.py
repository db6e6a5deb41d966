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

from botocore.exceptions import BotoCoreError, ClientError

from .. import aws
from .spool import Item, SpoolError, dump, load

BACKLOG_BUCKET_ENV = "BACKLOG_BUCKET"
BACKLOG_PREFIX = "backlog/"
REJECTED_PREFIX = "rejected/"

CONNECT_TIMEOUT_SECONDS = 2.0
READ_TIMEOUT_SECONDS = 4.0
MAX_ATTEMPTS = 2
"""S3 calls are bounded tighter than the other clients': a spill must fit the time kept back
before the Lambda timeout (``deadline.SPILL_RESERVE``)."""

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


def sink_id(sink: str, group: str) -> str:
    """A sink's backlog folder: readable, bounded, distinct per sink name and job group."""
    digest = hashlib.sha256(f"{sink}\0{group}".encode()).hexdigest()[:12]
    return f"{_SLUG.sub('_', sink)[:60]}-{digest}"


def item_key(prefix: str, sid: str, scraped_ms: int, samples: int, nonce: str | None = None) -> str:
    return f"{prefix}{sid}/{scraped_ms:013d}-{nonce or secrets.token_hex(8)}-{samples}"


def parse_key(key: str, size: int) -> Listed | None:
    match = _KEY.search(key)
    if match is None:
        return None
    return Listed(key, int(match[1]), int(match[3]), size)


class BacklogStore:
    """One sink's backlog folder (and its rejected folder) in the bucket."""

    def __init__(self, bucket: str, sid: str, client: Any = None) -> None:
        self.bucket = bucket
        self.sid = sid
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client(
                "s3",
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                read_timeout=READ_TIMEOUT_SECONDS,
                max_attempts=MAX_ATTEMPTS,
            )
        return self._client

    def _error(self, what: str, exc: Exception) -> StoreError:
        return StoreError(f"backlog bucket {self.bucket}: {what}: {aws.describe_error(exc)}")

    def _call(self, what: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, what)(Bucket=self.bucket, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise self._error(f"{what} failed", exc) from None

    def list(self) -> tuple[list[Listed], list[str]]:
        """Waiting items, oldest first, and keys under the folder that are not items."""
        items: list[Listed] = []
        foreign: list[str] = []
        kwargs: dict[str, Any] = {"Prefix": f"{BACKLOG_PREFIX}{self.sid}/"}
        while True:
            page = self._call("list_objects_v2", **kwargs)
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

    def get(self, listed: Listed) -> Item:
        """The item, or ``SpoolError`` if the object is not a readable one."""
        body = self._call("get_object", Key=listed.key)["Body"]
        try:
            data: bytes = body.read()
        except (BotoCoreError, OSError) as exc:
            raise self._error(f"reading {listed.key} failed", exc) from None
        return load(data)

    def put(self, item: Item, prefix: str = BACKLOG_PREFIX, nonce: str | None = None) -> Listed:
        blob = dump(item)
        key = item_key(prefix, self.sid, item.scraped_ms, item.samples, nonce)
        self._call(
            "put_object",
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

    def replace(self, listed: Listed, item: Item) -> Listed:
        """Write what is left of ``listed`` (same scrape time and nonce, so the same place in
        the order), then delete the old object. A crash in between leaves both: the part already
        delivered would be sent again, never lost."""
        nonce = _KEY.search(listed.key)[2]  # type: ignore[index]
        written = self.put(item, nonce=nonce)
        if written.key != listed.key:
            self.delete(listed)
        return written

    def delete(self, listed: Listed) -> None:
        self._call("delete_object", Key=listed.key)

    def reject(self, item: Item) -> str:
        """Keep refused requests for inspection under ``rejected/``; they are never replayed."""
        return self.put(item, REJECTED_PREFIX).key


__all__ = ["BacklogStore", "Listed", "SpoolError", "StoreError", "sink_id"]
