"""Staleness markers: what each scrape marks stale, as Prometheus 2.42's scrape cache does."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from scrape_push.labels import finisher
from scrape_push.model import STALE_BITS, Sample, is_stale
from scrape_push.relabel import RelabelConfig, compile_rules
from scrape_push.scrape import Scraper, SeriesCache
from scrape_push.scrape.stale import Tracker, end_of_run_ms, keys_before

from tests.support.context import build_context
from tests.unit.scrape.test_series import target

REPORT_SERIES = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
]
"""Prometheus's report series: marked stale only when their target leaves."""
TEXT = "text/plain; version=0.0.4"
OM = "application/openmetrics-text; version=1.0.0"


def scrape(cache: SeriesCache, body: bytes, at: int, content_type: str = TEXT, **how: bool) -> list[Sample]:
    """One successful scrape at ``at``: its samples, then its markers."""
    samples = [sample for chunk in cache.read(body, content_type, at, **how) for sample in chunk]
    return samples + cache.tracker.take_stale()


def markers(samples: list[Sample]) -> dict[str, Sample]:
    return {sample.name: sample for sample in samples if is_stale(sample.value)}


def bits(value: float) -> int:
    return int.from_bytes(struct.pack("<d", value), "little")


def test_a_series_gone_gets_one_marker_at_the_scrape_time_with_its_labels_and_ref() -> None:
    cache = SeriesCache(finisher(target()))
    first = {s.name: s for s in scrape(cache, b'a{x="1"} 1\nb 2\nc 3\n', 1000)}
    second = scrape(cache, b'a{x="1"} 1\n', 2000)
    stale = markers(second)
    assert sorted(stale) == ["b", "c"]
    for name, marker in stale.items():
        assert bits(marker.value) == STALE_BITS
        assert marker.timestamp_ms == 2000
        assert (marker.labels, marker.series, marker.family) == (
            first[name].labels,
            first[name].series,
            first[name].family,
        )
    assert not markers(scrape(cache, b'a{x="1"} 1\n', 3000))  # a marker is sent once
    assert set(cache.take_retired()) == {first["b"].series, first["c"].series}


def test_an_unchanged_scrape_marks_nothing_and_copies_nothing() -> None:
    cache = SeriesCache()
    scrape(cache, b"a 1\nb 2\n", 1000)
    assert not markers(scrape(cache, b"a 5\nb 6\n", 2000))
    assert cache.tracker.tracked is cache.entries


def test_a_series_back_after_its_marker_is_tracked_again() -> None:
    cache = SeriesCache()
    scrape(cache, b"a 1\nb 2\n", 1000)
    assert list(markers(scrape(cache, b"a 1\n", 2000))) == ["b"]
    assert not markers(scrape(cache, b"a 1\nb 3\n", 3000))
    assert list(markers(scrape(cache, b"a 1\n", 4000))) == ["b"]


def test_a_failed_scrape_marks_every_tracked_series_once() -> None:
    cache = SeriesCache()
    scrape(cache, b"a 1\nb 2\n", 1000)
    stale = cache.tracker.failed(2000)
    assert sorted(s.name for s in stale) == ["a", "b"]
    assert {s.timestamp_ms for s in stale} == {2000}
    assert cache.tracker.failed(3000) == []  # still failing: nothing more
    assert not markers(scrape(cache, b"a 1\n", 4000))  # back without b: b was marked already
    assert cache.entries.keys() == {"a"}


def test_a_parse_error_marks_only_the_series_not_read_before_it() -> None:
    """Prometheus keeps the series appended before the error: pf_a and pf_b get no marker."""
    cache = SeriesCache()
    scrape(cache, b"pf_a 1\npf_b 2\npf_c 3\npf_d 4\n", 1000)
    body = b"pf_a 1\npf_b 2\npf_c x\npf_d 4\n"
    kept = keys_before(body, TEXT, 3)
    assert kept == {"pf_a", "pf_b"}
    assert sorted(s.name for s in cache.tracker.failed(2000, kept)) == ["pf_c", "pf_d"]
    assert cache.tracker.failed(3000, kept) == []  # the same error again: nothing


