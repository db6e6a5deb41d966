"""Increases between scrapes: first sight, resets, layout changes, time not moving forward."""

from __future__ import annotations

import pytest
from scrape_push.sinks.cloudwatch.counters import CumulativePoint, Increase, Skip, increase

CASES = {
    "first sight": (None, CumulativePoint(60_000, (5.0,)), None, Skip.FIRST_SIGHT),
    "steady increase": (
        CumulativePoint(0, (5.0,)),
        CumulativePoint(60_000, (8.0,)),
        None,
        Increase((3.0,), 60.0, False),
    ),
    "no change": (
        CumulativePoint(0, (5.0,)),
        CumulativePoint(30_000, (5.0,)),
        None,
        Increase((0.0,), 30.0, False),
    ),
    "value went down: reset counts from zero": (
        CumulativePoint(0, (50.0,)),
        CumulativePoint(60_000, (4.0,)),
        None,
        Increase((4.0,), 60.0, True),
    ),
    "newer _created: reset even though the value grew": (
        CumulativePoint(0, (5.0,), created=100.0),
        CumulativePoint(60_000, (9.0,), created=160.0),
        None,
        Increase((9.0,), 60.0, True),
    ),
    "same _created: plain increase": (
        CumulativePoint(0, (5.0,), created=100.0),
        CumulativePoint(60_000, (9.0,), created=100.0),
        None,
        Increase((4.0,), 60.0, False),
    ),
    "timestamp did not advance": (
        CumulativePoint(60_000, (5.0,)),
        CumulativePoint(60_000, (6.0,)),
        None,
        Skip.NOT_ADVANCED,
    ),
    "timestamp went back": (
        CumulativePoint(60_000, (5.0,)),
        CumulativePoint(0, (6.0,)),
        None,
        Skip.NOT_ADVANCED,
    ),
    "bucket layout changed": (
        CumulativePoint(0, (1.0, 2.0), layout="0.1"),
        CumulativePoint(60_000, (1.0, 2.0), layout="0.5"),
        None,
        Skip.LAYOUT_CHANGED,
    ),
    "histogram _sum may decrease without a reset": (
        CumulativePoint(0, (1.0, 2.0, 5.0)),
        CumulativePoint(60_000, (2.0, 3.0, 4.0)),
        2,
        Increase((1.0, 1.0, -1.0), 60.0, False),
    ),
    "histogram count went down: reset": (
        CumulativePoint(0, (4.0, 9.0, 5.0)),
        CumulativePoint(60_000, (1.0, 2.0, 0.5)),
        2,
        Increase((1.0, 2.0, 0.5), 60.0, True),
    ),
}


@pytest.mark.parametrize("previous,current,monotonic,expected", CASES.values(), ids=CASES.keys())
def test_increase(
    previous: CumulativePoint | None, current: CumulativePoint, monotonic: int | None, expected: object
) -> None:
    assert increase(previous, current, monotonic) == expected


def test_rate_is_the_increase_per_second() -> None:
    found = increase(CumulativePoint(0, (10.0,)), CumulativePoint(30_000, (40.0,)))
    assert isinstance(found, Increase)
    assert tuple(v / found.seconds for v in found.values) == (1.0,)
