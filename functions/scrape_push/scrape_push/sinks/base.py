"""What every sink is: something that takes the cycle's samples and reports what it did."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from typing import Final, Generic, Literal, Protocol, TypeVar

from ..backlog.report import BacklogReport
from ..deadline import Deadline
from ..model import Sample, SeriesRef, is_stale

MAX_ERRORS_KEPT = 5
"""Distinct error messages kept per sink per invocation (the count is always complete)."""

SERIES_KEPT_PER_SAMPLE: Final = 4
SERIES_KEPT_FLOOR: Final = 100_000
"""The hard cap of a sink's per-series memory (``SeriesMemory``): four times the samples a
cycle offers, at least 100,000 entries. The scrape stage tells the sinks which series are gone,
so a memory holds the series of the last cycles; past the cap (a leak, or a cycle far smaller
than the ones before) it starts afresh, which costs one cycle the per-series work again."""

STALE_MARKER: Final = "stale_marker"
"""The ``dropped`` reason of the staleness markers a sink cannot carry (CloudWatch, Graphite,
OTLP): expected, not a fault, so neither the logs nor ``SamplesDropped`` count them."""
_VALUE = itemgetter(2)

V = TypeVar("V")


class SeriesMemory(Generic[V]):
    """What one sink remembers per series (an encoding, a name), keyed by ``SeriesRef``."""

    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: dict[SeriesRef, V] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def forget(self, refs: Iterable[SeriesRef]) -> None:
        pop = self.entries.pop
        for ref in refs:
            pop(ref, None)

    def bound(self, offered: int) -> None:
        """Start afresh when over the hard cap for a cycle of ``offered`` samples."""
        if len(self.entries) > max(SERIES_KEPT_FLOOR, SERIES_KEPT_PER_SAMPLE * offered):
            self.entries.clear()


@dataclass
class SinkReport:
    """One sink's outcome for one invocation. Every sample offered is sent, dropped, rejected,
    spilled to the backlog or failed:
    ``offered == sent + sum(dropped.values()) + rejected + spilled + failed``."""

    name: str
    kind: str
    offered: int = 0
    sent: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    """Samples deliberately not sent, by reason (``nan_or_inf``, ``timestamp_out_of_range`` ...)."""
    rejected: int = 0
    """Samples in requests the destination refused for good (e.g. HTTP 400): not retried."""
    failed: int = 0
    """Samples neither delivered nor kept in a backlog: lost."""
    spilled: int = 0
    """Samples not delivered now but kept in the sink's durable backlog, to be replayed in order."""
    backlog: BacklogReport | None = None
    """The durable backlog's state and what this invocation did with it (``None``: no backlog)."""
    adjusted: Counter[str] = field(default_factory=Counter)
    """Samples sent with a changed name or label (sanitised, truncated), by reason."""
    requests: int = 0
    failed_requests: int = 0
    errors: list[str] = field(default_factory=list)
    """What went wrong, as the destination said it: it may echo a credential back, so the
    report is scrubbed wherever it leaves the process (summary, logs)."""
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        if message not in self.warnings and len(self.warnings) < MAX_ERRORS_KEPT:
            self.warnings.append(message)

    def drop(self, reason: str, count: int = 1) -> None:
        self.dropped[reason] += count

    def error(self, message: str) -> None:
        if message not in self.errors and len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(message)

    @property
    def faulty_drops(self) -> int:
        """Samples dropped for a reason the user may need to act on (not ``STALE_MARKER``)."""
        return sum(count for reason, count in self.dropped.items() if reason != STALE_MARKER)

    @property
    def lost(self) -> int:
        """Samples lost for good this invocation: not delivered and not kept, or discarded from
        the backlog past its bounds."""
        return self.failed + (self.backlog.lost_total if self.backlog else 0)

    @property
    def ok(self) -> bool:
        """Everything offered was delivered (or dropped by rule); nothing lost, rejected or queued,
        and no error reported (a sink that cannot work as configured says so in ``errors``)."""
        rejected = self.rejected + (self.backlog.rejected if self.backlog else 0)
        return self.lost == 0 and rejected == 0 and self.spilled == 0 and not self.errors

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "kind": self.kind,
            "ok": self.ok,
            "offered": self.offered,
            "sent": self.sent,
            "dropped": dict(sorted(self.dropped.items())),
            "rejected": self.rejected,
            "failed": self.failed,
            "spilled": self.spilled,
            "adjusted": dict(sorted(self.adjusted.items())),
            "requests": self.requests,
            "failed_requests": self.failed_requests,
            "errors": list(self.errors),
            "warnings": list(self.warnings),
            "backlog": self.backlog.to_dict() if self.backlog else None,
        }


