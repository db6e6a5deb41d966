"""The runtime: one owner of what a warm function keeps, one slot for its pipeline, one reset."""

from __future__ import annotations

import gc
import weakref

import pytest
from scrape_push.config.source import parse_config
from scrape_push.pipeline import gc_paused
from scrape_push.runtime import Runtime
from scrape_push.settings import Settings

CONFIG = (
    "scrape_configs: [{job_name: node, static_configs: [{targets: ['127.0.0.1:9100']}]},"
    " {job_name: api, static_configs: [{targets: ['127.0.0.1:8080']}]}]\n"
    "remote_write: [{url: 'http://127.0.0.1:9/api/v1/write', basic_auth: {username: u, password: pw1}}]\n"
)


def test_a_warm_invocation_gets_the_same_pipeline_until_config_or_jobs_change() -> None:
    runtime = Runtime(Settings())
    loaded = parse_config(CONFIG, "p")
    first = runtime.pipeline(loaded, None)
    assert runtime.pipeline(parse_config(CONFIG, "p"), None) is first  # same text: same digest
    by_jobs = runtime.pipeline(loaded, ["node"])
    assert by_jobs is not first
    changed = runtime.pipeline(parse_config(CONFIG.replace("pw1", "pw2"), "p"), ["node"])
    assert changed is not by_jobs


def test_a_replaced_pipeline_closes_its_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = Runtime(Settings())
    first = runtime.pipeline(parse_config(CONFIG), None)
    closed: list[str] = []
    monkeypatch.setattr(first.scraper, "close", lambda: closed.append("scraper"))
    for sink, _ in first.sinks:
        monkeypatch.setattr(sink, "close", lambda name=sink.name: closed.append(name))
    runtime.pipeline(parse_config(CONFIG), ["api"])
    assert closed == ["scraper", "remote_write/127.0.0.1:9/api/v1/write"]


def test_the_secrets_of_the_configuration_in_use_are_scrubbed_and_reset_forgets_them() -> None:
    runtime = Runtime(Settings())
    runtime.pipeline(parse_config(CONFIG), None)
    assert runtime.scrubber.scrub("echoed pw1") == "echoed ********"
    runtime.reset()
    assert runtime.scrubber.scrub("echoed pw1") == "echoed pw1"


def test_a_changed_environment_is_seen_by_the_next_invocation(monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = Runtime()
    monkeypatch.setenv("STATE_TABLE", "first")
    runtime.start_invocation()
    kept = runtime.pipeline(parse_config(CONFIG), None)
    runtime.start_invocation()
    assert runtime.settings.state_table == "first"
    assert runtime.pipeline(parse_config(CONFIG), None) is kept
    monkeypatch.setenv("STATE_TABLE", "second")
    runtime.start_invocation()
    assert runtime.settings.state_table == "second"
    assert runtime.pipeline(parse_config(CONFIG), None) is not kept


def test_each_shard_has_a_pipeline_of_its_own_in_the_one_slot() -> None:
    runtime = Runtime(Settings())
    loaded = parse_config(CONFIG, "p")
    planner = runtime.pipeline(loaded, None)
    assert planner.shard == 0 and runtime.pipeline(loaded, None, 0) is planner  # shard 0 is the planner's
    third = runtime.pipeline(loaded, None, 3)
    assert third is not planner and third.shard == 3
    assert runtime.pipeline(loaded, None, 3) is third  # the same shard again: warm
    assert runtime.pipeline(loaded, None, 0) is not planner  # one slot: another shard replaced it


def test_a_replaced_pipeline_is_freed_while_the_collector_is_paused_and_its_state_frozen() -> None:
    """A shard's worker changes pipeline at almost every invocation: the old one's state (with
    its reference cycles) must go at once, not linger beside the new one, nor be frozen with it."""
    runtime = Runtime(Settings())
    with gc_paused(runtime.freeze_gate):
        made = runtime.pipeline(parse_config(CONFIG), None)
        vars(made)["loop"] = made  # a reference cycle, as a real pipeline's state holds
        first = weakref.ref(made)
        del made
        runtime.freeze_gate.frozen = True  # as after the invocation that built it
        gc.freeze()
    try:
        with gc_paused(runtime.freeze_gate):
            runtime.pipeline(parse_config(CONFIG), ["api"])
            assert first() is None
    finally:
        gc.unfreeze()
