"""The series cache: warm scrapes reuse parsed series with final labels and refs, bounded, pruned."""

from __future__ import annotations

import contextlib
import itertools
import sys
import tracemalloc
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scrape_push.labels import LabelFinisher, finisher
from scrape_push.limits import ScrapeBudget
from scrape_push.model import Family, Sample
from scrape_push.parse import OPENMETRICS, Chunk, ParseError
from scrape_push.parse import TEXT as TEXT_FORMAT
from scrape_push.parse import body as body_module
from scrape_push.relabel import NO_RULES, RelabelRules
from scrape_push.scrape import Scraper, SeriesCache, SeriesEntry, labelsets
from scrape_push.scrape import series as series_module
from scrape_push.scrape.entries import CommonValues
from scrape_push.targets import Target

from devtools import target_fleet
from tests.support.context import build_context
from tests.support.expositions import expositions, mutated
from tests.support.native import compiled
from tests.support.parsing import parse_exposition

TEXT = "text/plain; version=0.0.4"
OM = "application/openmetrics-text; version=1.0.0"


def target(**overrides: object) -> Target:
    fields: dict[str, object] = {
        "job": "api",
        "url": "http://127.0.0.1:1/metrics",
        "labels": (("instance", "127.0.0.1:1"), ("job", "api")),
        "external_labels": (("region", "eu"),),
        "timeout": 1.0,
        "interval": 60.0,
        "honor_labels": False,
        "honor_timestamps": True,
        "body_size_limit": 1000,
    }
    fields.update(overrides)
    return Target(**fields)  # type: ignore[arg-type]


def exposition(value: int) -> bytes:
    return (
        b"# TYPE req_total counter\n"
        + f'req_total{{code="200",path="/a"}} {value}\n'.encode()
        + f'req_total{{code="500",path="/b"}} {value + 1}\n'.encode()
        + b"# TYPE up_ish gauge\n"
        + f'up_ish{{job="exposed"}} {value}\nplain {value}\n'.encode()
    )


def test_warm_scrape_reuses_final_labels_and_refs_with_fresh_samples() -> None:
    cache = SeriesCache(finisher(target()))
    first = parse_exposition(exposition(1), TEXT, cache)
    second = parse_exposition(exposition(7), TEXT, cache)
    assert [s.value for s in second] == [7.0, 8.0, 7.0, 7.0]
    assert first[0].labels == (
        ("code", "200"),
        ("instance", "127.0.0.1:1"),
        ("job", "api"),
        ("path", "/a"),
        ("region", "eu"),
    )
    # the clashing exposed job label is renamed as Prometheus does (honor_labels: false)
    assert dict(first[2].labels)["exported_job"] == "exposed" and dict(first[2].labels)["job"] == "api"
    for old, new in zip(first, second, strict=True):
        assert new is not old
        assert new.labels is old.labels and new.family is old.family
        assert new.series == old.series
    assert len({sample.series for sample in second}) == 4
    assert len(cache) == 4


def test_a_warm_scrape_of_known_lines_beside_a_line_with_escapes_reads_every_line() -> None:
    # Found by the fuzzer: the known line before the escaped one was parsed as a run of no
    # new series, and the warm scrape failed with an internal error.
    body = b'# a comment\na 0\na{a="\\\\",} 0 0\n'
    cache = SeriesCache()
    cold = parse_exposition(body, TEXT, cache)
    for _ in range(2):
        assert parse_exposition(body, TEXT, cache) == cold
    assert [(s.name, s.labels) for s in cold] == [("a", ()), ("a", (("a", "\\"),))]


def test_series_not_seen_are_dropped_and_new_ones_added() -> None:
    cache = SeriesCache()
    parse_exposition(b'a{x="1"} 1\na{x="2"} 1\n', TEXT, cache)
    kept = parse_exposition(b'a{x="2"} 2\na{x="3"} 3\n', TEXT, cache)
    assert set(cache.entries) == {'a{x="2"}', 'a{x="3"}'}
    assert [s.labels for s in kept] == [(("x", "2"),), (("x", "3"),)]


def test_cache_is_bounded() -> None:
    cache = SeriesCache(max_series=3)
    body = "".join(f'a{{x="{i}"}} {i}\n' for i in range(10)).encode()
    assert len(parse_exposition(body, TEXT, cache)) == 10
    assert len(cache) == 3
    assert len(parse_exposition(body, TEXT, cache)) == 10
    assert len(cache) == 3


