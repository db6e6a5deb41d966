"""A warm parse that follows the last scrape's series (``series._Reading``): while a body's
lines are the last scrape's, in their order, the series read are counted, not copied; the first
chunk that differs, or anyone asking for them, copies them. Checked against the same parses
with following turned off (every chunk's series noted one by one, as before it existed), on
bodies of several chunks drawn with what a target changes between scrapes."""

from __future__ import annotations

import gc
import struct
import tracemalloc
from collections.abc import Callable
from contextlib import nullcontext
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scrape_push.limits import ScrapeBudget
from scrape_push.model import Sample
from scrape_push.parse import CHUNK_BYTES, ParseError
from scrape_push.scrape import SeriesCache
from scrape_push.scrape import series as series_module

TEXT = "text/plain; version=0.0.4"
SERIES = 2 * CHUNK_BYTES // 40
"""Series of a drawn body: lines of about 50 bytes, so a body spans three chunks or more."""

LINES = [f'reading_metric_{n % 7}{{path="/p/{n}",code="{200 + n % 3}"}}' for n in range(SERIES + 50)]
"""Every series a drawn body may have; the last 50 are new to a body of the first ``SERIES``."""


def body(series: list[int], shift: int) -> bytes:
    return "".join(f"{LINES[n]} {n + shift}\n" for n in series).encode()


@st.composite
def changed(draw: st.DrawFn, series: list[int]) -> list[int]:
    """``series`` as a target's next scrape may have them: the same, or with a run gone, new ones
    put in, two swapped, one repeated or a line without a value, anywhere (the end included)."""
    out = list(series)
    kind = draw(st.sampled_from(["same", "gone", "new", "swapped", "repeated", "tail gone", "new at end"]))
    at = draw(st.integers(0, len(out) - 1))
    if kind == "gone":
        del out[at : at + draw(st.integers(1, 300))]
    elif kind == "new":
        out[at:at] = range(SERIES, SERIES + draw(st.integers(1, 50)))
    elif kind == "swapped":
        other = draw(st.integers(0, len(out) - 1))
        out[at], out[other] = out[other], out[at]
    elif kind == "repeated":
        out.insert(draw(st.integers(0, len(out))), out[at])
    elif kind == "tail gone":
        del out[at:]
    elif kind == "new at end":
        out.append(SERIES + draw(st.integers(0, 49)))
    return out or [0]


def seen(samples: list[list[Sample]]) -> list[tuple[object, ...]]:
    return [
        (s.name, s.labels, struct.pack("<d", s.value), s.timestamp_ms, s.series)
        for chunk in samples
        for s in chunk
    ]


def scraped(cache: SeriesCache, data: bytes, at: int, *, following: bool) -> tuple[object, ...]:
    """What one scrape of ``data`` gives and leaves, following or not."""
    budget = ScrapeBudget()
    off = patch.object(series_module._Reading, "follows", lambda _self, _chunk: False)
    with nullcontext() if following else off:
        samples = seen(list(cache.read(data, TEXT, at, budget=budget)))
    return (
        samples,
        cache.added,
        list(cache.entries.items()),
        budget.duplicates,
        seen([cache.tracker.take_stale()]),
        cache.take_retired(),
    )


QUICK = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@QUICK
@given(st.data())
def test_a_followed_parse_reads_what_one_noting_each_series_reads(data: st.DataObject) -> None:
    mine, reference = SeriesCache(), SeriesCache()
    series = list(range(SERIES))
    for cycle in range(4):
        at = 1000 * (cycle + 1)
        assert scraped(mine, body(series, cycle), at, following=True) == scraped(
            reference, body(series, cycle), at, following=False
        )
        series = data.draw(changed(series), label=f"cycle {cycle + 1}")


def test_an_unchanged_body_ends_with_the_last_scrapes_entries_themselves() -> None:
    cache = SeriesCache()
    series = list(range(SERIES))
    list(cache.read(body(series, 0), TEXT, 1000))
    before = cache.entries
    follows = series_module._Reading.follows
    calls: list[bool] = []

    def counted(reading: series_module._Reading, chunk: object) -> bool:
        calls.append(follows(reading, chunk))  # type: ignore[arg-type]
        return calls[-1]

    with patch.object(series_module._Reading, "follows", counted):
        list(cache.read(body(series, 1), TEXT, 2000))
    assert len(calls) >= 3 and all(calls)  # every chunk followed
    assert cache.entries is before and cache.added == 0


@pytest.mark.parametrize("stop_at", [0, 1, 2])
def test_asking_for_the_series_read_mid_parse_copies_those_followed(stop_at: int) -> None:
    """A limit that stops the parse reads ``reading``: the series of the chunks read so far."""
    cache = SeriesCache()
    series = list(range(SERIES))
    list(cache.read(body(series, 0), TEXT, 1000))
    read = 0
    for at, chunk in enumerate(cache.read(body(series, 1), TEXT, 2000)):
        read += len(chunk)
        if at == stop_at:
            break
    assert list(cache.reading) == LINES[:read]


def test_a_failed_parse_learns_the_series_followed_before_the_error() -> None:
    cache = SeriesCache()
    series = list(range(SERIES))
    list(cache.read(body(series, 0), TEXT, 1000))
    broken = body(series, 1) + b"reading_broken{ 1\n"
    budget = ScrapeBudget()
    with pytest.raises(ParseError):
        list(cache.read(broken, TEXT, 2000, budget=budget))
    assert list(cache.reading) == LINES[:SERIES] and budget.added == 0


def _kept_by(read: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        result = read()
        gc.collect()
        current, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return current


@pytest.mark.parametrize("new_at", [None, 0, SERIES // 2, SERIES - 1])
def test_the_budget_covers_what_a_followed_parse_keeps_and_charges_the_slots_where_it_stops(
    new_at: int | None,
) -> None:
    """A followed chunk is charged ``FOLLOWED_SAMPLE_BYTES`` a sample and no text; where the parse
    stops following, the series followed so far are charged their slots in the table of series
    seen. Either way the estimate stays between what the parse keeps and twice that."""
    cache = SeriesCache()
    series = list(range(SERIES))
    list(cache.read(body(series, 0), TEXT, 1000))
    if new_at is not None:
        series[new_at:new_at] = [SERIES]
    budget = ScrapeBudget()
    slots: list[int] = []
    charge_slots = budget.charge_slots
    budget.charge_slots = lambda count: (slots.append(count), charge_slots(count))[1]  # type: ignore[method-assign]
    kept = _kept_by(lambda: list(cache.read(body(series, 1), TEXT, 2000, budget=budget)))
    assert kept <= budget.kept_bytes <= 2 * kept, budget.kept_bytes / kept
    if new_at is None:
        assert slots == []
    else:  # the chunks before the new series' were followed
        assert len(slots) == 1 and slots[0] <= new_at and (new_at - slots[0]) * 50 < CHUNK_BYTES
