"""Which targets a shard no longer has left the fleet (their series end) and which moved.

A shard's invocation remembers targets it scraped before: its warm series caches and its
staleness record. One it remembers but was not given this cycle either left the fleet (removed
from the configuration or its discovery: Prometheus's end-of-run staleness marks its series and
its ``up`` and ``scrape_*`` stale) or moved to another shard because the count changed (its new
shard scrapes the same series: marking them stale would end series that are still scraped).
A target *left the fleet* when:

* the planner says so: it lists, per shard, the identities that shard's last cycle scraped (its
  series counts in the state table, ``state``) and that are not among this cycle's targets
  (``departures_of``, carried in the shard's message as ``left``); or
* it still maps to this shard under this cycle's count (``assign.jump``): the planner places
  every target of the fleet by that map, so one that maps here and is not here is in no shard.

Either alone misses a case: without the planner's list (no state table, the counts unreadable,
a message of an older planner, more than ``MAX_LEFT_TARGETS``), a target removed in the cycle
the count changes may map elsewhere now; without the map, a target the counts did not hold. A
target that maps elsewhere and is not listed moved, and ends nothing.

When the count goes down, a removed shard ``r`` no longer runs: the shard that inherits its
backlogs (``r % count``, ``lineage``) also *adopts* its departures for that cycle — the planner
lists the targets of ``r``'s last cycle that left the fleet with its own, and names ``r``, whose
staleness record that shard reads to mark them (``Departures.adopt``). The planner's own cycle
(a count of one) does the same for every removed shard.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from .assign import identity_key, jump

if TYPE_CHECKING:
    from ..model import Labels
    from ..scrape import EndedTarget

MAX_LEFT_TARGETS: Final = 10_000
"""Identities one shard message lists as gone (8 bytes each, 11 characters of base64: about
107 KB, a tenth of SQS's 1 MiB message, ``message.MAX_MESSAGE_BYTES``); past it the others
rely on the jump-hash rule alone. A shard scrapes at most 5,000 targets
(``sizing.MAX_TARGETS_PER_SHARD``)."""

_KEY: Final = struct.Struct(">Q")


@dataclass(frozen=True)
class Departures:
    """What a shard's invocation knows of the targets that left the fleet this cycle."""

    shard: int
    shards: int
    left: frozenset[int] = field(default_factory=frozenset)
    """Identity keys (``assign.identity_key``) the planner says left the fleet since this
    shard's last cycle (and the last cycle of the removed shards it adopts)."""
    adopt: tuple[int, ...] = ()
    """Removed shards whose staleness records this shard reads, to end the targets listed."""

    def listed(self, job: str, labels: Labels) -> bool:
        """Whether the planner lists the target of ``job`` and ``labels`` as gone."""
        return identity_key(job, labels) in self.left

    def ended(self, target: EndedTarget) -> bool:
        """Whether ``target``, remembered by this shard and not given it this cycle, left the
        fleet (its markers are sent), rather than moved to another shard (they are not)."""
        key = identity_key(target.job, target.labels)
        return key in self.left or jump(key, self.shards) == self.shard


def departures_of(
    last: Mapping[int, Collection[int]], fleet: Collection[int], shards: int
) -> list[Departures]:
    """Per shard of a cycle of ``shards``: the identities its last cycle scraped (``last``, by
    shard) that are not in this cycle's ``fleet``, and those of the removed shards it adopts (at
    most ``MAX_LEFT_TARGETS`` in all, the smallest keys: which does not matter, only that it is
    bounded)."""
    present = fleet if isinstance(fleet, set | frozenset) else set(fleet)
    gone = {shard: [key for key in keys if key not in present] for shard, keys in last.items()}
    out = []
    for shard in range(shards):
        keys = list(gone.get(shard, ()))
        adopt = tuple(old for old in sorted(gone) if old >= shards and old % shards == shard and gone[old])
        for old in adopt:
            keys += gone[old]
        out.append(Departures(shard, shards, frozenset(sorted(keys)[:MAX_LEFT_TARGETS]), adopt))
    return out


def pack_keys(keys: Collection[int]) -> str:
    """``keys`` as the base64 of their 8-byte big-endian values, sorted (a message field)."""
    return base64.b64encode(b"".join(_KEY.pack(key) for key in sorted(keys))).decode()


def unpack_keys(text: str) -> Sequence[int]:
    """The keys of ``pack_keys``; ``ValueError`` when ``text`` is not such a field."""
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"not base64: {exc}") from None
    if len(raw) % _KEY.size or len(raw) > MAX_LEFT_TARGETS * _KEY.size:
        raise ValueError(f"not at most {MAX_LEFT_TARGETS} 8-byte keys")
    return [key for (key,) in _KEY.iter_unpack(raw)]
