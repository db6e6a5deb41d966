"""The scraper's warm series caches: bounded by the function's memory, least recently scraped
evicted first, and an evicted target's staleness memory kept."""

from __future__ import annotations

import pytest
from scrape_push.model import is_stale
from scrape_push.parse.metadata import MIN_RUN_BYTES
from scrape_push.scrape import Scraper, SeriesCache
from scrape_push.scrape.entries import RUN_BYTES_PER_SERIES
from scrape_push.scrape.scraper import cached_series_allowed
from scrape_push.shards.sizing import Capacity

from tests.support.context import build_context
from tests.unit.scrape.test_series import target
from tests.unit.scrape.test_stale import REPORT_SERIES, scrape

SMALLEST_MB = 1
"""A function this small gets the budget's minimum: caches of about 21,000 series."""
SERIES = 12_000
"""Two targets of this many series are more than the smallest function's caches hold."""


def body(series: int, skip: int | None = None) -> bytes:
    return b"".join(b'a{n="%d"} 1\n' % n for n in range(series) if n != skip)


def two_targets(scraper: Scraper) -> tuple[SeriesCache, SeriesCache]:
    first, second = target(), target(url="http://127.0.0.1:2/metrics")
    caches = []
    for each in (first, second):
        cache = scraper.series_cache(each)
        scrape(cache, body(SERIES), 1000)
        cache.tracker.last = (each, 1000)
        caches.append(cache)
    return caches[0], caches[1]


@pytest.mark.parametrize("memory_mb", [128, 512, 1024, 1769, 3008, 10240])
def test_the_caches_hold_twice_what_the_sizing_plans_a_shard_so_a_planned_shard_never_evicts(
    memory_mb: int,
) -> None:
    assert cached_series_allowed(memory_mb) >= 2 * Capacity.of(memory_mb, 60.0).series


def test_two_thousand_node_exporters_stay_cached_in_the_largest_function() -> None:
    assert cached_series_allowed(10240) >= 2000 * 1000  # bench_fleet's 2,000 x 1,000 in one shard


def test_nothing_is_evicted_while_the_caches_fit() -> None:
    scraper = Scraper(2, build_context().secrets)
    first, second = two_targets(scraper)
    scraper.evict(10240)
    assert (len(first), len(second)) == (SERIES, SERIES)
    assert scraper.forgotten() == []


def test_over_the_memory_the_least_recently_scraped_target_is_evicted_and_its_refs_forgotten() -> None:
    scraper = Scraper(2, build_context().secrets)
    first, second = two_targets(scraper)
    refs = {entry[5] for entry in first.entries.values()}
    scraper.evict(SMALLEST_MB)
    assert (len(first), len(second)) == (0, SERIES)
    forgotten = set(scraper.forgotten())
    assert refs <= forgotten and forgotten.isdisjoint(first.synthetic)
    assert scraper.series_cache(target()) is first  # back, cold, with its staleness memory


def test_an_evicted_target_still_marks_the_series_its_next_scrape_lacks() -> None:
    scraper = Scraper(2, build_context().secrets)
    first, _ = two_targets(scraper)
    scraper.evict(SMALLEST_MB)
    again = scraper.series_cache(target())
    assert again is first and len(again) == 0
    samples = scrape(again, body(SERIES, skip=7), 2000)
    stale = [s for s in samples if is_stale(s.value)]
    assert [(s.name, s.labels) for s in stale] == [
        ("a", (("instance", "127.0.0.1:1"), ("job", "api"), ("n", "7"), ("region", "eu")))
    ]
    assert stale[0].timestamp_ms == 2000
    assert not [s for s in scrape(again, body(SERIES, skip=7), 3000) if is_stale(s.value)]


def test_an_evicted_target_whose_scrape_fails_marks_every_series_it_had() -> None:
    scraper = Scraper(2, build_context().secrets)
    two_targets(scraper)
    scraper.evict(SMALLEST_MB)
    stale = scraper.series_cache(target()).tracker.failed(2000)
    assert len(stale) == SERIES and all(is_stale(s.value) for s in stale)


