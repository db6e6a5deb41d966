"""Native histograms' buckets (issue 16): compact spans, and resolution reduced as Prometheus
reduces it for native_histogram_min_bucket_factor and native_histogram_bucket_limit."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scrape_push.histogram import compact, fit, indexed, max_schema, reduce_resolution
from scrape_push.limits import LimitExceeded, ScrapeBudget, ScrapeLimits
from scrape_push.model import NativeHistogram


def _histogram(schema: int, buckets: dict[int, int]) -> NativeHistogram:
    spans, counts = compact(sorted(buckets.items()))
    return NativeHistogram(
        count=sum(buckets.values()), sum=1.0, schema=schema, positive_spans=spans, positive=counts
    )


def _upper(index: int, schema: int) -> Fraction:
    """The log2 of bucket ``index``'s upper bound (exact: bounds are compared, not computed)."""
    return Fraction(index, 2**schema) if schema >= 0 else Fraction(index * 2**-schema)


def test_compact_leaves_out_empty_buckets_and_joins_neighbours() -> None:
    assert compact([(-3, 1), (-2, 0), (-1, 2), (0, 3), (4, 1)]) == (((-3, 1), (1, 2), (3, 1)), (1, 2, 3, 1))
    assert list(indexed(((-3, 1), (1, 2), (3, 1)), (1, 2, 3, 1))) == [(-3, 1), (-1, 2), (0, 3), (4, 1)]


def test_resolution_is_reduced_as_in_prometheus() -> None:
    # schema 1 -> 0: buckets 1, 2 merge into 1; 3, 4 into 2; 0 and -1 into 0; -2 stays alone as -1
    reduced = reduce_resolution(_histogram(1, {-2: 1, -1: 2, 0: 3, 1: 4, 2: 5, 3: 6}), 0)
    assert list(indexed(reduced.positive_spans, reduced.positive)) == [(-1, 1), (0, 5), (1, 9), (2, 6)]
    assert reduced.schema == 0


@settings(max_examples=200, deadline=None)
@given(
    st.integers(-3, 8),
    st.integers(1, 6),
    st.dictionaries(st.integers(-300, 300), st.integers(1, 100), min_size=1, max_size=40),
)
def test_a_reduced_bucket_covers_the_buckets_merged_into_it(
    schema: int, drop: int, buckets: dict[int, int]
) -> None:
    target = max(-4, schema - drop)
    reduced = reduce_resolution(_histogram(schema, buckets), target)
    found = dict(indexed(reduced.positive_spans, reduced.positive))
    assert sum(found.values()) == sum(buckets.values())
    for index in buckets:
        covering = [
            t
            for t in found
            if _upper(t - 1, target) <= _upper(index - 1, schema)
            and _upper(index, schema) <= _upper(t, target)
        ]
        assert len(covering) == 1


@pytest.mark.parametrize(
    ("factor", "schema"), [(0, 8), (1, 8), (1.002, 8), (1.01, 6), (1.1, 2), (1.4, 1), (2, 0), (65536, -4)]
)
def test_the_bucket_factor_gives_prometheus_s_schema(factor: float, schema: int) -> None:
    assert max_schema(factor) == schema


def test_fit_applies_the_factor_in_one_step_then_the_limit_one_schema_at_a_time() -> None:
    wide = _histogram(8, dict.fromkeys(range(0, 400, 3), 1))
    assert fit(wide, 0, 1.1).schema == 2
    limited = fit(wide, 10, 0)
    assert limited is not None and limited.buckets <= 10 and fit(wide, 10, 0).schema == limited.schema
    assert reduce_resolution(wide, limited.schema + 1).buckets > 10
    assert fit(_histogram(-4, {0: 1, 5: 1, 9: 1}), 2, 0) is None


def test_a_scrape_fails_when_a_histogram_cannot_fit_its_bucket_limit() -> None:
    budget = ScrapeBudget(ScrapeLimits(native_histogram_bucket_limit=1))
    fitted = budget.fit([None, _histogram(0, {1: 1, 2: 1})])
    assert fitted[0] is None and fitted[1] is not None and fitted[1].buckets == 1
    with pytest.raises(LimitExceeded, match="histogram bucket limit exceeded"):
        budget.fit([_histogram(-4, {0: 1, 5: 1})])
