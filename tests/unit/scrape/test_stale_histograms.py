"""A native histogram series that ends gets a histogram staleness marker, as Prometheus's head
writes one for a stale NaN on a histogram series (``Histogram{Sum: StaleNaN}``), warm and from
the staleness record after a cold start."""

from __future__ import annotations

import json

from scrape_push.deadline import Deadline
from scrape_push.model import (
    STALE_FLOAT_HISTOGRAM,
    STALE_HISTOGRAM,
    Sample,
    is_stale,
    is_stale_histogram,
)
from scrape_push.parse import Histograms
from scrape_push.scrape import Scraper, SeriesCache
from scrape_push.scrape.record import decode, encode_target, target_key
from scrape_push.targets import FailedTarget, Target

from tests.support.otlp import MemoryTable
from tests.support.protobuf import CONTENT_TYPE, GAUGE, HISTOGRAM, delimited, family, metric
from tests.unit.parse.test_protobuf_native import BOTH, FLOAT, INTEGER, NATIVE
from tests.unit.scrape.test_record import scraper_over
from tests.unit.scrape.test_series import target

ENDED = {"h": STALE_HISTOGRAM, "f": STALE_FLOAT_HISTOGRAM, "g": None, "up": None}
"""The markers of the target of ``body()`` when it leaves, by series (its ``up``'s among them)."""


def body(*, h: bool = True, f: bool = True, g: bool = True) -> bytes:
    families = []
    if h:
        families.append(family("h", HISTOGRAM, [metric({"a": "1"}, histogram=INTEGER)]))
    if f:
        families.append(family("f", HISTOGRAM, [metric(histogram=FLOAT)]))
    if g:
        families.append(family("g", GAUGE, [metric(gauge=1.0)]))
    return delimited(*families)


def scrape(cache: SeriesCache, data: bytes, at: int, histograms: Histograms = NATIVE) -> list[Sample]:
    samples = [s for chunk in cache.read(data, CONTENT_TYPE, at, histograms=histograms) for s in chunk]
    return samples + cache.tracker.take_stale()


def markers(samples: list[Sample]) -> dict[str, Sample]:
    return {s.name: s for s in samples if is_stale(s.value)}


def test_a_vanished_native_histogram_gets_a_histogram_marker_of_its_kind() -> None:
    cache = SeriesCache()
    first = {s.name: s for s in scrape(cache, body(), 1000)}
    stale = markers(scrape(cache, body(h=False, f=False), 2000))
    assert sorted(stale) == ["f", "h"]
    assert stale["h"].histogram is STALE_HISTOGRAM and stale["f"].histogram is STALE_FLOAT_HISTOGRAM
    assert all(is_stale_histogram(s) for s in stale.values())
    assert (stale["h"].labels, stale["h"].series, stale["h"].timestamp_ms) == (
        first["h"].labels,
        first["h"].series,
        2000,
    )
    gauge = markers(scrape(cache, body(h=False, f=False, g=False), 3000))["g"]
    assert gauge.histogram is None and not is_stale_histogram(gauge)  # a float series: a float marker


def test_a_histograms_classic_series_get_float_markers_beside_its_native_one() -> None:
    cache = SeriesCache()
    scrape(cache, body(f=False, g=False), 1000, BOTH)
    stale = [s for s in scrape(cache, body(h=False, f=False), 2000, BOTH) if is_stale(s.value)]
    kinds = {s.name: s.histogram for s in stale}
    assert kinds.pop("h") is STALE_HISTOGRAM
    assert set(kinds) == {"h_count", "h_sum", "h_bucket"} and set(kinds.values()) == {None}


def test_a_failed_scrape_and_a_target_that_left_mark_histograms_as_histograms() -> None:
    cache = SeriesCache()
    scrape(cache, body(), 1000)
    failed = {s.name: s.histogram for s in cache.tracker.failed(2000)}
    assert failed == {"h": STALE_HISTOGRAM, "f": STALE_FLOAT_HISTOGRAM, "g": None}

    scrape(cache, body(), 3000)
    cache.tracker.last = (target(), 3000)
    ended = {s.name: s.histogram for s in cache.tracker.ended(100_000)}
    assert {name: ended[name] for name in ENDED} == ENDED


