"""Delivery without a backlog: send a kind's requests and account for every one of them.

``DirectSink`` is what a sink is when its backlog is off (or no bucket is configured): what it
cannot deliver before the deadline is counted as failed, i.e. lost. ``backlog.durable`` builds on
the same accounting to keep that data instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .deadline import Deadline
from .model import Sample
from .sinks.base import Kind, Request, Result, SinkReport


def count_request(report: SinkReport, result: Result) -> None:
    """Request counters: every attempted request, and those that did not succeed."""
    if result.status != "skipped":
        report.requests += 1
    if result.status in ("failed", "rejected"):
        report.failed_requests += 1


def note_side_requests(report: SinkReport, pairs: Iterable[tuple[Request, Result]]) -> None:
    """Requests that carry no samples (Remote Write metadata): a failure is only a warning."""
    for _, result in pairs:
        count_request(report, result)
        if result.status == "failed":
            report.warn(f"metadata {result.error}")
        elif result.status == "rejected":
            report.warn(str(result.error))


def error_of(request: Request, result: Result) -> str:
    """What went wrong, for the report's errors (counts are in the report's fields)."""
    if result.status == "rejected":
        return f"{result.error} ({request.samples} samples rejected, not retried)"
    return result.error or "not sent"


def deliver_now(kind: Kind, samples: Sequence[Sample], deadline: Deadline) -> SinkReport:
    """Prepare and send; whatever is not delivered is counted as rejected or failed."""
    report = SinkReport(kind.name, kind.kind, offered=len(samples))
    requests = kind.prepare(samples, report, deadline)
    if not requests:
        return report
    results = kind.deliver(requests, deadline, report)
    pairs = list(zip(requests, results, strict=True))
    note_side_requests(report, ((r, res) for r, res in pairs if not r.durable))
    for request, result in pairs:
        if not request.durable:
            continue
        count_request(report, result)
        if result.status == "sent":
            report.sent += request.samples
            continue
        if result.status == "rejected":
            report.rejected += request.samples
        else:
            report.failed += request.samples
        if result.status != "skipped":  # a skipped request only follows a failure already reported
            report.error(error_of(request, result))
    return report


class DirectSink:
    """A sink without a backlog: sends within the deadline, counts the rest as failed."""

    def __init__(self, kind: Kind) -> None:
        self.target = kind
        self.name = kind.name
        self.kind = kind.kind

    def open(self, deadline: Deadline) -> None:
        """Nothing to do before the samples arrive."""

    def push(self, samples: Sequence[Sample], deadline: Deadline) -> SinkReport:
        return deliver_now(self.target, samples, deadline)

    def close(self) -> None:
        """Nothing held."""