def test_failed_parse_leaves_cache_untouched() -> None:
    cache = SeriesCache()
    parse_exposition(b"a 1\n", TEXT, cache)
    before = dict(cache.entries)
    with contextlib.suppress(ParseError):
        parse_exposition(b"a 1\nb{ 2\n", TEXT, cache)
    assert cache.entries == before


def test_changed_metadata_or_format_is_not_served_from_cache() -> None:
    cache = SeriesCache()
    first = parse_exposition(b"# TYPE a gauge\na 1\n", TEXT, cache)
    retyped = parse_exposition(b"# TYPE a counter\na 1\n", TEXT, cache)
    assert (first[0].family.type, retyped[0].family.type) == ("gauge", "counter")
    om = parse_exposition(b"# TYPE a counter\na_total 1\n# EOF\n", OM, cache)
    assert om[0].family.type == "counter" and cache.format is OPENMETRICS


def test_warm_values_are_still_validated() -> None:
    cache = SeriesCache()
    parse_exposition(b'a{x="1"} 1\n', TEXT, cache)
    for bad in (b'a{x="1"} 1_0\n', b'a{x="1"} +nan\n', b'a{x="1"} x\n'):
        try:
            parse_exposition(bad, TEXT, cache)
        except ParseError as exc:
            assert exc.line == 1
        else:
            raise AssertionError(f"{bad!r} was accepted")


def test_timestamps_and_exemplars_are_parsed_fresh_on_warm_scrapes() -> None:
    cache = SeriesCache()
    parse_exposition(b'a_total 1 5 # {t="x"} 1\n# EOF\n', OM, cache)
    again = parse_exposition(b'a_total 2 6 # {t="y"} 2\n# EOF\n', OM, cache)
    assert (again[0].value, again[0].timestamp_ms, again[0].exemplar.labels) == (2.0, 6000, (("t", "y"),))  # type: ignore[union-attr]


def test_scraper_keeps_one_cache_per_target_and_labels() -> None:
    scraper = Scraper(2, build_context().secrets)
    a, b = target(), target(url="http://127.0.0.1:2/metrics")
    assert scraper.series_cache(a) is scraper.series_cache(a)
    assert scraper.series_cache(a) is not scraper.series_cache(b)
    relabelled = target(labels=(("instance", "x"), ("job", "api")))
    assert scraper.series_cache(relabelled) is not scraper.series_cache(a)


def test_finisher_honor_labels() -> None:
    finish = finisher(target(honor_labels=True))
    assert finish([("job", "exposed"), ("a", "1")]) == (
        ("a", "1"),
        ("instance", "127.0.0.1:1"),
        ("job", "exposed"),
        ("region", "eu"),
    )


def test_failed_parse_in_the_other_format_leaves_the_cache_untouched() -> None:
    cache = SeriesCache()
    parse_exposition(b'a{x="1"} 1\n', TEXT, cache)
    entries, families, plans = dict(cache.entries), dict(cache.families), dict(cache.plans)
    with contextlib.suppress(ParseError):
        parse_exposition(b'# TYPE b gauge\nb{y="2"} 1\nc{z="3"} 1\n', OM, cache)  # no # EOF
    with contextlib.suppress(ParseError):
        parse_exposition(b'# TYPE b gauge\nb{y="2"} 1\nc{z="3"} 1\nbad{ 1\n', TEXT, cache)
    assert cache.format is TEXT_FORMAT
    assert (cache.entries, cache.families, cache.plans) == (entries, families, plans)


# -- timestamps ----------------------------------------------------------------------------------


def test_samples_get_the_scrape_time_unless_the_exposition_has_one() -> None:
    samples = SeriesCache().samples(b"a 1\nb 2 1234\n", TEXT, 5000)
    assert [s.timestamp_ms for s in samples] == [5000, 1234]


def test_exposed_timestamps_are_ignored_when_not_honored() -> None:
    (sample,) = [
        s for chunk in SeriesCache().read(b"b 2 1234\n", TEXT, 5000, honor_timestamps=False) for s in chunk
    ]
    assert sample.timestamp_ms == 5000


# -- series refs ---------------------------------------------------------------------------------


def refs(samples: list[Sample]) -> dict[tuple[str, object], int]:
    return {(s.name, s.labels): s.series for s in samples}


def test_refs_are_stable_across_warm_scrapes_and_distinct_per_series() -> None:
    cache = SeriesCache(finisher(target()))
    first = refs(cache.samples(exposition(1), TEXT, 1000))
    for value in (2, 3):
        assert refs(cache.samples(exposition(value), TEXT, 1000 * value)) == first
    assert len(set(first.values())) == len(first) == 4
    assert not set(first.values()) & set(cache.synthetic)
    assert cache.take_retired() == []


