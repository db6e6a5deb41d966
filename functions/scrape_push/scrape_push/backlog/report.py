"""What a sink's durable backlog reports for one invocation (part of the sink's report)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class BacklogReport:
    """A sink's durable backlog for one invocation: what was replayed, discarded or rejected, and
    what is still waiting (as seen by the invocation holding the sink's lease)."""

    replayed: int = 0
    """Samples delivered from the backlog."""
    rejected: int = 0
    """Samples from the backlog the destination refused for good (kept under ``rejected/``)."""
    lost: Counter[str] = field(default_factory=Counter)
    """Samples discarded by rule, by reason (``max_age``, ``max_size``, ``unreadable``)."""
    objects: int = 0
    samples: int = 0
    bytes: int = 0
    oldest_age_seconds: float = 0.0
    """Age of the oldest waiting item (from its scrape time); 0 when the backlog is empty."""
    lease: str = "held"
    """``held``: this invocation replayed and sent; ``busy``: another invocation held the sink,
    so this one queued its batches behind it; ``unavailable``: the lease table failed (sent
    without replaying); ``none``: no lease table configured."""

    @property
    def lost_total(self) -> int:
        return sum(self.lost.values())

    def to_dict(self) -> dict[str, object]:
        return {
            "lease": self.lease,
            "replayed": self.replayed,
            "rejected": self.rejected,
            "lost": dict(sorted(self.lost.items())),
            "objects": self.objects,
            "samples": self.samples,
            "bytes": self.bytes,
            "oldest_age_seconds": round(self.oldest_age_seconds, 3),
        }
