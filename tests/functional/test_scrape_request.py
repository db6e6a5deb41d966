"""One scrape's GET: the request a target gets, and the per-request work requests would add
that the scrape leaves out (docs/performance.md, "One scrape's GET")."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from scrape_push import __version__
from scrape_push.negotiation import DEFAULT_NEGOTIATION

from tests.functional.conftest import Emulated
from tests.functional.test_handler import config, job
from tests.support.http import Endpoint, Response, serve


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    with serve(Response(b"value 1\n", gzip=True)) as running:
        yield running


def test_a_scrape_sends_the_request_it_always_sent(emulated: Emulated, endpoint: Endpoint) -> None:
    emulated.put_config(config(job("plain", endpoint.address, timeout="3s")))
    for _ in range(2):
        assert emulated.invoke()["targets"][0]["up"] == 1
    # every header, its value and its place, as requests' Session.get sent them (its session
    # defaults first, ours over them, then the scrape timeout)
    assert [list(request.items()) for request in endpoint.requests] == [
        [
            ("path", "/metrics"),
            ("Host", endpoint.address),
            ("User-Agent", f"scrape-push/{__version__}"),
            ("Accept-Encoding", "gzip"),
            ("Accept", DEFAULT_NEGOTIATION.accept),
            ("Connection", "keep-alive"),
            ("X-Prometheus-Scrape-Timeout-Seconds", "3"),
        ]
    ] * 2


def counted(calls: Counter[str], name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls[name] += 1
        return method(*args, **kwargs)

    return wrapper


def test_a_scrape_skips_the_merging_of_session_settings_it_does_not_use(
    emulated: Emulated, endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: Counter[str] = Counter()
    for name in ("request", "prepare_request", "merge_environment_settings", "send"):
        monkeypatch.setattr(requests.Session, name, counted(calls, name, getattr(requests.Session, name)))
    emulated.put_config(config(job("plain", endpoint.address)))
    assert emulated.invoke()["targets"][0]["up"] == 1
    # the moto server's AWS calls go through botocore, not requests: every call seen is the scrape's
    assert calls == {"send": 1}
