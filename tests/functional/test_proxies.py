"""The proxy keys of a job through the real handler: no_proxy, proxy_from_environment (the
function's HTTP_PROXY / NO_PROXY, read by its settings) and proxy_connect_header (sent to the
proxy on CONNECT, never to the target)."""

from __future__ import annotations

import json

import pytest
import trustme

from tests.functional.conftest import Emulated
from tests.functional.test_scrape_configs import _https, _indented
from tests.support.http import Response, serve
from tests.support.proxy import forward_proxy

SINK = "cloudwatch: [{namespace: Test/Proxy}]\n"
PROXY_SECRET = "proxy-token-3c9dQQ"


def ups(summary: dict[str, object]) -> dict[str, int]:
    return {t["job"]: t["up"] for t in summary["targets"]}  # type: ignore[attr-defined]


def test_no_proxy_sends_matching_and_loopback_hosts_direct(emulated: Emulated) -> None:
    with serve(Response(b"direct 1\n")) as target, forward_proxy(b"proxied 1\n") as proxy:
        port = target.address.rsplit(":", 1)[1]
        keys = f"proxy_url: '{proxy.url}', no_proxy: 'other.org,.internal'"
        emulated.put_config(
            "scrape_configs:\n"
            f"  - {{job_name: named, {keys}, static_configs: [{{targets: ['metrics.shop.example:9100']}}]}}\n"
            f"  - {{job_name: loopback, {keys}, static_configs: [{{targets: ['localhost:{port}']}}]}}\n"
            + SINK
        )
        assert ups(emulated.invoke()) == {"named": 1, "loopback": 1}
    assert [(method, url) for method, url, _ in proxy.requests] == [
        ("GET", "http://metrics.shop.example:9100/metrics")
    ]
    assert len(target.requests) == 1


def test_proxy_from_environment_uses_the_functions_proxy_variables(
    emulated: Emulated, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve(Response(b"direct 1\n")) as target, forward_proxy(b"proxied 1\n") as proxy:
        emulated.put_config(
            "scrape_configs:\n"
            "  - {job_name: env, proxy_from_environment: true,"
            " static_configs: [{targets: ['metrics.shop.example:9100', 'localhost:1']}]}\n"
            f"  - {{job_name: plain, static_configs: [{{targets: ['{target.address}']}}]}}\n" + SINK
        )
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "skip.example,127.0.0.1")  # botocore honours them too (the emulator)
        summary = emulated.invoke()
    by_instance = {t["instance"]: t["up"] for t in summary["targets"]}  # type: ignore[attr-defined]
    assert by_instance == {"metrics.shop.example:9100": 1, "localhost:1": 0, target.address: 1}
    # only the job that asks for it, and never for a loopback host (as Go's httpproxy)
    assert [url for _, url, _ in proxy.requests] == ["http://metrics.shop.example:9100/metrics"]


def test_proxy_connect_header_goes_to_the_proxy_only(
    emulated: Emulated, capsys: pytest.CaptureFixture[str]
) -> None:
    authority = trustme.CA()
    with _https(authority, None) as address, forward_proxy(b"") as proxy:
        port = address.rsplit(":", 1)[1]
        emulated.put_config(
            "scrape_configs:\n"
            "  - job_name: tunnel\n"
            "    scheme: https\n"
            f"    proxy_url: '{proxy.url}'\n"
            f"    proxy_connect_header: {{X-Proxy-Token: [{PROXY_SECRET}], X-Proxy-Team: [a, b]}}\n"
            f"    tls_config:\n      server_name: scrape.test\n"
            f"      ca: |\n{_indented(authority.cert_pem.bytes().decode())}\n"
            f"    static_configs: [{{targets: ['scrape.test:{port}']}}]\n" + SINK
        )
        summary = emulated.invoke()
    assert ups(summary) == {"tunnel": 1}
    ((method, tunnel, headers),) = proxy.requests
    assert (method, tunnel) == ("CONNECT", f"scrape.test:{port}")
    assert headers["X-Proxy-Token"] == PROXY_SECRET
    assert headers["X-Proxy-Team"] == "a, b"
    assert PROXY_SECRET not in json.dumps(summary) + "".join(capsys.readouterr())
