"""Discovery as an operator expects it: each entry refreshed at its refresh_interval across warm
cycles, within the deadline, its last targets kept (and reported) when a refresh fails."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import pytest
from scrape_push.config.source import parse_config
from scrape_push.deadline import Deadline
from scrape_push.discovery import Discovered, DiscoveryError
from scrape_push.discovery.http.config import HTTPSDConfig
from scrape_push.discovery.refresh import EARLY_SECONDS, Key, Refresher
from scrape_push.targets import Discoveries, build_targets

from tests.support.context import build_context

KEY: Key = ("job", "http_sd_configs", 0)
A = {"__address__": "a:1"}
B = {"__address__": "b:1"}


@dataclass
class Scripted:
    """A discoverer answering what it is told, one answer per refresh, and counting them."""

    answers: list[Discovered | Exception | threading.Event] = field(default_factory=list)
    calls: int = 0
    given: list[float] = field(default_factory=list)
    """The time each refresh was given, as it started."""

    def discover(self, deadline: Deadline) -> Discovered:
        self.calls += 1
        self.given.append(deadline.remaining())
        answer = self.answers.pop(0)
        if isinstance(answer, threading.Event):
            answer.wait(10)
            return Discovered([A])
        if isinstance(answer, Exception):
            raise answer
        return answer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def refresher(clock: Clock, discoverer: Scripted) -> Refresher:
    return Refresher(build_context(), clock, lambda _key, _config, _context: discoverer)


CONFIG = HTTPSDConfig("http://sd/", refresh_interval=300.0)


def test_an_entry_refreshes_only_once_its_interval_has_passed(clock: Clock) -> None:
    discoverer = Scripted([Discovered([A]), Discovered([B])])
    found = refresher(clock, discoverer)
    found.refresh([(KEY, CONFIG)])
    for later in (60.0, 290.0 - EARLY_SECONDS):  # warm cycles within the interval
        clock.now = 1000.0 + later
        found.refresh([(KEY, CONFIG)])
    assert discoverer.calls == 1
    assert found.found(KEY) == ([A], None)
    clock.now = 1000.0 + 300.0 - EARLY_SECONDS  # a schedule of the same period refreshes every cycle
    found.refresh([(KEY, CONFIG)])
    assert discoverer.calls == 2
    assert found.found(KEY) == ([B], None)


def test_a_failed_refresh_keeps_the_last_targets_and_says_so(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    discoverer = Scripted(
        [Discovered([A, B]), DiscoveryError("http_sd_configs: http://sd/: refused"), Discovered([B])]
    )
    found = refresher(clock, discoverer)
    found.refresh([(KEY, CONFIG)])
    clock.now += 300.0
    found.refresh([(KEY, CONFIG)])
    clock.now += 60.0  # the next cycles keep saying it, until a refresh succeeds
    assert found.found(KEY) == (
        [A, B],
        "http_sd_configs: http://sd/: refused; using the 2 target(s) found 360s ago",
    )
    (logged,) = [r for r in caplog.records if "refused" in r.getMessage()]
    assert (
        logged.getMessage() == "discovery http_sd_configs[0] of job job: http_sd_configs: http://sd/: refused"
    )
    clock.now += 240.0
    found.refresh([(KEY, CONFIG)])
    assert found.found(KEY) == ([B], None)


def test_until_a_refresh_succeeds_every_cycle_tries_again(clock: Clock) -> None:
    discoverer = Scripted([DiscoveryError("down"), DiscoveryError("down"), Discovered([A])])
    found = refresher(clock, discoverer)
    for _cycle in range(3):
        found.refresh([(KEY, CONFIG)])
        clock.now += 60.0
    assert discoverer.calls == 3
    assert found.found(KEY) == ([A], None)


def test_parts_that_failed_are_reported_with_the_targets_found(clock: Clock) -> None:
    found = refresher(clock, Scripted([Discovered([A], ["cluster x: throttled", "cluster y: denied"])]))
    found.refresh([(KEY, CONFIG)])
    assert found.found(KEY) == (
        [A],
        "cluster x: throttled; cluster y: denied; using the 1 target(s) found 0s ago",
    )


def test_a_bug_in_a_discoverer_is_its_entrys_error_only(clock: Clock) -> None:
    discoverer = Scripted([Discovered([A]), KeyError("Reservations")])
    found = refresher(clock, discoverer)
    found.refresh([(KEY, CONFIG)])
    clock.now += 300.0
    found.refresh([(KEY, CONFIG)])
    assert found.found(KEY) == (
        [A],
        "internal error: KeyError: 'Reservations'; using the 1 target(s) found 300s ago",
    )


def test_a_refresh_ends_within_its_share_of_the_deadline_and_is_never_run_twice(clock: Clock) -> None:
    context = build_context()
    release = threading.Event()
    discoverer = Scripted([release, Discovered([B])])
    found = Refresher(context, clock, lambda _key, _config, _context: discoverer)
    try:
        with context.aws.calls_within(Deadline.after(0.4)):
            found.refresh([(KEY, CONFIG)])  # returns at its deadline, the refresh still running
            assert found.found(KEY) == (
                [],
                "refresh did not finish before the deadline of this cycle's discovery",
            )
            (given,) = discoverer.given
            assert 0 < given <= 0.2  # half of what the invocation had
            clock.now += 60.0
            found.refresh([(KEY, CONFIG)])  # nothing known, but it is still running: not again
            assert discoverer.calls == 1
    finally:
        release.set()
    _wait_done(found)
    found.refresh([(KEY, CONFIG)])
    assert discoverer.calls == 2
    assert found.found(KEY) == ([B], None)


def _wait_done(found: Refresher) -> None:
    entry: Any = found._entries[KEY]
    assert entry.running is not None
    entry.running.result(10)


def test_an_entry_refreshes_with_the_deadline_of_its_interval_when_shorter(clock: Clock) -> None:
    discoverer = Scripted([Discovered([A])])
    found = refresher(clock, discoverer)
    found.refresh([(KEY, HTTPSDConfig("http://sd/", refresh_interval=2.0))])  # no invocation deadline: 30s
    (given,) = discoverer.given
    assert 1.0 < given <= 2.0


def test_a_discovery_failure_is_a_target_error_of_the_job_and_the_targets_stay(clock: Clock) -> None:
    config = parse_config(
        "scrape_configs:\n"
        "  - job_name: sd\n"
        "    static_configs: [{targets: ['static:1']}]\n"
        "    http_sd_configs: [{url: 'http://sd/', refresh_interval: 1m}]\n"
        "cloudwatch: [{namespace: N}]\n"
    ).config
    discoverer = Scripted([Discovered([A]), DiscoveryError("http_sd_configs: http://sd/: refused")])
    discoveries = Discoveries(build_context(), clock, lambda _key, _config, _context: discoverer)
    assert [t.url for t in build_targets(config, None, discoveries).targets] == [
        "http://static:1/metrics",
        "http://a:1/metrics",
    ]
    clock.now += 60.0
    built = build_targets(config, None, discoveries)
    assert [t.url for t in built.targets] == ["http://static:1/metrics", "http://a:1/metrics"]
    (error,) = built.errors
    assert (error.job, error.target) == ("sd", "http_sd_configs[0]")
    assert error.error == "http_sd_configs: http://sd/: refused; using the 1 target(s) found 60s ago"
