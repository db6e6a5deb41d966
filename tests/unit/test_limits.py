from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from scrape_push.labels import finisher
from scrape_push.limits import (
    LABEL_BYTES,
    SAMPLE_BYTES,
    SERIES_BYTES,
    LimitExceeded,
    MemoryBudgetExceeded,
    ScrapeBudget,
    ScrapeLimits,
)
from scrape_push.scrape import SeriesCache
from scrape_push.targets import Target

from tests.support.parsing import parse_exposition
from tests.support.samples import sample

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "exposition"
TARGET = Target(
    job="node",
    url="http://127.0.0.1:9100/metrics",
    labels=(("instance", "127.0.0.1:9100"), ("job", "node")),
    external_labels=(("region", "eu-west-1"),),
    timeout=10.0,
    interval=60.0,
    honor_labels=False,
    honor_timestamps=True,
    body_size_limit=1 << 26,
)

SAMPLES = [
    sample("http_requests_total", (("code", "200"), ("instance", "h:1"), ("job", "api")), 1.0),
    sample("http_requests_total", (("code", "500"), ("instance", "h:1"), ("job", "api")), 2.0),
]

CASES = {
    "sample_limit": (ScrapeLimits(sample_limit=1), "sample limit exceeded (2 samples, limit 1)"),
    "label_limit counts __name__": (
        ScrapeLimits(label_limit=3),
        "label_limit exceeded (metric: http_requests_total, number of labels: 4, limit: 3)",
    ),
    "label_name_length_limit": (
        ScrapeLimits(label_name_length_limit=4),
        "label_name_length_limit exceeded (metric: http_requests_total, label name: instance, length: 8, "
        "limit: 4)",
    ),
    "label_value_length_limit": (
        ScrapeLimits(label_value_length_limit=2),
        "label_value_length_limit exceeded (metric: http_requests_total, label name: code, value: '200', "
        "length: 3, limit: 2)",
    ),
}


@pytest.mark.parametrize("limits,message", CASES.values(), ids=CASES.keys())
def test_a_broken_limit_fails_the_scrape_with_prometheus_wording(limits: ScrapeLimits, message: str) -> None:
    with pytest.raises(LimitExceeded) as caught:
        ScrapeBudget(limits).admit(SAMPLES)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "limits",
    [
        ScrapeLimits(),
        ScrapeLimits(sample_limit=2, label_limit=4, label_name_length_limit=8, label_value_length_limit=3),
    ],
)
def test_samples_within_limits_pass(limits: ScrapeLimits) -> None:
    ScrapeBudget(limits).admit(SAMPLES)


def test_the_sample_limit_counts_across_chunks() -> None:
    budget = ScrapeBudget(ScrapeLimits(sample_limit=3))
    budget.admit(SAMPLES)
    with pytest.raises(LimitExceeded, match=r"^sample limit exceeded \(4 samples, limit 3\)$"):
        budget.admit(SAMPLES)


def test_label_limits_apply_to_every_chunk() -> None:
    budget = ScrapeBudget(ScrapeLimits(label_limit=4))
    budget.admit(SAMPLES)
    with pytest.raises(LimitExceeded, match="label_limit exceeded"):
        budget.admit([sample("x", (("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")), 1.0)])


def test_the_memory_budget_names_itself_and_what_to_change() -> None:
    budget = ScrapeBudget(max_bytes=24 << 20)
    budget.charge(1000, 10, 30, 5000)
    assert budget.kept_bytes == 1000 * SAMPLE_BYTES + 10 * SERIES_BYTES + 30 * LABEL_BYTES + 5000
    with pytest.raises(MemoryBudgetExceeded) as caught:
        budget.charge(180_000, 180_000, 0, 0)
    assert str(caught.value) == (
        "memory budget of 24 MiB for this target exceeded after 181,000 samples; "
        "raise the function's MemorySize or lower runtime.max_concurrent_scrapes"
    )
    assert isinstance(caught.value, LimitExceeded)


def test_no_memory_budget_without_max_bytes() -> None:
    budget = ScrapeBudget()
    budget.charge(10**9, 10**9, 10**9, 10**9)
    assert budget.parsed == 10**9


def _copies(fixture: str, count: int) -> tuple[bytes, str]:
    """The fixture's samples ``count`` times, each copy's metric names prefixed (new series)."""
    text = (FIXTURES / f"{fixture}.txt").read_text().removesuffix("# EOF\n")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    body = "".join(f"c{copy}_{line}\n" for copy in range(count) for line in lines)
    content_type = (FIXTURES / f"{fixture}.content-type").read_text().strip()
    return (body + ("# EOF\n" if "openmetrics" in fixture else "")).encode(), content_type


def _kept(parse: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        result = parse()
        gc.collect()  # empties the free lists (of tuples ...), whose blocks count as traced
        current, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return current


@pytest.mark.parametrize(
    "fixture", ["node_exporter.text", "node_exporter.openmetrics", "prometheus_client.openmetrics"]
)
def test_the_estimate_covers_what_a_parse_keeps_cold_and_warm(fixture: str) -> None:
    """The cost constants against tracemalloc (docs/scaling.md): never below, at most 2x."""
    data, content_type = _copies(fixture, 20)
    cache = SeriesCache(finisher(TARGET))
    for state in ("cold", "warm"):
        budget = ScrapeBudget()
        kept = _kept(lambda: parse_exposition(data, content_type, cache, budget))  # noqa: B023
        assert kept <= budget.kept_bytes <= 2 * kept, (state, budget.kept_bytes / kept)


@pytest.mark.parametrize(
    ("labels", "value"),
    [(21, "{series}{label}"), (21, "{label}"), (3, "{series}" + "x" * 520)],
    ids=["every pair unique", "pairs shared", "long unique values"],
)
def test_the_estimate_covers_hostile_label_sets_whether_their_pairs_are_shared_or_not(
    labels: int, value: str
) -> None:
    """A target's series share their label pairs (``scrape.entries.Interned``); a body whose
    every pair is new is charged each pair in full. Never below what the parse keeps; above it
    by more than for real expositions when the pairs are shared (each line's text is charged)."""
    lines = []
    for series in range(3000):
        pairs = ",".join(f'l{label}="{value.format(series=series, label=label)}"' for label in range(labels))
        lines.append(f'm{{{pairs},n="{series}"}} 1\n')
    data = "".join(lines).encode()
    budget = ScrapeBudget()
    kept = _kept(lambda: parse_exposition(data, "text/plain", SeriesCache(finisher(TARGET)), budget))
    assert kept <= budget.kept_bytes <= 3 * kept, budget.kept_bytes / kept
