"""The dry-run cost report: tiered prices, metric counting as the sink would send (the command
itself, scrape-push cost, is tested with the CLI)."""

from __future__ import annotations

import pytest
from scrape_push.model import Family
from scrape_push.sinks.cloudwatch import cost
from scrape_push.sinks.cloudwatch.config import MetricRule

from tests.support.cloudwatch import NOW_MS, config, sample


@pytest.mark.parametrize(
    "metrics,usd",
    [(0, 0.0), (1, 0.30), (10_000, 3_000.0), (10_001, 3_000.10), (250_000, 27_000.0), (1_000_001, 64_500.02)],
)
def test_metric_month_tiers(metrics: int, usd: float) -> None:
    assert cost.metric_month_cost(metrics) == pytest.approx(usd)


def test_counts_every_dimension_set_including_rollups_and_tracked_series() -> None:
    counter = Family("req", "counter")
    samples = [sample("req_total", 5.0, family=counter, code=c) for c in ("200", "404", "500")]
    samples += [sample("temp", 20.0), sample("go_gc", 1.0)]
    cfg = config(
        counter_mode="delta",
        exclude=("go_.*",),
        metrics=(MetricRule("req", dimensions=("job", "instance", "code"), rollups=(("job",),)),),
    )
    found = cost.estimate(cfg, samples, NOW_MS)
    assert found.metrics == 3 + 1 + 1  # three codes, the job-level rollup, temp
    assert found.per_metric["req_total"] == 4
    assert found.requests == 1 and found.state_targets == 1 and found.state_requests() == 2
    assert found.dropped == {"excluded": 1}
    monthly = found.monthly(43_800)
    assert monthly["metrics"] == pytest.approx(5 * 0.30)
    assert monthly["requests"] == pytest.approx(43_800 / 1000 * 0.01)
    assert monthly["total"] == pytest.approx(sum(v for k, v in monthly.items() if k != "total"))


def test_emf_costs_log_bytes_instead_of_requests() -> None:
    found = cost.estimate(config(mode="emf"), [sample("a"), sample("b")], NOW_MS)
    assert found.metrics == 2 and found.emf_bytes > 100
    assert "requests" not in found.monthly(1000) and "logs" in found.monthly(1000)
