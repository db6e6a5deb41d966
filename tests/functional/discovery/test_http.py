"""http_sd_configs against real HTTP endpoints on 127.0.0.1, well-behaved and hostile, and
through the handler: refresh_interval honoured across warm invocations, the last targets kept
(and reported) when the endpoint fails."""

from __future__ import annotations

import json
from typing import Any

import pytest
from scrape_push.credentials import Secret
from scrape_push.deadline import Deadline
from scrape_push.discovery import DiscoveryError, LabelSet
from scrape_push.discovery.http import endpoint
from scrape_push.discovery.http.config import HTTPSDConfig
from scrape_push.discovery.http.endpoint import HTTPDiscoverer
from scrape_push.httpconfig import AuthorizationConfig, HTTPClientConfig

from tests.functional.conftest import Emulated
from tests.support.context import build_context
from tests.support.http import Endpoint, Response, serve
from tests.support.trickle import trickle

JSON = "application/json"
GROUPS = [
    {"targets": ["10.0.0.1:9100", "10.0.0.2:9100"], "labels": {"env": "prod", "__meta_datacenter": "dc1"}},
    {"targets": ["10.0.0.3:9100"]},
    {"labels": {"empty": "group"}},
]


def answer(body: object, content_type: str = JSON, status: int = 200) -> Response:
    return Response(json.dumps(body).encode(), content_type, status)


def discover(url: str, seconds: float = 10, **http: Any) -> list[LabelSet]:
    config = HTTPSDConfig(url, http=HTTPClientConfig(**http))
    return HTTPDiscoverer(config, build_context()).discover(Deadline.after(seconds)).targets


def failure(url: str, seconds: float = 10) -> str:
    with pytest.raises(DiscoveryError) as info:
        discover(url, seconds)
    return str(info.value)


def test_targets_get_their_groups_labels_and_the_url_as_prometheus_gives_them() -> None:
    with serve(answer(GROUPS)) as sd:
        url = f"http://{sd.address}/targets?zone=a"
        assert discover(url) == [
            {"env": "prod", "__meta_datacenter": "dc1", "__meta_url": url, "__address__": "10.0.0.1:9100"},
            {"env": "prod", "__meta_datacenter": "dc1", "__meta_url": url, "__address__": "10.0.0.2:9100"},
            {"__meta_url": url, "__address__": "10.0.0.3:9100"},
        ]
        (asked,) = sd.requests
    assert asked["path"] == "/targets?zone=a"
    assert asked["Accept"] == "application/json"
    assert asked["X-Prometheus-Refresh-Interval-Seconds"] == "60"
    assert asked["User-Agent"].startswith("scrape-push/")


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", 'Application/JSON;charset="utf-8"', " application/json "],
)
def test_json_with_a_utf8_charset_is_accepted(content_type: str) -> None:
    with serve(answer([{"targets": ["a:1"]}], content_type)) as sd:
        assert len(discover(f"http://{sd.address}/")) == 1


HOSTILE = [
    (answer(GROUPS, status=500), "server returned HTTP status 500 Internal Server Error"),
    (answer(GROUPS, "text/plain"), "unsupported content type 'text/plain'"),
    (answer(GROUPS, "application/json; charset=latin1"), "unsupported content type"),
    (Response(b"[{", JSON), "invalid JSON: Expecting property name enclosed in double quotes"),
    (Response(b"[" * 100_000 + b"]" * 100_000, JSON), "invalid JSON"),
    (Response(b'[{"targets": ["\xff"]}]', JSON), "the answer is not UTF-8"),
    (answer({"targets": ["a:1"]}), "expected a JSON list of target groups, got an object"),
    (answer([None]), "target group 0: nil target group item found"),
    (answer([{"targets": "a:1"}]), "target group 0: 'targets' must be a list of strings"),
    (answer([{"targets": ["a:1"], "labels": {"a-b": "c"}}]), "target group 0: invalid label name 'a-b'"),
    (
        answer([{"targets": ["a:1"], "labels": {"a": 1}}]),
        "target group 0: 'labels' must map label names to strings",
    ),
]


