"""Scrape authentication through the real handler: SigV4 against a target that checks every
signature with the same credentials, OAuth 2.0 against a local token endpoint, http_headers; no
secret, token or signature key in the summary or the logs."""

from __future__ import annotations

import json

import pytest

from tests.functional.conftest import Emulated
from tests.support.http import Reply, Response, serve
from tests.support.oauth2 import TokenEndpoint, bearer_only, token_endpoint
from tests.support.sigv4 import Scope, SigV4Target, sigv4_target, tampering
from tests.support.trickle import trickle

REGION = "eu-west-1"
API = Scope("testing", "testing", REGION, "execute-api")
"""The conftest's credentials (the function's own), for API Gateway in eu-west-1."""
BODY = b"# TYPE signed gauge\nsigned 1\n"
SINK = "cloudwatch: [{namespace: Test/Auth}]\n"
CLIENT_SECRET = "cs-7f3a91ZZ"


def signed_job(address: str, service: str = "execute-api", path: str = "/metrics", extra: str = "") -> str:
    return (
        "scrape_configs:\n"
        "  - job_name: signed\n"
        f"    metrics_path: {path}\n"
        f"    sigv4: {{region: {REGION}, service_name: {service}}}\n"
        f"{extra}"
        f"    static_configs: [{{targets: ['{address}']}}]\n" + SINK
    )


def one_target(summary: dict[str, object]) -> dict[str, object]:
    (target,) = summary["targets"]  # type: ignore[misc]
    return target  # type: ignore[no-any-return]


@pytest.fixture
def api() -> SigV4Target:
    with sigv4_target(API, BODY) as running:
        yield running  # type: ignore[misc]


def test_every_scrape_is_signed_and_the_target_accepts_it(emulated: Emulated, api: SigV4Target) -> None:
    emulated.put_config(signed_job(api.address))
    for _cycle in range(2):
        assert one_target(emulated.invoke())["up"] == 1
    assert [c.refused for c in api.seen] == [None, None]
    day = api.seen[0].headers["x-amz-date"][:8]
    credential = f"AWS4-HMAC-SHA256 Credential=testing/{day}/{REGION}/execute-api/aws4_request, "
    assert api.seen[0].headers["authorization"].startswith(credential)


def test_each_redirect_is_signed_again_for_where_it_goes(emulated: Emulated, api: SigV4Target) -> None:
    with sigv4_target(API, BODY) as elsewhere:
        api.routes["/start"] = Reply(302, b"", {"Location": "/hop"})
        api.routes["/hop"] = Reply(302, b"", {"Location": f"http://{elsewhere.address}/metrics"})
        emulated.put_config(signed_job(api.address, path="/start"))
        assert one_target(emulated.invoke())["up"] == 1
    assert [(c.path, c.refused) for c in api.seen] == [("/start", None), ("/hop", None)]
    assert [(c.path, c.refused) for c in elsewhere.seen] == [("/metrics", None)]