def test_an_evicted_target_that_leaves_gets_its_end_of_run_markers() -> None:
    scraper = Scraper(2, build_context().secrets)
    _, second = two_targets(scraper)
    scraper.evict(SMALLEST_MB)
    scraper.keep_caches([target(url="http://127.0.0.1:2/metrics")], now_ms=2000)
    ended = scraper.take_ended()
    assert [e.url for e in ended] == [target().url]
    names = [s.name for s in ended[0].samples]
    assert names.count("a") == SERIES and names[-len(REPORT_SERIES) :] == REPORT_SERIES
    assert scraper.series_cache(target()) is not second and len(scraper.series_cache(target())) == 0


def test_two_thousand_targets_keep_their_caches_when_memory_allows_it() -> None:
    scraper = Scraper(2, build_context().secrets)
    targets = [target(url=f"http://127.0.0.1:{port}/metrics") for port in range(1, 2001)]
    caches = []
    for each in targets:
        cache = scraper.series_cache(each)
        scrape(cache, b"a 1\n", 1000)
        caches.append(cache)
    scraper.evict(1769)
    assert all(scraper.series_cache(each) is cache for each, cache in zip(targets, caches, strict=True))
    assert all(len(cache) == 1 for cache in caches)
    assert scraper.forgotten() == []


def helped(help_text: str) -> bytes:
    return f"# HELP a {help_text}\n# TYPE a gauge\n".encode() + body(3)


def test_targets_exposing_the_same_families_names_and_pairs_hold_one_copy_of_each() -> None:
    scraper = Scraper(2, build_context().secrets)
    held = []
    for each in (target(), target(url="http://127.0.0.1:2/metrics")):
        cache = scraper.series_cache(each)
        scrape(cache, helped("What a is, at some length."), 1000)
        entry = cache.entries['a{n="0"}']
        held.append((entry[0], entry[1], dict(zip(dict(entry[4]), entry[4], strict=True))["n"]))
    (name, family, pair), again = held
    assert (name, family, pair) == again == ("a", family, ("n", "0"))
    assert name is again[0] and family is again[1] and pair is again[2]
    assert family.help == "What a is, at some length."


def test_the_shared_comment_runs_stay_within_their_bound_when_a_target_changes_them() -> None:
    scraper = Scraper(2, build_context().secrets)
    cache = scraper.series_cache(target())
    runs = scraper.common.families
    limit = RUN_BYTES_PER_SERIES * 3 + MIN_RUN_BYTES
    padding = "x" * 20_000
    held = []
    for scrape_number in range(120):  # a long comment that changes at every scrape: 120 runs
        data = helped(f"a\n# {padding} {scrape_number}")
        assert [sample.family.help for sample in scrape(cache, data, 1000 * (scrape_number + 1))[:3]] == [
            "a"
        ] * 3
        held.append(runs.held)
        scraper.evict(10240)  # the end of a cycle
    assert max(held) < limit + len(padding) * 2 and len(runs) == 2  # two families, never more
    assert held.count(0) == 0 and held[0] < held[1] and min(held[60:]) < held[50]  # forgotten when full


def test_the_shared_families_are_emptied_past_their_bound_and_the_series_keep_their_refs() -> None:
    scraper = Scraper(2, build_context().secrets)
    cache = scraper.series_cache(target())
    for scrape_number in range(400):  # a help text that changes at every scrape
        scrape(cache, helped(f"a, scrape {scrape_number}"), 1000 * (scrape_number + 1))
    assert len(scraper.common.families) == 800  # each help text interned untyped, then as a gauge
    scraper.evict(10240)
    assert len(scraper.common.families) == 800  # within 4 x 3 series + 1,024
    for scrape_number in range(400, 700):
        scrape(cache, helped(f"a, scrape {scrape_number}"), 1000 * (scrape_number + 1))
    scrape(cache, helped("a at last"), 10**6)
    refs = {key: entry[5] for key, entry in cache.entries.items()}
    scraper.evict(10240)
    assert scraper.common.families == {}
    samples = scrape(cache, helped("a at last"), 10**6 + 1000)  # its entries made again
    assert {key: entry[5] for key, entry in cache.entries.items()} == refs
    assert not any(is_stale(sample.value) for sample in samples)
    assert len(scraper.common.families) == 2