@pytest.mark.parametrize(("response", "reason"), HOSTILE)
def test_a_bad_answer_fails_the_refresh_with_one_line_naming_the_url(response: Response, reason: str) -> None:
    with serve(response) as sd:
        message = failure(f"http://{sd.address}/sd")
    assert message.startswith(f"http_sd_configs: http://{sd.address}/sd: ")
    assert reason in message
    assert "\n" not in message


def test_a_huge_answer_is_not_read_past_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(endpoint, "MAX_RESPONSE_BYTES", 1024 * 1024)
    read: list[int] = []
    real = endpoint._read

    def counting(response: Any, url: str) -> bytes:
        try:
            return real(response, url)
        finally:
            read.append(response.raw.tell())

    monkeypatch.setattr(endpoint, "_read", counting)
    body = json.dumps([{"targets": [f"10.0.{i // 250}.{i % 250}:9100" for i in range(200_000)]}]).encode()
    with serve(Response(body, JSON)) as sd:
        assert "the answer is larger than 1048576 bytes" in failure(f"http://{sd.address}/")
    assert len(body) > 3 * 1024 * 1024
    assert read[0] <= 1024 * 1024 + endpoint.READ_CHUNK_BYTES


def test_an_endpoint_that_trickles_is_cut_at_the_deadline() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n["
    with trickle(head, b'{"targets": []},', every=0.05) as address:
        message = failure(f"http://{address}/", seconds=0.5)
    assert message == f"http_sd_configs: http://{address}/: timed out after 500ms"


def test_a_redirect_to_the_metadata_service_is_refused() -> None:
    moved = Response(b"", JSON, 302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    with serve(moved) as sd:
        assert "refused: 169.254.169.254 is an instance metadata address" in failure(f"http://{sd.address}/")


def test_the_http_client_options_apply_to_the_endpoint() -> None:
    with serve(answer([{"targets": ["a:1"]}])) as sd:
        discover(f"http://{sd.address}/", authorization=AuthorizationConfig(credentials=Secret("sd-token")))
        (asked,) = sd.requests
    assert asked["Authorization"] == "Bearer sd-token"


def sd_job(sd: Endpoint, refresh: str) -> str:
    return (
        "scrape_configs:\n"
        "  - job_name: sd\n"
        "    scrape_timeout: 2s\n"
        f"    http_sd_configs: [{{url: 'http://{sd.address}/targets', refresh_interval: {refresh}}}]\n"
        "cloudwatch: [{namespace: Test/SD}]\n"
    )


def test_a_warm_function_refreshes_at_the_refresh_interval(emulated: Emulated) -> None:
    with serve(Response(b"one 1\n")) as target, serve(answer([{"targets": [target.address]}])) as sd:
        emulated.put_config(sd_job(sd, "5m"))
        for _cycle in range(3):
            summary = emulated.invoke()
            assert summary["targets_up"] == 1 and summary["target_errors"] == []
        assert len(sd.requests) == 1  # the targets found first serve the next cycles
        assert len(target.requests) == 3


def test_when_a_refresh_fails_the_last_targets_are_kept_and_reported(
    emulated: Emulated, caplog: pytest.LogCaptureFixture
) -> None:
    with serve(Response(b"one 1\n")) as target, serve(answer([{"targets": [target.address]}])) as sd:
        emulated.put_config(sd_job(sd, "1s"))  # due at every cycle
        assert emulated.invoke()["targets_up"] == 1
        sd.respond = lambda _path: answer([], status=503)
        summary = emulated.invoke()
    assert len(sd.requests) == 2
    assert summary["targets_up"] == 1  # still scraped
    (error,) = summary["target_errors"]
    assert error["target"] == "http_sd_configs[0]"
    assert error["error"].startswith(
        f"http_sd_configs: http://{sd.address}/targets: server returned HTTP status 503 Service Unavailable; "
        "using the 1 target(s) found "
    )
    (logged,) = [
        r for r in caplog.records if r.getMessage().startswith("discovery http_sd_configs[0] of job sd")
    ]
    assert logged.levelname == "WARNING"
    assert logged.getMessage().endswith("server returned HTTP status 503 Service Unavailable")