def test_keys_before_an_openmetrics_error_and_at_the_first_line() -> None:
    body = b"# TYPE a gauge\na 1\nb{ 2\n# EOF\n"
    assert keys_before(body, OM, 3) == {"a"}
    assert keys_before(body, OM, 1) == set()
    assert keys_before(body, OM, None) == set()
    assert keys_before(b"a 1\n", TEXT, 9) == set()  # no such line


def test_keys_before_calls_between_before_each_chunk_and_lets_what_it_raises_through() -> None:
    """A huge body read again checks the scrape's deadline and shares its turn between chunks."""
    body = b"".join(b"kb_%d 1\n" % n for n in range(20_000)) + b"kb_bad x\n"
    calls: list[None] = []
    kept = keys_before(body, TEXT, 20_001, lambda: calls.append(None))
    assert len(kept) == 20_000 and len(calls) > 1

    def deadline() -> None:
        raise TimeoutError

    with pytest.raises(TimeoutError):
        keys_before(body, TEXT, 20_001, deadline)


def test_a_limit_error_keeps_what_was_read() -> None:
    """sample_limit: Prometheus appended the samples before the limit; none of the old series
    is marked."""
    cache = SeriesCache()
    scrape(cache, b"a 1\nb 2\nc 3\n", 1000)
    list(cache.read(b"a 1\nb 2\nc 3\nd 4\ne 5\n", TEXT, 2000))  # read, then refused by a limit
    cache_before = dict(cache.entries)
    assert cache.tracker.failed(2000, cache.reading) == []
    assert cache.entries == cache_before


def test_series_with_their_own_timestamp_are_not_tracked_by_default() -> None:
    cache = SeriesCache()
    scrape(cache, b"ets_a 1 500\nets_b 2\n", 1000)
    assert list(markers(scrape(cache, b"x 1\n", 2000))) == ["ets_b"]
    assert "ets_a" not in cache.tracker.tracked


def test_track_timestamps_staleness_marks_them_unless_the_marker_would_be_out_of_order() -> None:
    cache = SeriesCache()
    scrape(cache, b"ets_a 1 500\nets_late 1 9000\nets_b 2\n", 1000, track_timestamped=True)
    stale = markers(scrape(cache, b"x 1\n", 2000, track_timestamped=True))
    assert sorted(stale) == ["ets_a", "ets_b"]  # ets_late's own time is after the marker's
    assert stale["ets_a"].timestamp_ms == 2000


def test_not_honoring_timestamps_tracks_every_series() -> None:
    cache = SeriesCache()
    scrape(cache, b"ets_a 1 500\n", 1000, honor_timestamps=False)
    assert list(markers(scrape(cache, b"x 1\n", 2000, honor_timestamps=False))) == ["ets_a"]


def test_a_series_timestamped_now_but_not_before_is_marked_as_prometheus_does() -> None:
    cache = SeriesCache()
    scrape(cache, b"a 1\n", 1000)
    assert list(markers(scrape(cache, b"a 1 1500\n", 2000))) == ["a"]


def test_series_dropped_by_metric_relabeling_get_no_marker() -> None:
    rules = compile_rules([RelabelConfig(source_labels=("__name__",), regex="drop_me", action="drop")])
    cache = SeriesCache(relabel=rules)
    scrape(cache, b"drop_me 1\nkeep 1\n", 1000)
    assert markers(scrape(cache, b"other 1\n", 2000)).keys() == {"keep"}


def test_the_same_series_spelled_otherwise_or_under_a_new_type_is_not_gone() -> None:
    cache = SeriesCache()
    scrape(cache, b'# TYPE m gauge\nm{a="1",b="2"} 1\n', 1000)
    assert not markers(scrape(cache, b'# TYPE m gauge\nm{b="2",a="1"} 1\n', 2000))
    assert not markers(scrape(cache, b'# TYPE m counter\nm{b="2",a="1"} 1\n', 3000))


def test_end_of_run_marks_series_and_report_series_one_interval_after_the_last_scrape() -> None:
    cache = SeriesCache(finisher(target()))
    scrape(cache, b"a 1\n", 1000)
    cache.tracker.last = (target(), 1000)
    stale = cache.tracker.ended(now_ms=90_000)
    assert [s.name for s in stale] == ["a", *REPORT_SERIES]
    assert {s.timestamp_ms for s in stale} == {61_000}  # interval 60 s
    assert [s.series for s in stale[1:]] == list(cache.synthetic)
    assert all(bits(s.value) == STALE_BITS for s in stale)


