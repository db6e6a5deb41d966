"""The memory budget of a cycle, from the function's size (docs/scaling.md, "Memory budget of a
cycle", gives the formula and the measured figures behind each constant).

What a function may use beyond its baseline is split in two pools:

* ``scrapes``, for work in flight: each running scrape charges the body it reads and the
  parse it will do. Every concurrent scrape has a slice of its own (half the pool split evenly),
  so a hostile target can never starve a small healthy one; beyond its slice a scrape borrows
  from the shared half, so a big target that fits the function alone still succeeds. After the
  scrapes, the sinks translate and send within the same share of memory.
* ``retained``, for the samples kept until the sinks finish: each target charges what it keeps,
  with a slice of its own and the shared rest, in the same way.

A scrape that cannot get what it needs fails alone, with one line naming the budget.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Final

from .limits import LimitExceeded
from .parse import CHUNK_BYTES, newlines

MIB: Final = 1024 * 1024

DEFAULT_MEMORY_MB: Final = 512
"""Function size assumed when the context has no ``memory_limit_in_mb`` (the CLI): the
template's default ``MemorySize``."""

BASELINE_MB: Final = 96
"""What the function holds before a cycle allocates anything: the Python runtime, boto3,
Powertools, requests and the package, warm (measured 55 MiB RSS, plus Lambda's own runtime
process; docs/scaling.md)."""

MIN_USABLE_MB: Final = 32
"""The budget never goes below this, so a function configured smaller still scrapes small targets."""

RETAINED_SHARE: Final = 0.75
"""Fraction of the usable memory for samples kept until the sinks finish."""

OWN_SLICE_SHARE: Final = 0.5
"""Fraction of each pool split evenly into slices no other party can take."""

BODY_BYTES_PER_BYTE: Final = 2
"""Charged per byte of (decompressed) body as it is read: the body itself, and the buffer it is
read into growing by doubling (docs/scaling.md)."""

PARSE_BYTES_PER_LINE: Final = 600
PARSE_BYTES_PER_BYTE: Final = 4
"""Charged before parsing, for what a parse holds besides the samples it builds: the lines of
one chunk (``parse.CHUNK_BYTES`` of text) with what the parser makes of each (measured 355 to
520 bytes a line, more for a long line: 4 bytes of text per byte at most; docs/scaling.md)."""

SINK_BYTES_PER_SAMPLE: Final = 600
"""Charged per sample kept, on top of what the parse keeps (``limits.ScrapeBudget``'s estimate):
the sinks' per-series encodings and the requests they build from the samples (fitted to the
measured peak of a cycle; docs/scaling.md)."""


def parse_working_bytes(body: bytes) -> int:
    """What parsing ``body`` holds at most besides the samples it builds: one chunk's lines."""
    size = len(body)
    chunk = min(size, CHUNK_BYTES)
    lines_per_chunk = newlines(body) * chunk // size if size else 0
    return lines_per_chunk * PARSE_BYTES_PER_LINE + chunk * PARSE_BYTES_PER_BYTE


class BudgetExceeded(LimitExceeded):
    """A scrape needs more memory than its budget allows; the message names the budget (a
    ``LimitExceeded``, so it stops a parse like any other limit)."""


class Pool:
    """Memory shared by ``parties``: a slice each, and a shared rest borrowed first come."""

    def __init__(self, name: str, total: int, parties: int) -> None:
        self.name = name
        self.total = total
        self.parties = max(1, parties)
        self.slice = int(total * OWN_SLICE_SHARE) // self.parties
        self.shared = total - self.slice * self.parties
        self._free = self.shared
        self._lock = threading.Lock()

    def borrow(self, nbytes: int) -> bool:
        with self._lock:
            if nbytes > self._free:
                return False
            self._free -= nbytes
            return True

    def give_back(self, nbytes: int) -> None:
        with self._lock:
            self._free += nbytes


@dataclass
class Account:
    """One party's use of a pool (one running scrape, or one target's kept samples)."""

    pool: Pool
    memory_mb: int
    used: int = 0
    borrowed: int = 0
    _closed: bool = field(default=False, repr=False)

    def charge(self, nbytes: int, what: str) -> None:
        """Add ``nbytes`` to what this party uses; ``BudgetExceeded`` if the pool cannot give it."""
        self.used += nbytes
        over = self.used - self.pool.slice - self.borrowed
        if over > 0:
            if not self.pool.borrow(over):
                self.used -= nbytes
                raise BudgetExceeded(self._message(nbytes, what))
            self.borrowed += over

    def release(self) -> None:
        """Return what was borrowed (the party's work is over)."""
        if not self._closed:
            self._closed = True
            self.pool.give_back(self.borrowed)
            self.used = self.borrowed = 0

    def _message(self, nbytes: int, what: str) -> str:
        pool = self.pool
        return (
            f"memory budget exceeded while {what}: {_mib(self.used + nbytes)} needed, "
            f"{_mib(pool.slice)} own + {_mib(pool.shared)} shared by {pool.parties} {pool.name} "
            f"(function memory {self.memory_mb} MB; see docs/scaling.md)"
        )


def _mib(nbytes: int) -> str:
    return f"{nbytes / MIB:.1f} MiB"


@dataclass
class MemoryBudget:
    """The pools of one cycle (see the module docstring)."""

    memory_mb: int
    scrapes: Pool
    retained: Pool

    @classmethod
    def plan(cls, memory_mb: int | None, concurrency: int, targets: int) -> MemoryBudget:
        """The budget of a cycle of ``targets`` scraped ``concurrency`` at a time."""
        size = memory_mb if memory_mb and memory_mb > 0 else DEFAULT_MEMORY_MB
        usable = max(MIN_USABLE_MB, size - BASELINE_MB) * MIB
        retained = int(usable * RETAINED_SHARE)
        return cls(
            size,
            Pool("concurrent scrapes", usable - retained, min(concurrency, max(1, targets))),
            Pool("targets' kept samples", retained, targets),
        )

    def scrape_account(self) -> Account:
        return Account(self.scrapes, self.memory_mb)

    def retained_account(self) -> Account:
        return Account(self.retained, self.memory_mb)


def memory_of(context: object) -> int | None:
    """The function's memory in MB from a Lambda context (``None`` when it has none)."""
    value = getattr(context, "memory_limit_in_mb", None)
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