def test_a_series_gone_from_the_body_retires_its_ref_and_keeps_the_others() -> None:
    cache = SeriesCache()
    first = refs(cache.samples(b'a{x="1"} 1\na{x="2"} 1\nb 1\n', TEXT, 1))
    second = refs(cache.samples(b'a{x="1"} 2\nb 2\nc 2\n', TEXT, 2))
    assert cache.take_retired() == [first[("a", (("x", "2"),))]]
    assert second[("a", (("x", "1"),))] == first[("a", (("x", "1"),))]
    assert second[("c", ())] not in first.values()
    assert cache.added == 1


def test_a_failed_parse_retires_nothing_and_the_next_scrape_keeps_the_refs() -> None:
    cache = SeriesCache()
    first = refs(cache.samples(b"a 1\nb 1\n", TEXT, 1))
    with contextlib.suppress(ParseError):
        cache.samples(b"c 1\nb{ 1\n", TEXT, 2)
    assert cache.take_retired() == []
    assert refs(cache.samples(b"a 3\nb 3\n", TEXT, 3)) == first


def test_a_changed_type_gives_the_series_a_new_ref_and_retires_the_old() -> None:
    cache = SeriesCache()
    (gauge,) = cache.samples(b"# TYPE a gauge\na 1\n", TEXT, 1)
    (counter,) = cache.samples(b"# TYPE a counter\na 1\n", TEXT, 2)
    assert counter.series != gauge.series and counter.family.type == "counter"
    assert cache.take_retired() == [gauge.series]


def test_a_repeated_series_shares_one_ref_and_only_its_first_sample_is_kept() -> None:
    cache = SeriesCache()
    budget = ScrapeBudget()
    first = [
        s for chunk in cache.read(b'a{x="1"} 1\na{x="1"} 2\nb 1\n', TEXT, 1, budget=budget) for s in chunk
    ]
    assert [(s.name, s.value) for s in first] == [("a", 1.0), ("b", 1.0)]
    assert first[0].series != first[1].series and budget.duplicates == 1
    assert cache.take_retired() == []
    again = cache.samples(b'a{x="1"} 3\na{x="1"} 4\nb 1\n', TEXT, 2)
    assert [(s.series, s.value) for s in again] == [(first[0].series, 3.0), (first[1].series, 1.0)]


def test_a_series_repeated_in_a_later_chunk_settles_on_one_ref() -> None:
    cache = SeriesCache()
    body = b"a 1\n" + b"b 1\n" * 3 + b"a 2\n"
    with patch.object(body_module, "CHUNK_BYTES", 4):  # one line a chunk
        first = cache.samples(body, TEXT, 1)
        # each chunk gave an entry of its own, with the series' one ref: none is retired
        assert [(s.name, s.value) for s in first] == [("a", 1.0), ("b", 1.0)]
        assert cache.take_retired() == []
        again = cache.samples(body, TEXT, 2)
    assert [s.series for s in again] == [s.series for s in first]
    assert cache.take_retired() == []


def test_series_beyond_the_bound_get_refs_that_are_retired_after_each_scrape() -> None:
    cache = SeriesCache(max_series=2)
    body = b"".join(b'a{x="%d"} 1\n' % i for i in range(5))
    first = cache.samples(body, TEXT, 1)
    assert sorted(cache.take_retired()) == [s.series for s in first[2:]]
    again = cache.samples(body, TEXT, 2)
    assert [s.series for s in again[:2]] == [s.series for s in first[:2]]
    assert sorted(cache.take_retired()) == [s.series for s in again[2:]]


def test_a_format_switch_retires_every_ref() -> None:
    cache = SeriesCache()
    text = cache.samples(b"a 1\nb 1\n", TEXT, 1)
    om = cache.samples(b"a 1\nb 1\n# EOF\n", OM, 2)
    assert sorted(cache.take_retired()) == sorted(s.series for s in text)
    assert not {s.series for s in om} & {s.series for s in text}


def test_the_refs_a_cache_holds_are_its_series_its_synthetic_series_and_those_to_retire() -> None:
    cache = SeriesCache()
    gone = cache.samples(b"a 1\n", TEXT, 1)
    kept = cache.samples(b"b 1\n", TEXT, 2)
    assert sorted(cache.refs_held()) == sorted([*cache.synthetic, gone[0].series, kept[0].series])


