"""The ``cloudwatch[]`` section: the short common case, and every invalid variant's exact message."""

from __future__ import annotations

import pytest
from scrape_push.config.errors import ConfigError
from scrape_push.config.source import parse_config
from scrape_push.sinks.cloudwatch.config import CloudWatchConfig


def sink(text: str) -> CloudWatchConfig:
    (found,) = parse_config("cloudwatch:\n  - namespace: N\n" + text).config.sinks["cloudwatch"]
    return found


def test_the_short_form_keeps_plain_datums() -> None:
    found = sink("")
    assert (found.mode, found.counter_mode, found.histograms, found.summaries) == (
        "api",
        "cumulative",
        "buckets",
        "dimension",
    )
    assert found.dimensions == ("job", "instance") and not found.stateful


def test_the_full_form() -> None:
    found = sink(
        "    counter_mode: delta\n"
        "    histograms: distribution\n"
        "    summaries: metrics\n"
        "    dimensions: [job, instance]\n"
        "    rollups: [[job], []]\n"
        "    metrics:\n"
        '      - match: "http_.*"\n'
        "        dimensions: [job, instance, code]\n"
        "        rollups: [[job]]\n"
        "        counter_mode: rate\n"
        "        unit: Seconds\n"
        '    include: ["node_.*", "http_.*"]\n'
        '    exclude: [".*_created"]\n'
        "    max_series_per_metric: 500\n"
        "    mode: emf\n"
        "    namespace_per_job: true\n"
    )
    assert found.stateful and found.mode == "emf" and found.rollups == (("job",), ())
    (rule,) = found.metrics
    assert rule.pattern.match("http_requests") and not rule.pattern.match("xhttp_requests")
    assert rule.pattern.match("http_requests_total")


INVALID = {
    "31 dimensions": (
        "    dimensions: [" + ", ".join(f"l{i}" for i in range(31)) + "]\n",
        "cloudwatch[0].dimensions: 31 dimensions configured; CloudWatch allows at most 30 (line 3)",
    ),
    "30 dimensions plus le": (
        "    dimensions: [" + ", ".join(f"l{i}" for i in range(30)) + "]\n",
        "cloudwatch[0].dimensions: 30 dimensions configured, plus the 'le' dimension the sink adds "
        "(histograms: buckets); CloudWatch allows at most 30: drop a dimension, or set histograms: "
        "distribution (line 3)",
    ),
    "rule with 31 dimensions": (
        "    metrics:\n      - match: x\n        dimensions: ["
        + ", ".join(f"l{i}" for i in range(31))
        + "]\n",
        "cloudwatch[0].metrics[0].dimensions: 31 dimensions configured; CloudWatch allows at most 30",
    ),
    "rollup label not a dimension": (
        "    rollups: [[job, code]]\n",
        "cloudwatch[0].rollups[0]: labels ['code'] are not in 'dimensions' (line 3)",
    ),
    "bad regex": (
        '    include: ["(unclosed"]\n',
        "cloudwatch[0].include[0]: invalid regular expression '(unclosed': missing ), unterminated "
        "subpattern at position 0 (line 3)",
    ),
    "bad rule regex": (
        '    metrics:\n      - match: "*"\n',
        "cloudwatch[0].metrics[0].match: invalid regular expression '*': nothing to repeat at position 3",
    ),
    "unknown counter mode": (
        "    counter_mode: increase\n",
        "cloudwatch[0].counter_mode: must be one of 'cumulative', 'delta', 'rate', got 'increase' (line 3)",
    ),
    "unknown unit": (
        "    metrics:\n      - match: x\n        unit: Hours\n",
        "cloudwatch[0].metrics[0].unit: not a CloudWatch unit: 'Hours' (e.g. Seconds, Bytes, Count)",
    ),
    "negative cap": (
        "    max_series_per_metric: -1\n",
        "cloudwatch[0].max_series_per_metric: must not be negative (0 means no cap) (line 3)",
    ),
    "unknown key": ("    counters: delta\n", "cloudwatch[0].counters: unknown key (line 3)"),
    "unknown mode": (
        "    mode: logs\n",
        "cloudwatch[0].mode: must be one of 'api', 'emf', got 'logs' (line 3)",
    ),
}


@pytest.mark.parametrize("text,message", INVALID.values(), ids=INVALID.keys())
def test_invalid_configurations_name_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        sink(text)
    assert message in str(caught.value)
