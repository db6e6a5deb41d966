"""The invocation's deadline: every wait in the pipeline is bounded by it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

SAFETY_MARGIN_SECONDS = 2.0
"""Time kept back from the Lambda timeout to build and return the summary and flush logs."""

SPILL_RESERVE = (5.0, 0.15)
"""Sends stop this long before the deadline (seconds, or this fraction of the invocation's time
if less), leaving time to write what is pending to the backlog (S3 calls are bounded to fit:
``backlog.store``)."""

SEND_RESERVE = (8.0, 0.3)
"""Scrapes stop this long before the deadline (seconds, or this fraction of the invocation's
time if less), leaving time to translate and send (or spill)."""


@dataclass
class Deadline:
    """A point in monotonic time after which no new work may start.

    >>> d = Deadline.after(30.0)
    >>> 0 < d.remaining() <= 30.0
    True
    """

    at: float
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(clock() + seconds, clock)

    @classmethod
    def from_context(cls, context: object, default_seconds: float = 60.0) -> Deadline:
        """From a Lambda context's remaining time, less ``SAFETY_MARGIN_SECONDS``."""
        get_remaining = getattr(context, "get_remaining_time_in_millis", None)
        remaining = get_remaining() / 1000.0 if callable(get_remaining) else default_seconds
        return cls.after(max(0.0, remaining - SAFETY_MARGIN_SECONDS))

    def remaining(self) -> float:
        return max(0.0, self.at - self.clock())

    def expired(self) -> bool:
        return self.clock() >= self.at

    def bound(self, seconds: float) -> float:
        """``seconds``, shortened so it does not run past the deadline."""
        return min(seconds, self.remaining())

    def reserve(self, reserve: tuple[float, float]) -> Deadline:
        """A deadline earlier by ``reserve``'s seconds, or by its fraction of the time left now
        if that is less (so a short invocation keeps time for its own work)."""
        seconds, fraction = reserve
        return self.earlier(min(seconds, fraction * self.remaining()))

    def earlier(self, seconds: float) -> Deadline:
        """A deadline ``seconds`` before this one (same clock)."""
        return Deadline(self.at - seconds, self.clock)

    def within(self, seconds: float) -> Deadline:
        """This deadline, or ``seconds`` from now if that comes first."""
        return Deadline(min(self.at, self.clock() + seconds), self.clock)