def test_end_of_run_never_in_the_future_and_nothing_without_a_scrape() -> None:
    assert end_of_run_ms(1000, 60.0, 30_000) == 30_000
    assert SeriesCache().tracker.ended(5000) == []


def test_a_cold_cache_marks_the_seeded_series_its_first_scrape_lacks() -> None:
    cache = SeriesCache()
    cache.tracker.seed = {("a", ()): None, ("b", (("x", "1"),)): None}
    stale = markers(scrape(cache, b"a 1\n", 2000))
    assert list(stale) == ["b"]
    assert stale["b"].labels == (("x", "1"),) and stale["b"].timestamp_ms == 2000
    assert cache.tracker.seed is None
    assert stale["b"].series in cache.take_retired()
    assert not markers(scrape(cache, b"a 1\n", 3000))


def test_a_cold_cache_whose_first_scrape_fails_marks_every_seeded_series() -> None:
    cache = SeriesCache()
    cache.tracker.seed = {("a", ()): None, ("b", ()): None}
    assert sorted(s.name for s in cache.tracker.failed(2000)) == ["a", "b"]
    assert cache.tracker.failed(3000) == []


@pytest.mark.parametrize("left", [True, False])
def test_the_scraper_ends_targets_that_left(left: bool) -> None:
    scraper = Scraper(2, build_context().secrets)
    gone, stays = target(), target(url="http://127.0.0.1:2/metrics")
    for each in (gone, stays):
        cache = scraper.series_cache(each)
        scrape(cache, b"a 1\n", 1000)
        cache.tracker.last = (each, 1000)
    scraper.keep_caches([stays] if left else [gone, stays], now_ms=2000)
    ended = scraper.take_ended()
    if left:
        assert [e.url for e in ended] == [gone.url]
        assert [s.name for s in ended[0].samples][:2] == ["a", "up"]
        assert {s.timestamp_ms for s in ended[0].samples} == {2000}
    else:
        assert ended == []
    assert scraper.take_ended() == []


def test_a_body_stamped_throughout_tracks_nothing_unless_asked() -> None:
    """A federation endpoint's: every line carries its own timestamp."""
    body = b"fa 1 500\nfb 2 500\n"
    cache = SeriesCache()
    scrape(cache, body, 1000)
    assert cache.tracker.tracked == {}
    assert not markers(scrape(cache, b"fa 1 600\n", 2000))
    tracking = SeriesCache()
    scrape(tracking, body, 1000, track_timestamped=True)
    assert tracking.tracker.stamps == {"fa": 500, "fb": 500}
    assert list(markers(scrape(tracking, b"fa 1 600\n", 2000, track_timestamped=True))) == ["fb"]


def test_an_unchanged_warm_scrape_computes_no_difference(monkeypatch: pytest.MonkeyPatch) -> None:
    """The common case costs nothing: no set difference, no copy (counted, not timed)."""
    calls: list[int] = []
    original = Tracker._gone

    def counting(self: Tracker, *args: Any) -> list[Sample]:
        calls.append(1)
        return original(self, *args)

    monkeypatch.setattr(Tracker, "_gone", counting)
    cache = SeriesCache()
    body = b"".join(b'm{i="%d"} %d\n' % (i, i) for i in range(1000))
    scrape(cache, body, 1000)
    calls.clear()
    for at in range(2000, 7000, 1000):
        scrape(cache, body, at)
    assert calls == []
    scrape(cache, body + b"new 1\n", 8000)
    assert calls == [1]


def test_a_scrape_refused_before_its_parse_began_keeps_nothing_tracked() -> None:
    """The function's memory budget can refuse a body before the parse starts: every series
    goes, not those of the previous read."""
    cache = SeriesCache()
    scrape(cache, b"a 1\nb 2\n", 1000)
    cache.read(b"a 1\nb 2\n", TEXT, 2000)  # never iterated: refused before its first chunk
    assert sorted(s.name for s in cache.tracker.failed(2000, cache.reading)) == ["a", "b"]
