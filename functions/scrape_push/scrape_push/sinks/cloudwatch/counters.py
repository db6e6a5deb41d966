"""Increases of cumulative values between two scrapes: pure, no I/O.

A tracked series is a vector of cumulative values (a counter: ``[value]``; a histogram: its
bucket counts, then ``_count``, then ``_sum``) seen at a timestamp, with its ``_created`` time
when exposed. The increase since the previous sight is what ``delta`` sends, divided by the
seconds between the two scrapes it is what ``rate`` sends.

* First sight (no previous point): nothing to send; the point is remembered.
* A reset (a monotonic value went down, or ``_created`` moved forward): the series restarted
  from zero, so the increase is the current value, never negative.
* A changed bucket layout, or a timestamp that did not move forward: nothing to send.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True, slots=True)
class CumulativePoint:
    """A series' cumulative values at one scrape."""

    ts_ms: int
    values: tuple[float, ...]
    created: float | None = None
    layout: str = ""
    """What the values mean (a histogram's bucket bounds); a change makes the previous unusable."""


class Skip(Enum):
    """Why a series sends nothing this time."""

    FIRST_SIGHT = "first_sight"
    LAYOUT_CHANGED = "layout_changed"
    NOT_ADVANCED = "timestamp_not_advanced"


@dataclass(frozen=True, slots=True)
class Increase:
    """The per-component increase over ``seconds``; ``reset`` when counted from zero."""

    values: tuple[float, ...]
    seconds: float
    reset: bool


def increase(
    previous: CumulativePoint | None, current: CumulativePoint, monotonic: int | None = None
) -> Increase | Skip:
    """The increase from ``previous`` to ``current``.

    Only the first ``monotonic`` components (all when ``None``) are checked for a reset: a
    histogram's ``_sum`` may legitimately go down when negative values are observed.

    >>> increase(CumulativePoint(0, (5.0,)), CumulativePoint(60_000, (8.0,)))
    Increase(values=(3.0,), seconds=60.0, reset=False)
    >>> increase(CumulativePoint(0, (5.0,)), CumulativePoint(60_000, (2.0,))).values
    (2.0,)
    """
    if previous is None:
        return Skip.FIRST_SIGHT
    if previous.layout != current.layout or len(previous.values) != len(current.values):
        return Skip.LAYOUT_CHANGED
    seconds = (current.ts_ms - previous.ts_ms) / 1000.0
    if seconds <= 0:
        return Skip.NOT_ADVANCED
    checked = current.values if monotonic is None else current.values[:monotonic]
    restarted = (
        current.created is not None and previous.created is not None and current.created > previous.created
    )
    if restarted or any(c < p for c, p in zip(checked, previous.values, strict=False)):
        return Increase(current.values, seconds, True)
    return Increase(
        tuple(c - p for c, p in zip(current.values, previous.values, strict=True)), seconds, False
    )
