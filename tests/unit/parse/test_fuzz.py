"""Fuzzing the parser (issue 12): near-valid expositions of both formats, mutated
(``tests/support/expositions.py``), in a bounded run.

For every body: nothing but ``ParseError`` (or, with a budget, ``MemoryBudgetExceeded``) leaves
the parser; a failed parse leaves a warm series cache exactly as it was; a warm parse gives what
a cold parse gives, samples or error; and so does a parse in one-line chunks. Every input the
fuzzing found to crash the parser is a regression case in test_rules.py's ``INVALID`` table.
"""

from __future__ import annotations

import math
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scrape_push.labels import LabelFinisher, finisher
from scrape_push.limits import MemoryBudgetExceeded, ScrapeBudget
from scrape_push.model import Exemplar, Sample
from scrape_push.parse import ParseError, body
from scrape_push.scrape import SeriesCache
from scrape_push.targets import Target

from tests.support.expositions import expositions, mutated
from tests.support.parsing import parse_exposition

pytestmark = pytest.mark.once  # long and interpreter-independent: not run again on 3.13

TEXT = "text/plain; version=0.0.4; charset=utf-8"
OM = "application/openmetrics-text; version=1.0.0; charset=utf-8"
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
"""Bounded: a few seconds a test. Runs of 4,000 examples found nothing more."""


def _target(honor_labels: bool) -> Target:
    # a target label value that looks like the parser's own placeholders
    return Target(
        job="api",
        url="http://127.0.0.1:1/metrics",
        labels=(("instance", "\x001"), ("job", "api")),
        external_labels=(("region", "eu"),),
        timeout=1.0,
        interval=60.0,
        honor_labels=honor_labels,
        honor_timestamps=True,
        body_size_limit=1 << 20,
    )


FINISHERS: list[LabelFinisher | None] = [None, finisher(_target(False)), finisher(_target(True))]

Outcome = list[tuple[object, ...]] | tuple[str, int | None, str]


def _number(value: float) -> str:
    return "NaN" if math.isnan(value) else repr(value)


def _exemplar(exemplar: Exemplar | None) -> object:
    return exemplar and (exemplar.labels, _number(exemplar.value), exemplar.timestamp_ms)


def _view(s: Sample) -> tuple[object, ...]:
    return (s.name, s.labels, _number(s.value), s.timestamp_ms, s.family, _exemplar(s.exemplar))


def outcome(data: bytes, content_type: str, cache: SeriesCache) -> Outcome:
    """The samples, or the error; any other exception fails the test that calls it."""
    try:
        return list(map(_view, parse_exposition(data, content_type, cache)))
    except ParseError as exc:
        return ("error", exc.line, exc.reason)


def snapshot(cache: SeriesCache) -> tuple[object, ...]:
    """Everything a parse could change in a cache, by identity where identity matters."""
    return (
        cache.format,
        cache.added,
        {key: id(entry) for key, entry in cache.entries.items()},
        {family: id(found) for family, found in cache.families.items()},
        {shape: id(info) for shape, info in cache.plans.items()},
        cache.maker.identities,
        set(cache.shared),
    )


@FUZZ
@given(st.data(), st.booleans(), st.sampled_from(FINISHERS))
def test_fuzzed_expositions(data: st.DataObject, openmetrics: bool, finish: LabelFinisher | None) -> None:
    base = data.draw(expositions(openmetrics), label="base")
    exposition = data.draw(mutated(base), label="exposition")
    content_type = data.draw(st.sampled_from([OM, TEXT] if openmetrics else [TEXT, OM]))
    cold = outcome(exposition, content_type, SeriesCache(finish))

    warm_cache = SeriesCache(finish)
    outcome(base, content_type, warm_cache)
    before = snapshot(warm_cache)
    assert outcome(exposition, content_type, warm_cache) == cold
    if isinstance(cold, tuple):
        assert snapshot(warm_cache) == before

    with patch.object(body, "CHUNK_BYTES", 1):
        assert outcome(exposition, content_type, SeriesCache(finish)) == cold


@FUZZ
@given(st.data(), st.booleans(), st.integers(0, 4000))
def test_fuzzed_expositions_within_a_memory_budget(
    data: st.DataObject, openmetrics: bool, max_bytes: int
) -> None:
    base = data.draw(expositions(openmetrics), label="base")
    exposition = data.draw(mutated(base), label="exposition")
    content_type = OM if openmetrics else TEXT
    cache = SeriesCache()
    outcome(base, content_type, cache)
    before = snapshot(cache)
    with patch.object(body, "CHUNK_BYTES", 64):
        try:
            parse_exposition(exposition, content_type, cache, ScrapeBudget(max_bytes=max_bytes + 1))
        except (ParseError, MemoryBudgetExceeded):
            assert snapshot(cache) == before


FOUND = [
    # (name, content type, body): what the fuzzing found to differ between chunkings, kept with
    # what Prometheus 2.42 makes of each (test_prometheus_242.py)
    ("a quote in an indented HELP", TEXT, b' # HELP a \\\\"\n# a comment\na{a="\\",} 0 0\n'),
]


@pytest.mark.parametrize(("content_type", "data"), [f[1:] for f in FOUND], ids=[f[0] for f in FOUND])
def test_what_fuzzing_found_parses_alike_in_any_chunks(content_type: str, data: bytes) -> None:
    whole = outcome(data, content_type, SeriesCache())
    for size in (1, 2, 16):
        with patch.object(body, "CHUNK_BYTES", size):
            assert outcome(data, content_type, SeriesCache()) == whole, size


def test_om_timestamps_at_the_edges_of_int64_ms() -> None:
    data = b"a 1 9.2e15\nb 1 -9223372036854775.808\n# EOF\n"
    assert [s.timestamp_ms for s in parse_exposition(data, OM)] == [
        9_200_000_000_000_000_000,
        -9223372036854775808,
    ]


def test_a_target_label_like_a_placeholder_keeps_its_value() -> None:
    (sample,) = parse_exposition(b'a{x="1"} 1\n', TEXT, SeriesCache(finisher(_target(False))))
    assert sample.labels == (("instance", "\x001"), ("job", "api"), ("region", "eu"), ("x", "1"))


def test_text_timestamps_with_leading_zeros_are_integers() -> None:
    (sample,) = parse_exposition(b"a 1 " + b"0" * 30 + b"15\n", TEXT)
    assert sample.timestamp_ms == 15
