"""Each target's connection is kept from one cycle to the next, as Prometheus keeps it (no new
TCP or TLS handshake per scrape), for fleets larger than the scrape concurrency; a kept
connection the target closes as the next scrape goes out is retried once on a new one. No cookie
a target sets is kept (Prometheus's client has no cookie jar)."""

from __future__ import annotations

from typing import Any

from scrape_push.scrape.scraper import KEPT_TARGET_CONNECTIONS

from tests.functional.conftest import Emulated
from tests.functional.test_handler import config, job
from tests.support.http import Response, serve
from tests.support.keepalive import kept_endpoints

TARGETS = 20
"""More than the default ``max_concurrent_scrapes`` (16), which bounded the kept pools before."""


def up_of(summary: dict[str, Any]) -> list[int]:
    return [target["up"] for target in summary["targets"]]


def test_a_fleet_larger_than_the_scrape_concurrency_keeps_one_connection_per_target(
    emulated: Emulated,
) -> None:
    assert KEPT_TARGET_CONNECTIONS >= TARGETS
    with kept_endpoints(TARGETS) as endpoints:
        emulated.put_config(config(job("kept", *(e.address for e in endpoints))))
        for _ in range(3):
            assert up_of(emulated.invoke()) == [1] * TARGETS
    assert [(e.counts.connections, e.counts.answered) for e in endpoints] == [(1, 3)] * TARGETS


def test_a_kept_connection_the_target_closes_as_the_scrape_goes_out_is_retried_once_on_a_new_one(
    emulated: Emulated,
) -> None:
    with kept_endpoints(1, close_kept=True) as (endpoint,):
        emulated.put_config(config(job("kept", endpoint.address)))
        first = emulated.invoke()
        second = emulated.invoke()
    assert up_of(first) == up_of(second) == [1]
    # the second scrape: the kept connection's request went unanswered, then a new connection
    assert (endpoint.counts.connections, endpoint.counts.requests, endpoint.counts.answered) == (2, 3, 2)


def test_a_new_connection_closed_unanswered_is_not_retried(emulated: Emulated) -> None:
    with kept_endpoints(1, close_all=True) as (endpoint,):
        emulated.put_config(config(job("closing", endpoint.address)))
        summary = emulated.invoke()
    (target,) = summary["targets"]
    assert target["up"] == 0 and target["error"].startswith("connection failed: ")
    assert (endpoint.counts.connections, endpoint.counts.requests) == (1, 1)


def test_a_cookie_a_target_sets_is_not_sent_back(emulated: Emulated) -> None:
    # Prometheus's HTTP client has no cookie jar: every scrape goes out as the first did
    cookie = Response(b"with_cookie 1\n", headers={"Set-Cookie": "session=s3cr3t; Path=/"})
    with serve(cookie) as endpoint:
        emulated.put_config(config(job("cookies", endpoint.address)))
        for _ in range(2):
            assert up_of(emulated.invoke()) == [1]
    assert len(endpoint.requests) == 2
    assert [r for r in endpoint.requests if "Cookie" in r] == []
