"""The message a planner sends each shard: one JSON document per shard per cycle.

::

    {"format": "scrape-push/shard/1", "cycle_ms": ..., "deadline_ms": ..., "digest": "...",
     "jobs": null, "shard": 3, "shards": 8, "waits_for": [[7, ...]], "inherits": [],
     "target_count": 250, "targets": "<base64 of zlib-compressed JSON>", "left": "<base64>",
     "adopt": [9]}

``cycle_ms`` is the cycle's scrape time and ``deadline_ms`` the time by which the shard's work
must be over (both epoch milliseconds); ``digest`` is the configuration the planner used;
``targets`` lists ``[job, url, [[name, value], ...], timeout, interval, series]`` per target
(``handoff.PlannedTarget``), compressed because target labels repeat a lot; ``left`` the
identities of the targets this shard's last cycle scraped that left the fleet since
(``departures``; absent in a message of a planner older than it: none listed), with those of
the removed shards it adopts (``adopt``), whose staleness records it reads. The JSON is ASCII
(non-ASCII escaped), so it is always a valid SQS message body.

A body is checked field by field when it arrives: a message that is not one is refused with a
line naming the field, never half-used.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ..config.model import MAX_SHARDS
from ..model import Labels
from .departures import pack_keys, unpack_keys
from .handoff import PlannedTarget
from .lineage import NONE, Lineage

FORMAT = "scrape-push/shard/1"

MAX_MESSAGE_BYTES = 1_048_576
"""SQS's largest message body: 1 MiB (botocore SQS model, ``SendMessage`` ``MessageBody``)."""
MAX_TARGETS_BYTES = 32 * 1024 * 1024
"""The most a message's target list may take once decompressed (a worker refuses more: a
planner never makes it, as the compressed list fits ``MAX_MESSAGE_BYTES``)."""
COMPRESSION_LEVEL = 6

T = TypeVar("T")


class MessageError(ValueError):
    """A body that is not a shard message; the text names the field at fault."""


@dataclass(frozen=True)
class ShardMessage:
    """One shard of one cycle."""

    cycle_ms: int
    deadline_ms: int
    digest: str
    jobs: tuple[str, ...] | None
    shard: int
    shards: int
    targets: tuple[PlannedTarget, ...]
    lineage: Lineage = NONE
    left: frozenset[int] = frozenset()
    """Identity keys of the targets this shard's last cycle scraped that left the fleet."""
    adopt: tuple[int, ...] = ()
    """Removed shards whose listed targets this shard ends from their records."""

    @property
    def name(self) -> str:
        """``shard 3 of 8``: how logs and errors name it."""
        return f"shard {self.shard} of {self.shards}"


def encode(message: ShardMessage) -> str:
    """The message body (ASCII JSON)."""
    rows = [
        [t.job, t.url, [list(pair) for pair in t.labels], t.timeout, t.interval, t.series]
        for t in message.targets
    ]
    packed = zlib.compress(json.dumps(rows, separators=(",", ":")).encode(), COMPRESSION_LEVEL)
    document = {
        "format": FORMAT,
        "cycle_ms": message.cycle_ms,
        "deadline_ms": message.deadline_ms,
        "digest": message.digest,
        "jobs": None if message.jobs is None else list(message.jobs),
        "shard": message.shard,
        "shards": message.shards,
        "waits_for": [list(pair) for pair in message.lineage.waits_for],
        "inherits": [list(pair) for pair in message.lineage.inherits],
        "target_count": len(message.targets),
        "targets": base64.b64encode(packed).decode(),
        "left": pack_keys(message.left),
        "adopt": list(message.adopt),
    }
    return json.dumps(document, separators=(",", ":"))


def decode(body: object) -> ShardMessage:
    """The message in ``body``; ``MessageError`` naming what is wrong otherwise."""
    if not isinstance(body, str):
        raise MessageError("the record has no message body")
    if len(body) > MAX_MESSAGE_BYTES:
        raise MessageError(f"the body is longer than {MAX_MESSAGE_BYTES} characters")
    document = _json(body, "the body", dict)
    if document.get("format") != FORMAT:
        raise MessageError(f"field 'format' is not {FORMAT!r}: not a shard message of this version")
    shards = _whole(document, "shards", 1)
    shard = _whole(document, "shard", 0)
    if shard >= shards:
        raise MessageError(f"field 'shard' ({shard}) must be less than 'shards' ({shards})")
    targets = _targets(document)
    if len(targets) != _whole(document, "target_count", 0):
        raise MessageError("field 'targets' does not hold 'target_count' targets")
    return ShardMessage(
        cycle_ms=_whole(document, "cycle_ms", 0),
        deadline_ms=_whole(document, "deadline_ms", 0),
        digest=_text(document, "digest"),
        jobs=_jobs(document),
        shard=shard,
        shards=shards,
        targets=targets,
        lineage=Lineage(_pairs(document, "waits_for"), _pairs(document, "inherits")),
        left=_left(document),
        adopt=_adopt(document, shards),
    )


