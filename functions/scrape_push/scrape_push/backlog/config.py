"""``backlog:`` in a sink's configuration: bounds of the sink's durable backlog."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..config.errors import FieldError
from ..config.values import parse_duration, parse_size

DEFAULT_MAX_BYTES = 1024**3
"""1 GiB of encoded requests per sink: days of a large target at one cycle a minute."""

DEFAULT_REPLAY_SECONDS = 20.0
"""Replay time per invocation (it runs while the targets are scraped)."""

MAX_AGE_LIMIT_SECONDS = 14 * 86400.0
"""No sink accepts samples older than CloudWatch's two weeks; the bucket's lifecycle rule
(``BacklogRetentionDays``, 15 by default) removes anything left longer."""


@dataclass(frozen=True)
class BacklogConfig:
    """What a sink keeps when it cannot deliver, and for how long."""

    enabled: bool = field(
        default=True,
        metadata={"doc": "keep undelivered batches (needs the BACKLOG_BUCKET the template creates)"},
    )
    max_age: float | None = field(
        default=None,
        metadata={
            "parse": parse_duration,
            "doc": "discard (and count) items scraped longer ago",
            "derived": "the sink kind's window: 13d for CloudWatch, 1d for Graphite, "
            "1h for Remote Write and OTLP",
        },
    )
    max_size: int = field(
        default=DEFAULT_MAX_BYTES,
        metadata={"parse": parse_size, "doc": "discard (and count) the oldest items past this size"},
    )
    replay_time: float = field(
        default=DEFAULT_REPLAY_SECONDS,
        metadata={"parse": parse_duration, "doc": "time per invocation spent replaying the backlog"},
    )

    def with_max_age(self, default: float) -> BacklogConfig:
        """This backlog with ``max_age`` filled in from its sink kind's ``default``."""
        return replace(self, max_age=self.max_age or default)

    def check(self) -> None:
        if self.max_age is not None and not 0 < self.max_age <= MAX_AGE_LIMIT_SECONDS:
            raise FieldError("must be greater than 0 and at most 14d", "max_age")
        if self.max_size <= 0:
            raise FieldError("must be greater than 0", "max_size")
        if self.replay_time <= 0:
            raise FieldError("must be greater than 0", "replay_time")