def test_caches_that_share_an_allocator_never_give_the_same_ref() -> None:
    shared = itertools.count()
    a, b = SeriesCache(refs=shared), SeriesCache(refs=shared)
    found = a.samples(b"x 1\ny 1\n", TEXT, 1) + b.samples(b"x 1\ny 1\n", TEXT, 1)
    assert len({s.series for s in found} | {*a.synthetic, *b.synthetic}) == 4 + 10


def test_a_target_s_series_share_their_names_and_label_pairs_across_chunks_and_scrapes() -> None:
    cache = SeriesCache(finisher(target()))
    lines = [f'node_cpu_seconds_total{{cpu="{n % 4}",mode="idle"}} 1\n' for n in range(4)]
    lines += [
        f'node_cpu_seconds_total{{cpu="{n}",mode="user",slot="{k}"}} 1\n'
        for k in range(3000)
        for n in range(4)
    ]
    first = parse_exposition("".join(lines).encode(), TEXT, cache)
    assert len(first) == 12_004
    pairs = {id(pair) for s in first for pair in s.labels}
    distinct = {pair for s in first for pair in s.labels}
    assert len(pairs) == len(distinct)  # one object per distinct pair, whatever its chunk
    assert len({id(s.name) for s in first}) == 1
    later = parse_exposition(b'node_cpu_seconds_total{cpu="0",mode="nice"} 1\n', TEXT, cache)
    assert later[0].labels[0] is first[0].labels[0]  # ("cpu", "0") again, a scrape later


def test_a_warm_cache_holds_no_identity_index_between_scrapes() -> None:
    cache = SeriesCache(finisher(target()))
    for body in (b'a{x="1"} 1\na{x="2"} 1\n', b'a{x="1"} 1\na{x="3"} 1\n', b'a{x="1"} 1\n'):
        parse_exposition(body, TEXT, cache)
        assert cache.maker.identities is None
    assert [s.labels[-2:] for s in parse_exposition(b'a{x="1"} 1\na{ x="1"} 2\n', TEXT, cache)] == [
        (("region", "eu"), ("x", "1"))
    ]  # two spellings of one series: still one (the index built from the entries when needed)


def test_the_shared_pairs_of_series_that_churn_stay_bounded_by_the_series_kept() -> None:
    cache = SeriesCache(finisher(target()))
    for scrape in range(40):
        body = "".join(f'a{{pod="p{scrape}-{n}"}} 1\n' for n in range(100)).encode()
        parse_exposition(body, TEXT, cache)
        assert len(cache.maker.interned) <= 4 * len(cache) + 1024
    assert len(cache) == 100


# -- the compiled kernel's samples (native/labels.c) against the Python path -----------------------


def _dropping(labels: dict[str, str]) -> bool:
    """A metric relabeling rule: drops series called ``drop_*``, renames the others."""
    if labels["__name__"].startswith("drop"):
        return False
    labels["__name__"] = "kept_" + labels["__name__"]
    return True


def _python_samples(
    cache: SeriesCache, entries: list[SeriesEntry], values: list[float], stamp: int
) -> list[Sample]:
    with patch.object(series_module, "_KERNEL", None):
        return cache._samples(
            Chunk(values=values), entries, None, stamp, honor_timestamps=True, budget=ScrapeBudget()
        )


ENTRY_FIELDS = st.tuples(
    st.sampled_from(["a", "b_total", ""]),
    st.sampled_from([Family("a"), Family("b", "counter")]),
    st.none(),
    st.sampled_from(["a", "kept_b", ""]),
    st.sampled_from([(), (("x", "1"),), (("instance", "h"), ("job", "j"))]),
    st.integers(0, 2**70),
)


@pytest.mark.native
@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(ENTRY_FIELDS, st.floats(allow_nan=True)), max_size=40), st.booleans(), st.integers()
)
def test_the_kernel_builds_a_chunk_s_samples_as_the_python_path_does(
    lines: list[tuple[SeriesEntry, float]], relabeled: bool, stamp: int
) -> None:
    kernel = compiled("labels", 1)
    cache = SeriesCache(relabel=RelabelRules((_dropping,)) if relabeled else NO_RULES)
    entries, values = [entry for entry, _ in lines], [value for _, value in lines]
    found = kernel.samples(Sample, entries, values, stamp, relabeled)
    assert found == _python_samples(cache, entries, values, stamp)  # the same value objects: NaN is NaN
    assert all(type(sample) is Sample for sample in found)


