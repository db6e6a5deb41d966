"""The body is parsed in chunks of lines (issue 12, points 5, 6 and the parser's part of 3).

Memory is counted with tracemalloc, never timed: the cases of issue 12 (unclosed quotes, a label
value of escapes, comment lines, ``a 1`` lines) must cost a small constant times the body, or a
constant set by the chunk size, plus the samples kept. Before chunked parsing they cost 40 to
160 times the body.
"""

from __future__ import annotations

import contextlib
import gc
import tracemalloc
from collections.abc import Callable
from unittest.mock import patch

import pytest
from scrape_push.limits import LimitExceeded, MemoryBudgetExceeded, ScrapeBudget, ScrapeLimits
from scrape_push.parse import CHUNK_BYTES, ParseError, body
from scrape_push.scrape import SeriesCache

from tests.support.parsing import parse_chunks, parse_exposition

TEXT = "text/plain; version=0.0.4"
OM = "application/openmetrics-text; version=1.0.0"
MB = 1_000_000


def series_lines(count: int, value: int = 1) -> bytes:
    return b"".join(b'm{i="%d",path="/api/v1/items"} %d\n' % (i, value) for i in range(count))


def peak_bytes(parse: Callable[[], object]) -> tuple[int, int]:
    """The peak of memory traced during ``parse()``, and what it left allocated."""
    gc.collect()
    tracemalloc.start()
    try:
        with contextlib.suppress(ParseError):
            kept = parse()  # noqa: F841 (held while measuring what the parse keeps)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, current


def test_a_body_is_parsed_in_chunks_of_whole_lines() -> None:
    data = series_lines(40_000)
    chunks = list(parse_chunks(data, TEXT))
    assert len(chunks) >= len(data) // CHUNK_BYTES >= 4
    assert all(chunks)
    with patch.object(body, "CHUNK_BYTES", len(data)):
        (whole,) = list(parse_chunks(data, TEXT))
    assert [s for chunk in chunks for s in chunk] == whole


@pytest.mark.parametrize(
    ("content_type", "data", "line", "reason"),
    [
        (TEXT, series_lines(30_000) + b"bad{ 1\n" + series_lines(10), 30_001, "label set not closed"),
        (TEXT, series_lines(30_000) + b'm{x="\xff"} 1\n', 30_001, "invalid UTF-8"),
        (OM, series_lines(30_000) + b"# EOF\nm 1\n", 30_002, "unexpected data after # EOF"),
        (OM, series_lines(30_000), 30_000, "does not end with # EOF"),
    ],
    ids=["grammar", "utf-8", "data after eof", "no eof"],
)
def test_errors_name_their_line_in_any_chunk(content_type: str, data: bytes, line: int, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_exposition(data, content_type)
    assert (caught.value.line, reason in caught.value.reason) == (line, True), caught.value.reason


def test_the_cache_changes_only_once_the_whole_body_parsed() -> None:
    data = series_lines(40_000)
    count = len(list(parse_chunks(data, TEXT)))
    cache = SeriesCache()
    parse_exposition(b"old 1\n", TEXT, cache)
    before = dict(cache.entries)
    chunks = parse_chunks(data, TEXT, cache)
    next(chunks)
    chunks.close()  # the caller stopped early: a limit, its deadline
    assert cache.entries == before

    chunks = parse_chunks(data, TEXT, cache)
    for _ in range(count):
        next(chunks)
    assert cache.entries == before  # every chunk taken, the iterator not yet exhausted
    assert next(chunks, None) is None
    assert len(cache.entries) == 40_000 and cache.added == 40_000


def test_a_parse_error_after_some_chunks_leaves_the_cache() -> None:
    cache = SeriesCache()
    parse_exposition(series_lines(10), TEXT, cache)
    before = dict(cache.entries)
    taken = []
    with pytest.raises(ParseError):
        for chunk in parse_chunks(series_lines(40_000, 2) + b"bad{ 1\n", TEXT, cache):
            taken.append(chunk)
    assert len(taken) >= 4 and cache.entries == before


def test_a_limit_broken_in_the_first_chunk_stops_the_parse() -> None:
    data = series_lines(40_000)
    budget = ScrapeBudget(ScrapeLimits(sample_limit=100))
    cache = SeriesCache()
    with pytest.raises(LimitExceeded, match=r"^sample limit exceeded \(\d+ samples, limit 100\)$"):
        for chunk in parse_chunks(data, TEXT, cache, budget):
            budget.admit(chunk)
    assert 100 < budget.parsed < 40_000 // 4  # one chunk parsed of many
    assert len(cache) == 0


def test_the_memory_budget_stops_the_parse() -> None:
    cache = SeriesCache()
    parse_exposition(b"old 1\n", TEXT, cache)
    before = dict(cache.entries)
    budget = ScrapeBudget(max_bytes=4 << 20)
    with pytest.raises(MemoryBudgetExceeded) as caught:
        parse_exposition(series_lines(400_000), TEXT, cache, budget)
    message = str(caught.value)
    assert message.startswith("memory budget of 4 MiB for this target exceeded after ")
    assert message.endswith(
        " samples; raise the function's MemorySize or lower runtime.max_concurrent_scrapes"
    )
    assert caught.value.samples == budget.parsed < 400_000 // 10
    assert budget.kept_bytes > 4 << 20 and cache.entries == before


# -- memory ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "times_body"),
    [
        (b'a{x="' + b'"' * (4 * MB), 3),
        (b'a{x="v' + b"v" * (4 * MB), 3),
        (b'a{x="1} 1\n' * (MB // 2), 3),
        (b'a{x="' + b"\\n" * (2 * MB) + b'"} 1\n', 8),
        (b'a{x="' + b"\\\\" * (2 * MB) + b'"} 1\n', 8),
        (b"# HELP a " + b"\\\\" * (2 * MB) + b"\na 1\n", 8),
    ],
    ids=["unclosed quotes", "unclosed value", "unclosed quotes, lines", "escapes", "backslashes", "help"],
)
def test_a_pathological_line_costs_a_few_times_its_size(data: bytes, times_body: int) -> None:
    peak, _ = peak_bytes(lambda: parse_exposition(data, TEXT, SeriesCache()))
    assert peak <= times_body * len(data), f"{peak / len(data):.1f} times the body"


@pytest.mark.parametrize(
    "line",
    [b"# a comment line\n", b"a 1\n", b'a{x="1"} 1\n', b"a 1 \n"],
    ids=["comments", "a 1", "labels", "odd"],
)
def test_what_a_parse_holds_besides_its_samples_is_bounded_by_the_chunk(line: bytes) -> None:
    """Four times the body, the same transient memory: what the lines cost lives per chunk
    (small chunks here, to keep the traced parse short)."""
    chunk = 4096
    small, large = (line * (16 * chunk // len(line) * factor) for factor in (1, 4))
    with patch.object(body, "CHUNK_BYTES", chunk):
        small_peak, small_kept = peak_bytes(lambda: parse_exposition(small, TEXT, SeriesCache()))
        large_peak, large_kept = peak_bytes(lambda: parse_exposition(large, TEXT, SeriesCache()))
    assert large_peak - large_kept <= 1.5 * (small_peak - small_kept) + chunk
    assert large_peak - large_kept <= 100 * chunk
