"""Deliveries: how a sink's requests are sent, accounted for and (when durable) kept.

A ``Delivery`` wraps one ``Sink`` for a cycle. ``DirectDelivery`` sends within the deadline and
counts what it could not deliver as failed, i.e. lost; ``backlog.durable.DurableDelivery`` keeps
that data in S3 and replays it in order. Both account for what they sent with ``account``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .deadline import Deadline
from .model import Sample
from .sinks.base import Request, Result, Sink, SinkReport


class Delivery(Protocol):
    """One sink's delivery for a cycle. ``push`` never raises for the destination's own faults."""

    sink: Sink
    name: str
    kind: str

    def open(self, deadline: Deadline) -> None:
        """Start the cycle's work that needs no samples (take the lease, replay the backlog)."""
        ...

    def push(self, samples: Sequence[Sample], deadline: Deadline) -> SinkReport:
        """Deliver ``samples`` before ``deadline``; account for every one in the report."""
        ...

    def close(self) -> None:
        """End the cycle (release the lease). Safe to call more than once."""
        ...


@dataclass
class Unsent:
    """The requests carrying samples that ``account`` found not delivered."""

    rejected: list[Request] = field(default_factory=list)
    """Refused for good by the destination (never retried)."""
    pending: list[Request] = field(default_factory=list)
    """Failed after the sink's retries, or not attempted (the destination was failing, the
    deadline came): worth another try."""
    errors: list[str] = field(default_factory=list)
    """What went wrong with each of them, in order."""


def account(report: SinkReport, requests: Sequence[Request], results: Sequence[Result]) -> Unsent:
    """Count how ``requests`` ended in ``report``: every attempt in the request counters, the
    samples of those delivered as sent (but those the destination refused in a partial success,
    as rejected), and an error (a warning for a request that carries no samples, such as Remote
    Write metadata) for each that was not. What was not delivered is
    returned for the caller to count as lost or to keep."""
    unsent = Unsent()
    for request, result in zip(requests, results, strict=True):
        count_attempt(report, result)
        if not request.durable:
            if result.status == "failed":
                report.warn(f"metadata {result.error}")
            elif result.status == "rejected":
                report.warn(str(result.error))
            continue
        if result.status == "sent":
            report.sent += request.samples - result.refused
            if result.refused:
                report.rejected += result.refused
                report.error(describe(request, result))
            elif result.error:
                report.warn(result.error)
            continue
        unsent.errors.append(result.error or "not sent")
        if result.status != "skipped":  # a skipped request only follows a failure already reported
            report.error(describe(request, result))
        (unsent.rejected if result.status == "rejected" else unsent.pending).append(request)
    return unsent


def count_attempt(report: SinkReport, result: Result) -> None:
    """The request counters: every attempted request, and those that did not succeed."""
    if result.status != "skipped":
        report.requests += 1
    if result.status in ("failed", "rejected"):
        report.failed_requests += 1


def describe(request: Request, result: Result) -> str:
    """What went wrong, for the report's errors (counts are in the report's fields)."""
    if result.status == "rejected":
        return f"{result.error} ({request.samples} samples rejected, not retried)"
    if result.status == "sent" and result.refused:
        return f"{result.error} ({result.refused} samples rejected, not retried)"
    return result.error or "not sent"


def samples_in(requests: Sequence[Request]) -> int:
    return sum(request.samples for request in requests)


class DirectDelivery:
    """A sink without a backlog: sends within the deadline, counts the rest as failed."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.name = sink.name
        self.kind = sink.kind

    def open(self, deadline: Deadline) -> None:
        """Nothing to do before the samples arrive."""

    def push(self, samples: Sequence[Sample], deadline: Deadline) -> SinkReport:
        """Prepare and send; whatever is not delivered is counted as rejected or failed."""
        report = SinkReport(self.name, self.kind, offered=len(samples))
        requests = self.sink.prepare(samples, report).resolve(deadline, report)
        if not requests:
            return report
        unsent = account(report, requests, self.sink.deliver(requests, deadline, report))
        report.rejected += samples_in(unsent.rejected)
        report.failed += samples_in(unsent.pending)
        return report

    def close(self) -> None:
        """Nothing held."""