@pytest.mark.native
@pytest.mark.parametrize(
    "arguments",
    [
        (int, [], [], 1, False),
        (Sample, "entries", [], 1, False),
        (Sample, [("short",)], [1.0], 1, False),
        (Sample, ["not a tuple"], [1.0], 1, False),
        (Sample, [("a", None, None, 7, (), 1)], [1.0], 1, True),  # a metric that is no str
        (Sample, [], [], 1, 0),
    ],
)
def test_the_samples_kernel_says_none_to_arguments_it_does_not_know(arguments: tuple[object, ...]) -> None:
    assert compiled("labels", 1).samples(*arguments) is None


@pytest.mark.native
def test_the_samples_kernel_leaks_no_reference_and_no_memory() -> None:
    kernel = compiled("labels", 1)
    family, labels = Family("a"), (("x", "1"),)
    entries = [(f"a{n}", family, None, f"a{n}", labels, 10**20 + n) for n in range(500)]
    values = [float(n) + 0.5 for n in range(500)]
    watched = [family, labels, *values, *entries, entries[0][0], entries[0][5]]
    counts = list(map(sys.getrefcount, watched))
    tracemalloc.start()
    try:
        kept = kernel.samples(Sample, entries, values, 10**15, True)
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(200):
            kept = kernel.samples(Sample, entries, values, 10**15, False)
            assert kernel.samples(Sample, [*entries, "bad"], [*values, 1.0], 1, True) is None
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    del kept
    assert grown < 10_000  # 200 calls of 500 samples each, let go
    assert list(map(sys.getrefcount, watched)) == counts


def _fleet_finisher(port: int) -> LabelFinisher:
    labels = (("instance", f"127.0.0.1:{port}"), ("job", "node"))
    return LabelFinisher(labels, (("region", "eu"),), honor_labels=port % 3 == 2)


def _read_all(bodies: list[tuple[bytes, str]], on: bool, rules: RelabelRules) -> list[object]:
    """Every sample of each body, read cold then warm by a target of its own (one scrape stage),
    with the kernels on or off, and the entries the caches hold after."""
    kernel = compiled("labels", 1) if on else None
    common, refs = CommonValues(), itertools.count()
    caches = [
        SeriesCache(_fleet_finisher(port), rules, refs=refs, common=common) for port in range(len(bodies))
    ]
    read: list[object] = []
    with patch.object(series_module, "_KERNEL", kernel), patch.object(labelsets, "_KERNEL", kernel):
        for (body, content_type), cache in [
            *zip(bodies, caches, strict=True),
            *zip(bodies[::-1], caches, strict=True),
        ]:
            try:
                read.append([tuple(sample) for sample in parse_exposition(body, content_type, cache)])
            except ParseError as exc:
                read.append((exc.line, exc.reason))
    return [read, [dict(cache.entries) for cache in caches]]


FLEET_BODIES = [(target_fleet.exposition(1000, variant), TEXT) for variant in range(3)] + [
    (target_fleet.exposition(3000, 1), TEXT),
    (b'a{cpu="1",job="x",mode=""} 1\na{cpu="",job="y"} 2 17\nb{exported_job="z",job="w"} 3\n', TEXT),
    (b'drop_c 4\nc{le="+Inf"} NaN\nc{le="+Inf"} 1\n', TEXT),
    (b'# TYPE h histogram\nh_bucket{le="1"} 1 # {t="1"} 0.5 1.0\nh_count 1\nh_sum{a="\\n"} 2\n# EOF\n', OM),
]


@pytest.mark.native
@pytest.mark.parametrize(
    "rules", [NO_RULES, RelabelRules((_dropping,))], ids=["no rules", "metric relabeling"]
)
def test_whole_scrapes_read_alike_with_the_kernels_on_and_off(rules: RelabelRules) -> None:
    assert _read_all(FLEET_BODIES, True, rules) == _read_all(FLEET_BODIES, False, rules)


@pytest.mark.native
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.booleans(), st.data()), min_size=1, max_size=3), st.booleans())
def test_fuzzed_scrapes_read_alike_with_the_kernels_on_and_off(
    drawn: list[tuple[bool, st.DataObject]], relabeled: bool
) -> None:
    bodies = [(data.draw(mutated(data.draw(expositions(om)))), OM if om else TEXT) for om, data in drawn]
    rules = RelabelRules((_dropping,)) if relabeled else NO_RULES
    assert _read_all(bodies, True, rules) == _read_all(bodies, False, rules)
