"""One scrape's GET: the request a target gets, and the per-request work requests would add
that the scrape leaves out (docs/performance.md, "One scrape's GET")."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import requests.adapters
from scrape_push import __version__
from scrape_push.httpconfig import session as session_module
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


def counted(calls: Counter[str], name: str, method: Callable[..., Any], address: str) -> Callable[..., Any]:
    """``method``, counting in ``calls`` its calls about a URL of ``address``: the handler's
    other requests (its SSM reads) are not the scrape's."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        urls = [str(getattr(arg, "url", arg)) for arg in (*args, *kwargs.values())]
        if any(address in url for url in urls if isinstance(url, str) and "://" in url):
            calls[name] += 1
        return method(*args, **kwargs)

    return wrapper


def test_a_plain_scrape_skips_requests_sending_the_merging_of_settings_and_the_proxy_lookups(
    emulated: Emulated, endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: Counter[str] = Counter()
    at = endpoint.address
    for name in ("request", "prepare_request", "merge_environment_settings", "send"):
        monkeypatch.setattr(requests.Session, name, counted(calls, name, getattr(requests.Session, name), at))
    for module in (requests.adapters, session_module):  # the proxy lookups of a URL with no proxy
        monkeypatch.setattr(module, "select_proxy", counted(calls, "select_proxy", module.select_proxy, at))
    emulated.put_config(config(job("plain", endpoint.address)))
    assert emulated.invoke()["targets"][0]["up"] == 1
    assert calls == {}  # sent by scrapehttp: requests only prepared it


def test_a_target_s_get_is_prepared_once_and_its_credentials_every_time(
    emulated: Emulated, endpoint: Endpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tmp_path / "token"
    calls: Counter[str] = Counter()
    prepare_url = requests.PreparedRequest.prepare_url
    monkeypatch.setattr(
        requests.PreparedRequest, "prepare_url", counted(calls, "url", prepare_url, endpoint.address)
    )
    emulated.put_config(
        config(
            job(
                "files", endpoint.address, extra=f"    http_headers:\n      X-Token: {{files: ['{token}']}}\n"
            )
        )
    )
    for value in ("first-token", "rotated-token", "third-token"):
        token.write_text(value)
        assert emulated.invoke()["targets"][0]["up"] == 1
    assert [request["X-Token"] for request in endpoint.requests] == [
        "first-token",
        "rotated-token",
        "third-token",
    ]
    assert calls == {"url": 1}