def without_markers(samples: Sequence[Sample], report: SinkReport) -> Sequence[Sample]:
    """``samples`` less the staleness markers, counted in ``report`` as ``STALE_MARKER``, for a
    sink that has no such thing. A cycle without NaN (the common case) costs one C-level pass."""
    if not any(map(math.isnan, map(_VALUE, samples))):
        return samples
    kept = [sample for sample in samples if not is_stale(sample.value)]
    if len(kept) == len(samples):
        return samples
    report.drop(STALE_MARKER, len(samples) - len(kept))
    return kept


Status = Literal["sent", "rejected", "failed", "skipped"]


@dataclass(frozen=True)
class Result:
    """How one request ended: ``sent`` (all of it, or all but ``refused``); ``rejected`` for
    good (never retried); ``failed`` (not delivered after the sink's retries); ``skipped`` (not
    attempted: the destination was already failing, or the deadline came)."""

    status: Status
    error: str | None = None
    refused: int = 0
    """Of a ``sent`` request, the samples the destination took the request for but refused
    (an OTLP partial success; ``error`` says why): counted as rejected, never retried."""


class Request:
    """One request exactly as a sink sends it: its encoded body (made on first use), how many
    samples it carries, and its chain (a chain's requests go in order, one at a time).

    ``durable`` requests can be kept in a backlog and replayed; the others (Remote Write
    metadata) are simply sent again next cycle. ``live`` is the sink's own unencoded form, when
    cheaper to send than the body.
    """

    __slots__ = ("_body", "_make", "chain", "durable", "live", "samples")

    def __init__(
        self,
        samples: int,
        *,
        body: bytes | None = None,
        make: Callable[[], bytes] | None = None,
        live: object = None,
        chain: int = 0,
        durable: bool = True,
    ) -> None:
        if body is None and make is None:
            raise ValueError("a request needs a body or a way to make it")
        self.samples = samples
        self._body = body
        self._make = make
        self.live = live
        self.chain = chain
        self.durable = durable

    def body(self) -> bytes:
        if self._body is None:
            assert self._make is not None
            self._body = self._make()
            self._make = None
        return self._body

    def delivered(self) -> None:
        """Let the body go: a cycle's requests are held until its push ends, and once one is
        delivered its body is never needed again (only what is not delivered is kept)."""
        self._body = self._make = None


@dataclass(frozen=True)
class Prepared:
    """What ``Sink.prepare`` made of a cycle's samples: the requests to send, or, for a sink
    whose requests depend on state kept outside the process (CloudWatch's counter state in
    DynamoDB), the named step that reads and writes that state and then builds them."""

    requests: list[Request] = field(default_factory=list)
    settle: Callable[[Deadline, SinkReport], list[Request]] | None = None
    """The state step: given the time it has, it returns the requests (``None``: none needed)."""

    def resolve(self, deadline: Deadline, report: SinkReport) -> list[Request]:
        """The requests, after the state step if there is one."""
        return self.requests if self.settle is None else self.settle(deadline, report)


_HISTOGRAM: Final = attrgetter("histogram")


def histograms_apart(samples: Sequence[Sample]) -> tuple[Sequence[Sample], list[Sample]]:
    """``samples`` without their native histogram samples, and those (a C-level pass when
    there are none, the common case). Every sink takes them apart: it sends them its own way,
    or counts them dropped (``NATIVE_HISTOGRAM``)."""
    if not any(map(_HISTOGRAM, samples)):
        return samples, []
    plain = [sample for sample in samples if sample.histogram is None]
    return plain, [sample for sample in samples if sample.histogram is not None]


NATIVE_HISTOGRAM: Final = "native_histogram"
"""The drop reason of a native histogram sample a sink does not send (docs/parser.md#protobuf)."""


class Sink(Protocol):
    """What one kind of destination does: translate samples into requests, and send requests.

    ``prepare`` is pure translation (with the sink's own warm per-series encodings, keyed by
    each sample's ``SeriesRef``); ``deliver`` is transport. A delivery (``delivery.Delivery``)
    wraps a sink: it accounts for every request and keeps what cannot be delivered in the
    backlog.
    """

    name: str
    kind: str
    default_max_age: float
    """Seconds a backlog item stays replayable by default (the destination's accepted window)."""

    def prepare(self, samples: Sequence[Sample], report: SinkReport) -> Prepared:
        """Encode ``samples``; count what is dropped or adjusted in ``report``. No I/O."""
        ...

    def deliver(self, requests: Sequence[Request], deadline: Deadline, report: SinkReport) -> list[Result]:
        """Send ``requests`` (the live form or the body), one ``Result`` each, in order; only
        warnings go to ``report``. Never raises for the destination's own faults."""
        ...

    def load(self, body: bytes, samples: int, chain: int) -> Request:
        """A request from a body this sink encoded earlier (replay from the backlog)."""
        ...

    def forget(self, refs: Iterable[SeriesRef]) -> None:
        """Drop what the sink keeps for these series: the scrape stage no longer has them (gone
        from their target, the target gone). Called after the cycle's samples were pushed."""
        ...

    def close(self) -> None:
        """Release what the sink holds across invocations (pooled connections)."""
        ...