def test_unsigned_tampered_or_wrongly_scoped_scrapes_are_refused(
    emulated: Emulated, api: SigV4Target
) -> None:
    def add_a_parameter(path: str, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
        return path + "?injected=1", headers

    def change_a_signed_header(path: str, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
        return path, {**headers, "X-Prometheus-Scrape-Timeout-Seconds": "99"}

    with (
        tampering(api.address, add_a_parameter) as relay,
        tampering(api.address, change_a_signed_header) as other,
    ):
        emulated.put_config(
            "scrape_configs:\n"
            f"  - {{job_name: unsigned, static_configs: [{{targets: ['{api.address}']}}]}}\n"
            + signed_job(relay)
            .split("\n", 1)[1]
            .replace("job_name: signed", "job_name: path")
            .replace(SINK, "")
            + signed_job(other)
            .split("\n", 1)[1]
            .replace("job_name: signed", "job_name: header")
            .replace(SINK, "")
            + signed_job(api.address, service="lambda")
            .split("\n", 1)[1]
            .replace("job_name: signed", "job_name: scope")
        )
        summary = emulated.invoke()
    targets = {t["job"]: t for t in summary["targets"]}  # type: ignore[attr-defined]
    assert {job: t["up"] for job, t in targets.items()} == {"unsigned": 0, "path": 0, "header": 0, "scope": 0}
    assert all(t["error"] == "server returned HTTP status 403 Forbidden" for t in targets.values())
    assert sorted(c.refused or "" for c in api.seen) == [
        "credential scope testing/eu-west-1/lambda is not this endpoint's",
        "no SigV4 Authorization header",
        "signature does not match",
        "signature does not match",
    ]


def test_vpc_lattice_requests_carry_an_unsigned_payload(emulated: Emulated) -> None:
    with sigv4_target(Scope("testing", "testing", REGION, "vpc-lattice-svcs"), BODY) as lattice:
        emulated.put_config(signed_job(lattice.address, service="vpc-lattice-svcs"))
        assert one_target(emulated.invoke())["up"] == 1
    (checked,) = lattice.seen
    assert checked.refused is None
    assert checked.headers["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
    assert "x-amz-content-sha256" in checked.headers["authorization"]


def oauth2_job(tokens: TokenEndpoint, address: str, extra: str = "") -> str:
    return (
        "scrape_configs:\n"
        "  - job_name: oauth\n"
        "    scrape_timeout: 1s\n"
        "    oauth2:\n"
        "      client_id: scraper id\n"
        "      client_secret_ssm_parameter: /scrape-push/secrets/oauth\n"
        f"      token_url: '{tokens.url}'\n"
        "      scopes: [metrics.read, metrics.list]\n"
        "      endpoint_params: {audience: shop}\n"
        f"{extra}"
        f"    static_configs: [{{targets: ['{address}']}}]\n" + SINK
    )


@pytest.fixture
def tokens(emulated: Emulated) -> TokenEndpoint:
    emulated.put_config(CLIENT_SECRET, name="/scrape-push/secrets/oauth", secure=True)
    with token_endpoint("scraper id", CLIENT_SECRET) as running:
        yield running  # type: ignore[misc]


def test_a_token_is_asked_for_once_and_kept_until_it_expires(
    emulated: Emulated, tokens: TokenEndpoint, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve(Response(b"")) as target:
        target.respond = bearer_only(tokens, target, BODY)
        emulated.put_config(oauth2_job(tokens, target.address))
        summaries = [emulated.invoke() for _cycle in range(3)]
        assert [one_target(s)["up"] for s in summaries] == [1, 1, 1]
        assert len(tokens.requests) == 1  # kept across warm invocations
        (asked,) = tokens.requests
        assert asked["grant_type"] == "client_credentials"
        assert asked["scope"] == "metrics.read metrics.list"
        assert asked["audience"] == "shop"
        assert asked["header:authorization"].startswith("Basic ")  # client credentials in the header first
        tokens.issued.append("revoked")  # the target now wants another token: the kept one is sent
        assert one_target(emulated.invoke())["up"] == 0
        assert len(tokens.requests) == 1
    logged = json.dumps(summaries) + "".join(capsys.readouterr())
    for secret in (CLIENT_SECRET, *tokens.issued[:-1]):
        assert secret not in logged


def test_a_token_that_expires_is_asked_for_again(emulated: Emulated, tokens: TokenEndpoint) -> None:
    tokens.expires_in = 5  # shorter than the 10s margin: every scrape renews it
    with serve(Response(b"")) as target:
        target.respond = bearer_only(tokens, target, BODY)
        emulated.put_config(oauth2_job(tokens, target.address))
        assert [one_target(emulated.invoke())["up"] for _cycle in range(2)] == [1, 1]
    assert len(tokens.requests) == 2


def test_an_endpoint_that_wants_credentials_in_the_form_gets_them_there(
    emulated: Emulated, tokens: TokenEndpoint
) -> None:
    tokens.style, tokens.expires_in = "params", 5
    with serve(Response(b"")) as target:
        target.respond = bearer_only(tokens, target, BODY)
        emulated.put_config(oauth2_job(tokens, target.address))
        assert [one_target(emulated.invoke())["up"] for _cycle in range(2)] == [1, 1]
    header, form, again = tokens.requests  # the header first, then the form, and the form from then on
    assert "header:authorization" in header and "client_secret" not in header
    assert form["client_id"] == "scraper id" and form["client_secret"] == CLIENT_SECRET
    assert "header:authorization" not in again and again["client_secret"] == CLIENT_SECRET


def test_a_token_echoed_by_the_target_is_scrubbed(
    emulated: Emulated, tokens: TokenEndpoint, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve(Response(b"", "text/plain", 401)) as target:
        emulated.put_config(oauth2_job(tokens, target.address))
        summary = emulated.invoke()
    (token,) = tokens.issued
    assert target.requests[0]["Authorization"] == f"Bearer {token}"
    assert one_target(summary)["error"] == "server returned HTTP status 401 Unauthorized"
    everything = json.dumps(summary) + "".join(capsys.readouterr())
    assert token not in everything and CLIENT_SECRET not in everything


HOSTILE_TOKEN_ENDPOINTS = [
    (Reply(500, b"{}", {"Content-Type": "application/json"}), "answered HTTP 500"),
    (
        Reply(401, b'{"error": "invalid_client"}', {"Content-Type": "application/json"}),
        "answered HTTP 401 (invalid_client)",
    ),
    (Reply(200, b"<html>", {"Content-Type": "text/html"}), "answered without an access_token"),
    (Reply(200, b'{"access_token": "a\\r\\nX-Injected: 1"}', {}), "an access_token that is not printable"),
    (Reply(200, b" " * (1024 * 1024 + 1), {}), "answered more than 1048576 bytes"),
    (Reply(302, b"", {"Location": "http://169.254.169.254/"}), "answered HTTP 302"),
]


@pytest.mark.parametrize(("reply", "reason"), HOSTILE_TOKEN_ENDPOINTS)
def test_a_hostile_token_endpoint_fails_the_scrape_with_a_reason(
    emulated: Emulated, tokens: TokenEndpoint, reply: Reply, reason: str
) -> None:
    tokens.reply = lambda: reply
    with serve(Response(BODY)) as target:
        emulated.put_config(oauth2_job(tokens, target.address))
        error = one_target(emulated.invoke())["error"]
    assert isinstance(error, str) and reason in error and tokens.url in error
    assert target.requests == []  # nothing sent without a token


def test_a_token_endpoint_that_trickles_is_cut_at_the_scrape_timeout(
    emulated: Emulated, tokens: TokenEndpoint
) -> None:
    slow_answer = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
    with trickle(slow_answer, b" ", every=0.05) as slow, serve(Response(BODY)) as target:
        config = oauth2_job(tokens, target.address).replace(tokens.url, f"http://{slow}/token")
        emulated.put_config(config)
        summary = emulated.invoke()
    assert one_target(summary)["error"] == "timed out after 1s"


def test_http_headers_carry_values_secrets_ssm_values_and_files(
    emulated: Emulated, tmp_path: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    token_file = tmp_path / "token"  # type: ignore[operator]
    token_file.write_text("file-token-42\n")
    emulated.put_config("ssm-value-77", name="/scrape-push/secrets/header", secure=True)
    with serve(Response(BODY)) as target:
        emulated.put_config(
            "scrape_configs:\n"
            "  - job_name: headers\n"
            "    http_headers:\n"
            "      X-Tenant: {values: [payments, eu]}\n"
            "      X-Api-Key:\n"
            "        secrets: [inline-secret-9]\n"
            "        secrets_ssm_parameters: [/scrape-push/secrets/header]\n"
            f"      X-Token: {{files: ['{token_file}']}}\n"
            f"    static_configs: [{{targets: ['{target.address}']}}]\n" + SINK
        )
        summary = emulated.invoke()
        (sent,) = target.requests
    assert one_target(summary)["up"] == 1
    assert sent["X-Tenant"] == "payments, eu"
    assert sent["X-Api-Key"] == "inline-secret-9, ssm-value-77"
    assert sent["X-Token"] == "file-token-42"
    logged = json.dumps(summary) + "".join(capsys.readouterr())
    assert "inline-secret-9" not in logged and "ssm-value-77" not in logged
