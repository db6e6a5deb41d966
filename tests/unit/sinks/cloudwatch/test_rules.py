"""Per-metric settings (first match wins), include/exclude, and units."""

from __future__ import annotations

import pytest
from scrape_push.model import Family
from scrape_push.sinks.cloudwatch.config import MetricRule
from scrape_push.sinks.cloudwatch.rules import Rules, base_unit, unit_for

from tests.support.cloudwatch import config


def test_first_matching_rule_wins_over_sink_defaults() -> None:
    rules = Rules(
        config(
            counter_mode="delta",
            metrics=(
                MetricRule("http_.*", dimensions=("job", "code"), counter_mode="rate", unit="Count/Second"),
                MetricRule("http_requests", counter_mode="cumulative"),
            ),
        )
    )
    found = rules.settings("http_requests", "http_requests_total")
    assert found is not None
    assert (found.dimensions, found.counter_mode, found.unit) == (("job", "code"), "rate", "Count/Second")
    other = rules.settings("node_cpu_seconds", "node_cpu_seconds_total")
    assert other is not None and other.counter_mode == "delta" and other.dimensions == ("job", "instance")


def test_match_is_fully_anchored_and_tries_family_then_series_name() -> None:
    rules = Rules(config(metrics=(MetricRule("requests_total", counter_mode="rate"),)))
    by_series = rules.settings("requests", "requests_total")
    assert by_series is not None and by_series.counter_mode == "rate"
    not_anchored = rules.settings("http_requests", "http_requests_total")
    assert not_anchored is not None and not_anchored.counter_mode == "cumulative"


@pytest.mark.parametrize(
    "family,name,kept",
    [
        ("node_cpu", "node_cpu_total", True),
        ("node_cpu", "node_cpu_created", False),
        ("go_gc", "go_gc_total", False),
        ("node_x_created", "node_x_created", False),
    ],
)
def test_include_then_exclude(family: str, name: str, kept: bool) -> None:
    rules = Rules(config(include=("node_.*",), exclude=(".*_created",)))
    assert (rules.settings(family, name) is not None) is kept


UNITS = {
    "OpenMetrics UNIT": (Family("rpc", "histogram", unit="seconds"), "rpc_sum", False, "gauge", "Seconds"),
    "suffix _seconds": (Family("x_seconds", "gauge"), "x_seconds", False, "gauge", "Seconds"),
    "suffix _bytes on a counter, delta": (
        Family("rx_bytes", "counter"),
        "rx_bytes_total",
        True,
        "delta",
        "Bytes",
    ),
    "bytes counter as a rate": (
        Family("rx_bytes", "counter"),
        "rx_bytes_total",
        True,
        "rate",
        "Bytes/Second",
    ),
    "_total without unit, cumulative": (Family("req", "counter"), "req_total", True, "cumulative", None),
    "_total without unit, delta": (Family("req", "counter"), "req_total", True, "delta", "Count"),
    "_total without unit, rate": (Family("req", "counter"), "req_total", True, "rate", "Count/Second"),
    "seconds per second is dimensionless": (
        Family("cpu_seconds", "counter"),
        "cpu_seconds_total",
        True,
        "rate",
        None,
    ),
    "_count of a seconds histogram counts": (
        Family("rpc_seconds", "histogram"),
        "rpc_seconds_count",
        True,
        "delta",
        "Count",
    ),
    "unknown unit word": (Family("temp_celsius", "gauge"), "temp_celsius", False, "gauge", None),
}


@pytest.mark.parametrize("family,name,counted,mode,unit", UNITS.values(), ids=UNITS.keys())
def test_units(family: Family, name: str, counted: bool, mode: str, unit: str | None) -> None:
    settings = Rules(config()).settings(family.name, name)
    assert settings is not None
    assert unit_for(family, name, settings, counted=counted, mode=mode) == unit


def test_configured_unit_wins() -> None:
    settings = Rules(config(metrics=(MetricRule(".*", unit="Milliseconds"),))).settings(
        "x_seconds", "x_seconds"
    )
    assert settings is not None
    assert unit_for(Family("x_seconds"), "x_seconds", settings, counted=False, mode="gauge") == "Milliseconds"
    assert base_unit(Family("plain"), "plain") is None
