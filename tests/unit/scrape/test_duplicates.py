"""A series twice in one exposition: the first sample is kept, the rest are dropped and counted
(issue 15, point 2).

A series is its final name and labels (what Prometheus 2.42's TSDB keys samples by, and keeps
the first of at one timestamp), whatever its ``# TYPE``: the same text twice, two spellings of
one label set, an empty label and none, series that the target's labels or metric relabeling
make one. Samples of one series at different exposed timestamps are all kept, as Prometheus
keeps them. Warm scrapes, cold ones and scrapes read in one-line chunks agree.
"""

from __future__ import annotations

from unittest.mock import patch

import pytest
from scrape_push.labels import finisher
from scrape_push.limits import ScrapeBudget
from scrape_push.parse import body as body_module
from scrape_push.relabel import RelabelConfig, compile_rules
from scrape_push.scrape import SeriesCache

from tests.unit.scrape.test_series import target

TEXT = "text/plain; version=0.0.4"
OM = "application/openmetrics-text; version=1.0.0"
T = 120_000  # within 10 minutes of the scrape time (5): Prometheus refuses a later sample

CASES: list[tuple[str, str, bytes, dict[str, object], list[tuple[str, float, int]], int]] = [
    # (case, content type, body, target overrides, kept (name, value, timestamp), dropped)
    ("same text twice", TEXT, b"du_m 1\ndu_m 2\n", {}, [("du_m", 1.0, 5)], 1),
    ("three times", TEXT, b"du_m 1\nx 1\ndu_m 2\ndu_m 3\n", {}, [("du_m", 1.0, 5), ("x", 1.0, 5)], 2),
    (
        "two spellings of one label set",
        TEXT,
        b'du_n{a="1",b="2"} 1\ndu_n{b="2",a="1"} 2\n',
        {},
        [("du_n", 1.0, 5)],
        1,
    ),
    ("an empty label and none", TEXT, b'lb27{a=""} 1\nlb27 2\n', {}, [("lb27", 1.0, 5)], 1),
    ("spaces and commas", TEXT, b'm{a="1"} 1\nm { a = "1" , } 2\n', {}, [("m", 1.0, 5)], 1),
    ("escapes spelled two ways", TEXT, b'm{a="\\q"} 1\nm{a="\\\\q"} 2\n', {}, [("m", 1.0, 5)], 1),
    ("openmetrics", OM, b"omd_m 1\nomd_m 2\n# EOF\n", {}, [("omd_m", 1.0, 5)], 1),
    (
        "same exposed timestamp",
        TEXT,
        b"dt_m 1 %d\ndt_m 2 %d\n" % (T, T),
        {},
        [("dt_m", 1.0, T)],
        1,
    ),
    (
        "different exposed timestamps are all kept",
        TEXT,
        b"dt_m 1 %d\ndt_m 2 %d\n" % (T, T + 1000),
        {},
        [("dt_m", 1.0, T), ("dt_m", 2.0, T + 1000)],
        0,
    ),
    (
        "without honor_timestamps they are one time",
        TEXT,
        b"dt_m 1 %d\ndt_m 2 %d\n" % (T, T + 1000),
        {"honor_timestamps": False},
        [("dt_m", 1.0, 5)],
        1,
    ),
    (
        "an exposed label equal to the external one",
        TEXT,
        b'm{region="eu"} 1\nm 2\n',
        {},
        [("m", 1.0, 5)],
        1,
    ),
    (
        "honor_labels: the target's own instance",
        TEXT,
        b'm 1\nm{instance="127.0.0.1:1"} 2\n',
        {"honor_labels": True},
        [("m", 1.0, 5)],
        1,
    ),
    (
        "without honor_labels they differ",
        TEXT,
        b'm 1\nm{instance="127.0.0.1:1"} 2\n',
        {},
        [("m", 1.0, 5), ("m", 2.0, 5)],
        0,
    ),
    (
        "metric relabeling makes two series one",
        TEXT,
        b'm{pod="a"} 1\nm{pod="b"} 2\nn 3\n',
        {"metric_relabel": compile_rules((RelabelConfig(action="labeldrop", regex="pod"),))},
        [("m", 1.0, 5), ("n", 3.0, 5)],
        1,
    ),
    (
        "what relabeling drops is no series",
        TEXT,
        b'm{pod="a"} 1\nm{pod="b"} 2\nn 3\n',
        {
            "metric_relabel": compile_rules(
                (RelabelConfig(action="drop", source_labels=("__name__",), regex="m"),)
            )
        },
        [("n", 3.0, 5)],
        0,
    ),
    # a series is its labels whatever its family, as Prometheus 2.42 stores it (the first kept)
    ("a changed TYPE in between", TEXT, b"a 1\n# TYPE a gauge\na 2\n", {}, [("a", 1.0, 5)], 1),
    (
        "a changed TYPE between two spellings",
        TEXT,
        b'b{x="1",y="2"} 1\n# TYPE b gauge\nb{y="2",x="1"} 2\n',
        {},
        [("b", 1.0, 5)],
        1,
    ),
    (
        "a counter, then a gauge twice",
        TEXT,
        b"# TYPE c counter\nc 1\n# TYPE c gauge\nc 2\nc 3\n",
        {},
        [("c", 1.0, 5)],
        2,
    ),
    ("a changed TYPE in openmetrics", OM, b"d 1\n# TYPE d gauge\nd 2\n# EOF\n", {}, [("d", 1.0, 5)], 1),
    (
        "a histogram's count, then a gauge",
        TEXT,
        b"# TYPE h histogram\nh_count 1\n# TYPE h_count gauge\nh_count 2\n",
        {},
        [("h_count", 1.0, 5)],
        1,
    ),
]