def _json(text: str | bytes, what: str, kind: type[T]) -> T:
    """``text`` parsed as JSON, if it is a ``kind`` (a ``dict`` or a ``list``)."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise MessageError(f"{what} is not JSON: {exc}") from None
    if not isinstance(value, kind):
        raise MessageError(f"{what} is not a JSON {'object' if kind is dict else 'list'}")
    return value


def _whole(document: dict[str, Any], key: str, least: int) -> int:
    value = document.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise MessageError(f"field {key!r} must be a whole number of at least {least}")
    return value


def _text(document: dict[str, Any], key: str) -> str:
    value = document.get(key)
    if not isinstance(value, str):
        raise MessageError(f"field {key!r} must be a string")
    return value


def _jobs(document: dict[str, Any]) -> tuple[str, ...] | None:
    jobs = document.get("jobs")
    if jobs is None:
        return None
    if not isinstance(jobs, list) or not all(isinstance(job, str) for job in jobs):
        raise MessageError("field 'jobs' must be null or a list of job names")
    return tuple(jobs)


def _pairs(document: dict[str, Any], key: str) -> tuple[tuple[int, int], ...]:
    value = document.get(key)
    if not isinstance(value, list) or not all(_is_pair(pair) for pair in value):
        raise MessageError(f"field {key!r} must be a list of [shard, time ms] pairs")
    return tuple((pair[0], pair[1]) for pair in value)


def _left(document: dict[str, Any]) -> frozenset[int]:
    value = document.get("left", "")
    try:
        return frozenset(unpack_keys(value if isinstance(value, str) else "?"))
    except ValueError as exc:
        raise MessageError(f"field 'left' must be the base64 of 8-byte target keys: {exc}") from None


def _adopt(document: dict[str, Any], shards: int) -> tuple[int, ...]:
    value = document.get("adopt", [])
    if (
        not isinstance(value, list)
        or len(value) > MAX_SHARDS
        or not all(isinstance(n, int) and not isinstance(n, bool) and shards <= n < MAX_SHARDS for n in value)
    ):
        raise MessageError(
            f"field 'adopt' must be a list of removed shards (from 'shards' to {MAX_SHARDS - 1})"
        )
    return tuple(value)


def _is_pair(value: object) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in value)
    )


def _targets(document: dict[str, Any]) -> tuple[PlannedTarget, ...]:
    packed = document.get("targets")
    if not isinstance(packed, str):
        raise MessageError("field 'targets' must be a string")
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(base64.b64decode(packed, validate=True), MAX_TARGETS_BYTES)
    except (binascii.Error, zlib.error) as exc:
        raise MessageError(f"field 'targets' is not base64 of zlib data: {exc}") from None
    if inflater.unconsumed_tail:
        raise MessageError(f"field 'targets' holds more than {MAX_TARGETS_BYTES} bytes once decompressed")
    rows = _json(raw, "field 'targets'", list)
    return tuple(_target(row, index) for index, row in enumerate(rows))


def _target(row: object, index: int) -> PlannedTarget:
    where = f"targets[{index}]"
    if not isinstance(row, list) or len(row) != 6:
        raise MessageError(f"{where} must be [job, url, labels, timeout, interval, series]")
    job, url, labels, timeout, interval, series = row
    if not isinstance(job, str) or not job:
        raise MessageError(f"{where}: the job must be a name")
    _check_url(url, where)
    for name, value in (("timeout", timeout), ("interval", interval)):
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value < 1e9:
            raise MessageError(f"{where}: the {name} must be a positive number of seconds")
    if not isinstance(series, int) or isinstance(series, bool) or series < 0:
        raise MessageError(f"{where}: the series count must be a whole number")
    return PlannedTarget(job, url, _labels(labels, where), float(timeout), float(interval), series)


def _check_url(url: object, where: str) -> None:
    if not isinstance(url, str):
        raise MessageError(f"{where}: the URL must be a string")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        raise MessageError(f"{where}: {url[:200]!r} is not an http(s) URL without credentials")


def _labels(labels: object, where: str) -> Labels:
    if not isinstance(labels, list) or not all(
        isinstance(pair, list) and len(pair) == 2 and all(isinstance(part, str) for part in pair)
        for pair in labels
    ):
        raise MessageError(f"{where}: the labels must be a list of [name, value] pairs")
    return tuple((name, value) for name, value in labels)


__all__ = ["MAX_MESSAGE_BYTES", "MessageError", "ShardMessage", "decode", "encode"]
