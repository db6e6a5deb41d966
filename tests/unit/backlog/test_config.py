"""``backlog:`` in each sink's configuration: defaults, per-kind ages, errors by key path."""

from __future__ import annotations

import re

import pytest
from scrape_push.backlog.config import DEFAULT_MAX_BYTES, DEFAULT_REPLAY_SECONDS
from scrape_push.config.errors import ConfigError
from scrape_push.config.source import parse_config
from scrape_push.sinks import build_sinks

from tests.support.context import build_context

CONFIG = """
remote_write: [{url: "http://127.0.0.1:9090/api/v1/write"}]
graphite: [{address: "127.0.0.1:2003"}]
cloudwatch: [{namespace: NS}]
"""


def test_defaults_keep_undelivered_data_within_each_destinations_window() -> None:
    config = parse_config(CONFIG).config
    # Filled in at load (what `scrape-push show` prints), from the sink kind's window.
    ages = {
        kind.kind: (config_.max_age, kind.default_max_age)
        for kind, config_ in build_sinks(config, build_context())
    }
    assert ages == {
        "remote_write": (3600.0, 3600.0),
        "graphite": (86400.0, 86400.0),
        "cloudwatch": (13 * 86400.0, 13 * 86400.0),
    }
    backlog = config.sinks["remote_write"][0].backlog
    assert (backlog.enabled, backlog.max_size, backlog.replay_time) == (
        True,
        DEFAULT_MAX_BYTES,
        DEFAULT_REPLAY_SECONDS,
    )


def test_settings_are_read_with_prometheus_units() -> None:
    config = parse_config(
        'remote_write: [{url: "http://r/w", backlog: {max_age: 2h, max_size: 64MB, replay_time: 30s}}]'
    ).config
    backlog = config.sinks["remote_write"][0].backlog
    assert (backlog.max_age, backlog.max_size, backlog.replay_time) == (7200.0, 64 * 1024**2, 30.0)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("cloudwatch: [{namespace: N, backlog: {max_age: 15d}}]", "cloudwatch[0].backlog.max_age: must be greater than 0 and at most 14d"),  # noqa: E501
        ("graphite: [{address: 'c:2003', backlog: {max_size: 0}}]", "graphite[0].backlog.max_size: must be greater than 0"),  # noqa: E501
        ("remote_write: [{url: 'http://r/w', backlog: {replay_time: 0s}}]", "remote_write[0].backlog.replay_time: must be greater than 0"),  # noqa: E501
        ("remote_write: [{url: 'http://r/w', backlog: {max_age: soon}}]", "remote_write[0].backlog.max_age: not a valid duration"),  # noqa: E501
        ("remote_write: [{url: 'http://r/w', backlog: {keep: true}}]", "remote_write[0].backlog.keep: unknown key"),  # noqa: E501
    ],
    ids=["age-past-two-weeks", "no-size", "no-replay-time", "bad-duration", "unknown-key"],
)  # fmt: skip
def test_invalid_settings_name_the_key(entry: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(entry)
