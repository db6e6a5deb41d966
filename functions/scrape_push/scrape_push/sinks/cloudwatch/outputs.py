"""What the translation produces: outputs ready to send and tracked series awaiting their
previous points (see translate.py)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from ...model import Family, Labels, SeriesRef
from .counters import CumulativePoint
from .rules import Settings

Target = tuple[str, str]
"""A series' ``(job, instance)``: its state lives in that target's item."""


@dataclass(slots=True)
class Out:
    """One value (or distribution) to send for one series."""

    name: str
    labels: Labels
    settings: Settings
    timestamp_ms: int
    value: float
    unit: str | None
    weight: int = 1
    """How many scraped samples this output accounts for (0 for derived extras)."""
    extra: str | None = None
    """``le`` or ``quantile``: a label made a dimension although ``dimensions`` omits it."""
    values: list[float] | None = None
    counts: list[float] | None = None
    ref: SeriesRef | None = None
    """The series of the sample it comes from, when it is the only output of that series (its
    CloudWatch series is then remembered by ref); ``None`` for derived outputs."""


@dataclass(slots=True)
class Tracked:
    """A series whose increase is sent, with its current cumulative point."""

    kind: Literal["counter", "histogram", "native"]
    target: Target
    state_id: str
    """The series' id in its target's state item (``state.state_id``)."""
    name: str
    labels: Labels
    family: Family
    settings: Settings
    point: CumulativePoint
    weight: int = 1
    extra: str | None = None
    bounds: tuple[float, ...] = ()
    ref: SeriesRef | None = None


@dataclass
class Grouped:
    """One cycle's samples, sorted: ready outputs, tracked series, and what was dropped."""

    outs: list[Out] = field(default_factory=list)
    tracked: list[Tracked] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
