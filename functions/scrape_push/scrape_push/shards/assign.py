"""Which shard scrapes a target: a jump consistent hash of the target's identity.

A target's identity is its job and its final target labels (``job``, ``instance`` and the rest
relabeling left), as Prometheus identifies a target. Hashed to 64 bits, it is assigned to a
shard by Lamping and Veach's jump consistent hash ("A Fast, Minimal Memory, Consistent Hash
Algorithm", 2014): the same target stays on the same shard while the shard count is unchanged,
and when the count changes from ``n`` to ``m`` only the targets that must move do — growing,
targets move only to the new shards ``n..m-1``; shrinking, only the targets of the removed
shards ``m..n-1`` move. That keeps warm series caches warm and makes the backlogs a count change
affects few and known (``lineage``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ..model import Labels
from ..targets import Target

_MASK = (1 << 64) - 1
_JUMP_MULTIPLIER = 2862933555777941757
"""The 64-bit linear congruential step of the jump consistent hash (the paper's constant)."""


def target_key(target: Target) -> int:
    """A 64-bit hash of the target's job and final labels, the same in every process."""
    return identity_key(target.job, target.labels)


def identity_key(job: str, labels: Labels) -> int:
    """``target_key`` of a target of job ``job`` with final labels ``labels``."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(job.encode())
    for name, value in labels:
        digest.update(b"\0" + name.encode() + b"\0" + value.encode())
    return int.from_bytes(digest.digest(), "big")


def jump(key: int, shards: int) -> int:
    """The shard (``0 <= shard < shards``) of a 64-bit ``key``."""
    bucket, candidate = -1, 0
    while candidate < shards:
        bucket = candidate
        key = (key * _JUMP_MULTIPLIER + 1) & _MASK
        candidate = int((bucket + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return bucket


def assign(keys: Sequence[int], shards: int) -> list[int]:
    """The shard of each key, in order."""
    return [jump(key, shards) for key in keys]
