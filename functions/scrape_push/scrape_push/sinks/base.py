"""What every sink is: something that takes the cycle's samples and reports what it did."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..deadline import Deadline
from ..model import Sample

MAX_ERRORS_KEPT = 5
"""Distinct error messages kept per sink per invocation (the count is always complete)."""


@dataclass
class SinkReport:
    """One sink's outcome for one invocation. Every sample offered is sent, dropped, rejected or
    failed: ``offered == sent + sum(dropped.values()) + rejected + failed``."""

    name: str
    kind: str
    offered: int = 0
    sent: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    """Samples deliberately not sent, by reason (``nan_or_inf``, ``timestamp_out_of_range`` ...)."""
    rejected: int = 0
    """Samples in requests the destination refused for good (e.g. HTTP 400): not retried."""
    failed: int = 0
    """Samples in requests that did not succeed (not delivered)."""
    adjusted: Counter[str] = field(default_factory=Counter)
    """Samples sent with a changed name or label (sanitised, truncated), by reason."""
    requests: int = 0
    failed_requests: int = 0
    errors: list[str] = field(default_factory=list)
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
    def ok(self) -> bool:
        return self.failed == 0 and self.rejected == 0

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
            "adjusted": dict(sorted(self.adjusted.items())),
            "requests": self.requests,
            "failed_requests": self.failed_requests,
            "errors": list(self.errors),
            "warnings": list(self.warnings),
        }


class Sink(Protocol):
    """A destination for samples. ``push`` never raises for the destination's own faults."""

    name: str
    kind: str

    def push(self, samples: Sequence[Sample], deadline: Deadline) -> SinkReport:
        """Deliver ``samples`` before ``deadline``; account for every one in the report."""
        ...
