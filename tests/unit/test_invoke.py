from __future__ import annotations

import gc

import pytest
from scrape_push import invoke
from scrape_push.config.errors import ConfigLoadError
from scrape_push.config.source import parse_config
from scrape_push.invoke import EventError, handle, selected_jobs

CONFIG = parse_config("scrape_configs:\n  - job_name: a\n  - job_name: b\n").config


@pytest.mark.parametrize("event", [{}, None, {"version": "0", "source": "aws.scheduler"}, [], "x"])
def test_other_events_run_every_job(event: object) -> None:
    assert selected_jobs(event, CONFIG) is None


def test_jobs_event_selects_jobs_without_duplicates() -> None:
    assert selected_jobs({"jobs": ["b", "a", "b"]}, CONFIG) == ["b", "a"]


@pytest.mark.parametrize(
    "event,message",
    [
        ({"jobs": "a"}, 'event "jobs" must be a list of job names'),
        ({"jobs": [1]}, 'event "jobs" must be a list of job names'),
        ({"jobs": ["a", "zz"]}, "event names job(s) not in the configuration: zz"),
    ],
)
def test_bad_jobs_event_fails_loudly(event: object, message: str) -> None:
    with pytest.raises(EventError) as caught:
        selected_jobs(event, CONFIG)
    assert str(caught.value) == message


def test_missing_config_parameter_env_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONFIG_PARAMETER", raising=False)
    with pytest.raises(ConfigLoadError, match="CONFIG_PARAMETER is not set"):
        handle({}, None)


def test_the_collector_waits_until_the_cycle_is_freed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A collection while the cycle's samples are alive would walk all of them (issue 20)."""
    seen: list[bool] = []

    def plan(event: object, context: object, runtime: object) -> dict[str, object]:
        seen.append(gc.isenabled())
        return {}

    monkeypatch.setattr(invoke, "_plan", plan)
    monkeypatch.setattr(invoke.worker, "shard_records", lambda event: None)
    assert gc.isenabled()
    handle({}, None)
    assert seen == [False] and gc.isenabled()
