"""The format of one backlog item: a sink's requests, already encoded, with what they carry.

An item is one S3 object: a magic line, one JSON header line, then the request bodies back to
back. The header says whose requests they are, when they were scraped, when delivery first
failed and why, and each request's sample count, body length and chain::

    SPB1
    {"sink": "remote_write/amp", "scraped_ms": ..., "requests": [[samples, length, chain], ...], ...}
    <body 0><body 1>...
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from ..sinks.base import Request

MAGIC = b"SPB1\n"
FORMAT_VERSION = 1


class SpoolError(ValueError):
    """A backlog object that is not a readable item (truncated, foreign, from a newer version)."""


@dataclass(frozen=True)
class Entry:
    """One request of an item: its body, samples and chain."""

    body: bytes
    samples: int
    chain: int


@dataclass(frozen=True)
class Item:
    """One backlog item: requests of one sink from one cycle, in the order they were made."""

    sink: str
    kind: str
    scraped_ms: int
    first_failure_ms: int
    reason: str
    """Why it was kept: ``failed`` (delivery failed), ``behind_backlog`` (older items were still
    waiting), ``behind_shard`` (another shard's folder held older data of this shard's targets),
    ``lease_busy`` (an overlapping invocation held the sink), ``rejected``."""
    entries: tuple[Entry, ...]
    error: str | None = None

    @property
    def samples(self) -> int:
        return sum(entry.samples for entry in self.entries)


def entries_of(requests: Sequence[Request]) -> tuple[Entry, ...]:
    return tuple(Entry(r.body(), r.samples, r.chain) for r in requests)


def describe(item: Item) -> dict[str, object]:
    """The item's header fields, for people (``scrape-push backlog --item``) and for ``dump``."""
    return {
        "sink": item.sink,
        "kind": item.kind,
        "scraped_ms": item.scraped_ms,
        "first_failure_ms": item.first_failure_ms,
        "reason": item.reason,
        "error": item.error,
        "samples": item.samples,
    }


def dump(item: Item) -> bytes:
    header = {
        "version": FORMAT_VERSION,
        **describe(item),
        "requests": [[e.samples, len(e.body), e.chain] for e in item.entries],
    }
    head = json.dumps(header, separators=(",", ":")).encode()
    return b"".join([MAGIC, head, b"\n", *(entry.body for entry in item.entries)])


def load(blob: bytes) -> Item:
    """An item from its bytes; ``SpoolError`` if they are not one."""
    if not blob.startswith(MAGIC):
        raise SpoolError("not a scrape-push backlog item")
    end = blob.find(b"\n", len(MAGIC))
    if end < 0:
        raise SpoolError("truncated header")
    try:
        header = json.loads(blob[len(MAGIC) : end])
        if header["version"] != FORMAT_VERSION:
            raise SpoolError(f"format version {header['version']} is not {FORMAT_VERSION}")
        entries = []
        offset = end + 1
        for samples, length, chain in header["requests"]:
            body = blob[offset : offset + length]
            if len(body) != length:
                raise SpoolError("truncated body")
            entries.append(Entry(body, int(samples), int(chain)))
            offset += length
        return Item(
            str(header["sink"]),
            str(header["kind"]),
            int(header["scraped_ms"]),
            int(header["first_failure_ms"]),
            str(header["reason"]),
            tuple(entries),
            header.get("error"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, SpoolError):
            raise
        raise SpoolError(f"malformed header: {exc}") from None