def test_a_series_that_turns_from_integer_to_float_counts_gets_the_float_marker() -> None:
    cache = SeriesCache()
    scrape(cache, body(f=False, g=False), 1000)
    floated = family("h", HISTOGRAM, [metric({"a": "1"}, histogram=FLOAT)])
    scrape(cache, delimited(floated), 2000)
    assert cache.tracker.changed  # the record must learn the new kind
    assert markers(scrape(cache, b"", 3000))["h"].histogram is STALE_FLOAT_HISTOGRAM


def scraped(scraper: Scraper, each: Target, data: bytes, at: int) -> list[Sample]:
    cache = scraper.series_cache(each)
    found = scrape(cache, data, at)
    cache.tracker.last = (each, at)
    return found


def test_a_cold_process_marks_recorded_histograms_as_histograms() -> None:
    table = MemoryTable()
    first = scraper_over(table)
    scraped(first, target(), body(), 1000)
    first.keep_record(Deadline.after(30))

    second = scraper_over(table)  # a new execution environment: only the record knows
    second.start_from_record([target()], Deadline.after(30), 2000)
    stale = markers(scraped(second, target(), body(h=False, f=False), 2000))
    assert {name: s.histogram for name, s in stale.items()} == {
        "h": STALE_HISTOGRAM,
        "f": STALE_FLOAT_HISTOGRAM,
    }

    third = scraper_over(table)  # the target failed after a cold start: every recorded series
    (down,) = third.scrape_all([], Deadline.after(30), refused=[FailedTarget(target(), "no")])
    assert {s.name: s.histogram for s in down.samples if is_stale(s.value)} == {
        "h": STALE_HISTOGRAM,
        "f": STALE_FLOAT_HISTOGRAM,
        "g": None,
    }


def test_a_recorded_target_that_left_ends_its_histograms_as_histograms() -> None:
    table = MemoryTable()
    first = scraper_over(table)
    scraped(first, target(), body(), 1000)
    first.keep_record(Deadline.after(30))
    second = scraper_over(table)
    second.start_from_record([], Deadline.after(30), 5000)
    (ended,) = second.take_ended()
    kinds = {s.name: s.histogram for s in ended.samples}
    assert {name: kinds[name] for name in ENDED} == ENDED


def test_a_record_line_lists_only_the_histogram_series_and_an_older_line_still_reads() -> None:
    key = target_key(target())
    series = [(("g", ()), None), (("h", (("a", "1"),)), STALE_HISTOGRAM), (("f", ()), STALE_FLOAT_HISTOGRAM)]
    line = encode_target(key, series)
    assert json.loads(line)[2:] == [[1], [2]]
    assert decode(line)[key].series == dict(series)
    floats_only = encode_target(key, [(("g", ()), None)])
    assert len(json.loads(floats_only)) == 2  # a target without histograms: the line as before
    older = json.dumps([key, [["g", []], ["h", [["a", "1"]]]]]).encode()  # written before this change
    assert decode(older)[key].series == {("g", ()): None, ("h", (("a", "1"),)): None}


def test_a_record_line_naming_a_series_it_lacks_is_refused() -> None:
    key = target_key(target())
    for natives in ([[5]], [["x"]], [[0], [0], [0]], [3]):
        line = json.dumps([key, [["g", []]], *natives]).encode()
        try:
            decode(line)
        except ValueError:
            continue
        raise AssertionError(f"{natives} was accepted")


def test_an_evicted_cache_still_gives_a_vanished_native_histogram_a_histogram_marker() -> None:
    cache = SeriesCache()
    scrape(cache, body(), 1000)
    cache.evict()
    stale = markers(scrape(cache, body(h=False), 2000))
    assert sorted(stale) == ["h"] and stale["h"].histogram is STALE_HISTOGRAM