def _read(
    cache: SeriesCache, data: bytes, content_type: str, honor: bool
) -> tuple[list[tuple[str, float, int]], int]:
    budget = ScrapeBudget()
    samples = [
        s for chunk in cache.read(data, content_type, 5, honor_timestamps=honor, budget=budget) for s in chunk
    ]
    return [(s.name, s.value, s.timestamp_ms) for s in samples], budget.duplicates


@pytest.mark.parametrize(
    ("content_type", "data", "overrides", "kept", "dropped"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_the_first_sample_of_a_series_is_kept_and_the_rest_counted(
    content_type: str,
    data: bytes,
    overrides: dict[str, object],
    kept: list[tuple[str, float, int]],
    dropped: int,
) -> None:
    job = target(**overrides)

    def cache() -> SeriesCache:
        return SeriesCache(finisher(job), job.metric_relabel)

    honor = job.honor_timestamps
    warm = cache()
    assert _read(warm, data, content_type, honor) == (kept, dropped)  # cold
    assert _read(warm, data, content_type, honor) == (kept, dropped)  # warm
    with patch.object(body_module, "CHUNK_BYTES", 1):  # one line a chunk, cold then warm
        chunked = cache()
        assert _read(chunked, data, content_type, honor) == (kept, dropped)
        assert _read(chunked, data, content_type, honor) == (kept, dropped)


def test_one_series_under_two_texts_keeps_one_ref_until_both_are_gone() -> None:
    cache = SeriesCache()
    first = cache.samples(b'm{a="1",b="2"} 1\nm{b="2",a="1"} 2\n', TEXT, 1)
    (ref,) = {s.series for s in first}
    (alone,) = cache.samples(b'm{b="2",a="1"} 3\n', TEXT, 2)  # the first spelling went
    assert alone.series == ref and cache.take_retired() == []
    (again,) = cache.samples(b'm{a="1",b="2"} 4\nm{b="2",a="1"} 5\n', TEXT, 3)
    assert (again.series, again.value) == (ref, 4.0)
    cache.samples(b"other 1\n", TEXT, 4)
    assert cache.take_retired() == [ref]


def test_a_new_spelling_of_a_known_series_on_a_warm_scrape_is_a_duplicate() -> None:
    cache = SeriesCache()
    (known,) = cache.samples(b'm{a="1",b="2"} 1\n', TEXT, 1)
    budget = ScrapeBudget()
    data = b'm{b="2",a="1"} 9\nm{a="1",b="2"} 2\n'
    warm = [s for chunk in cache.read(data, TEXT, 2, budget=budget) for s in chunk]
    assert [(s.series, s.value) for s in warm] == [(known.series, 9.0)] and budget.duplicates == 1


def test_duplicates_count_against_sample_limit_and_as_relabeled_samples() -> None:
    budget = ScrapeBudget()
    budget.drop_duplicates(2)
    assert (budget.duplicates, budget.admitted) == (2, 2)


def test_of_one_series_under_two_types_the_first_sample_keeps_its_family() -> None:
    data = b"# TYPE c counter\nc 1\n# TYPE c gauge\nc 2\n"
    cache = SeriesCache()
    for scrape_ms in (1, 2):  # cold, then warm
        (sample,) = cache.samples(data, TEXT, scrape_ms)
        assert (sample.value, sample.family.type) == (1.0, "counter")
