"""scrape_configs features end to end: auth with secrets from SSM, TLS, metric relabeling,
scrape_series_added and ec2_sd_configs, through the real handler."""

from __future__ import annotations

import base64
import json
import ssl
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from typing import Any

import boto3
import pytest
import trustme
import urllib3.exceptions

from tests.functional.conftest import Emulated
from tests.support.http import Response, _handler, serve, serving

NAMESPACE = "ScrapeConfigs"
SECRET = "s3cr3t-Pa55"


def config(job: str) -> str:
    sink = f"cloudwatch:\n  - namespace: {NAMESPACE}\n    dimensions: [job, instance, code]\n"
    return f"scrape_configs:\n{job}{sink}"


def datums(emulated: Emulated, name: str) -> list[dict[str, Any]]:
    return [d for d in emulated.strict.datums if d["MetricName"] == name]


def test_basic_auth_with_the_password_in_ssm_never_shows_the_secret(
    emulated: Emulated, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = "Basic " + base64.b64encode(f"scraper:{SECRET}".encode()).decode()

    def respond(_path: str) -> Response:
        auth = endpoint.requests[-1].get("Authorization")
        return Response(b"secured 1\n") if auth == expected else Response(b"denied", status=401)

    emulated.client("ssm").put_parameter(Name="/secrets/scrape", Value=SECRET, Type="SecureString")
    with serve(respond) as endpoint:
        emulated.put_config(
            config(
                f"  - job_name: auth\n    static_configs: [{{targets: ['{endpoint.address}']}}]\n"
                "    basic_auth: {username: scraper, password_ssm_parameter: /secrets/scrape}\n"
                f"  - job_name: wrong\n    static_configs: [{{targets: ['{endpoint.address}']}}]\n"
                "    basic_auth: {username: scraper, password: nope}\n"
            )
        )
        summary = emulated.invoke()
    by_job = {t["job"]: t for t in summary["targets"]}
    assert by_job["auth"]["up"] == 1
    assert by_job["wrong"]["error"] == "server returned HTTP status 401 Unauthorized"
    logged = capsys.readouterr()
    assert SECRET not in json.dumps(summary) + logged.out + logged.err


def test_bearer_token_header(emulated: Emulated) -> None:
    with serve(Response(b"ok 1\n")) as endpoint:
        emulated.put_config(
            config(
                f"  - job_name: bearer\n    static_configs: [{{targets: ['{endpoint.address}']}}]\n"
                f"    authorization: {{credentials: {SECRET}}}\n"
            )
        )
        summary = emulated.invoke()
        assert endpoint.requests[0]["Authorization"] == f"Bearer {SECRET}"
    assert summary["targets"][0]["up"] == 1


@pytest.fixture
def https_endpoint() -> Iterator[tuple[str, str]]:
    """An HTTPS exposition endpoint whose certificate names only ``scrape.test``; yields its
    address and the PEM of the CA that signed it."""
    authority = trustme.CA()
    with _https(authority, None) as address:
        yield address, authority.cert_pem.bytes().decode()


@contextmanager
def _https(authority: trustme.CA, client_ca: trustme.CA | None) -> Iterator[str]:
    server_cert = authority.issue_cert("scrape.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_cert.configure_cert(context)
    if client_ca is not None:  # mutual TLS: the scraper must present a certificate from client_ca
        client_ca.configure_trust(context)
        context.verify_mode = ssl.CERT_REQUIRED
    ref: list[Any] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(ref))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    from tests.support.http import Endpoint

    ref.append(Endpoint(server, lambda _path: Response(b"tls_ok 1\n")))
    with serving(server):
        yield f"127.0.0.1:{server.server_address[1]}"


def test_tls_with_inline_ca_and_server_name(emulated: Emulated, https_endpoint: tuple[str, str]) -> None:
    address, ca_pem = https_endpoint
    indented = _indented(ca_pem)
    emulated.put_config(
        config(
            f"  - job_name: verified\n    scheme: https\n    static_configs: [{{targets: ['{address}']}}]\n"
            f"    tls_config:\n      server_name: scrape.test\n      ca: |\n{indented}\n"
            f"  - job_name: unverified\n    scheme: https\n    static_configs: [{{targets: ['{address}']}}]\n"
            f"  - job_name: skipped\n    scheme: https\n    static_configs: [{{targets: ['{address}']}}]\n"
            "    tls_config: {insecure_skip_verify: true}\n"
        )
    )
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        by_job = {t["job"]: t for t in emulated.invoke()["targets"]}
    assert by_job["verified"]["up"] == 1
    assert by_job["unverified"]["up"] == 0
    assert by_job["unverified"]["error"].startswith("TLS handshake failed")
    assert by_job["skipped"]["up"] == 1
    # skipping verification is the user's explicit choice: no warning on every scrape
    assert not [w for w in warned if issubclass(w.category, urllib3.exceptions.InsecureRequestWarning)]


def test_metric_relabel_configs_and_scrape_series_added(emulated: Emulated) -> None:
    body = [b'go_goroutines 7\nhttp_requests_total{code="200"} 5\nhttp_requests_total{code="500"} 1\n']

    with serve(lambda _path: Response(body[0])) as endpoint:
        emulated.put_config(
            config(
                f"  - job_name: app\n    static_configs: [{{targets: ['{endpoint.address}']}}]\n"
                "    metric_relabel_configs:\n"
                "      - {source_labels: [__name__], regex: 'go_.*', action: drop}\n"
                "      - {source_labels: [__name__], regex: 'http_(.*)', target_label: __name__,\n"
                "         replacement: 'web_$1'}\n"
            )
        )
        first = emulated.invoke()
        second = emulated.invoke()
        body[0] += b'http_requests_total{code="404"} 2\n'
        third = emulated.invoke()
    assert [t["samples"] for t in (first["targets"][0], second["targets"][0], third["targets"][0])] == [
        3,
        3,
        4,
    ]
    names = {d["MetricName"] for d in emulated.strict.datums}
    assert "web_requests_total" in names and not {"go_goroutines", "http_requests_total"} & names
    kept = [d["Value"] for d in datums(emulated, "scrape_samples_post_metric_relabeling")]
    added = [d["Value"] for d in datums(emulated, "scrape_series_added")]
    assert kept == [2.0, 2.0, 3.0]
    assert added == [2.0, 0.0, 1.0]  # what relabeling drops is never added (Prometheus 2.42)


def test_ec2_service_discovery_with_relabeling(emulated: Emulated) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=emulated.url)
    image = next(i["ImageId"] for i in ec2.describe_images()["Images"] if i.get("Platform") != "windows")
    with serve(Response(b"instance_metric 1\n")) as endpoint:

        def launch(tags: dict[str, str]) -> str:
            found = ec2.run_instances(
                ImageId=image,
                MinCount=1,
                MaxCount=1,
                InstanceType="t4g.small",
                TagSpecifications=[
                    {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
                ],
            )
            return str(found["Instances"][0]["InstanceId"])

        # Instances' private addresses are never contacted: relabeling points the scrape at the
        # local endpoint named in a tag, and keeps only instances that have the tag.
        scraped = launch({"Name": "web-1", "scrape_address": endpoint.address, "team": "shop"})
        launch({"Name": "db-1", "team": "data"})
        emulated.put_config(
            config(
                "  - job_name: ec2\n"
                "    ec2_sd_configs:\n"
                "      - {region: us-east-1, port: 9100, filters: [{name: tag:team, values: [shop, data]}]}\n"
                "    relabel_configs:\n"
                "      - {source_labels: [__meta_ec2_tag_scrape_address], regex: '.+', action: keep}\n"
                "      - {source_labels: [__meta_ec2_tag_scrape_address], target_label: __address__}\n"
                "      - {source_labels: [__meta_ec2_instance_id], target_label: instance}\n"
                "      - {source_labels: [__meta_ec2_tag_team], target_label: team}\n"
            )
        )
        summary = emulated.invoke()
    (target,) = summary["targets"]
    assert (target["instance"], target["up"]) == (scraped, 1)
    assert summary["targets_dropped"] == 1 and summary["target_errors"] == []
    up = datums(emulated, "up")[0]
    assert {d["Name"]: d["Value"] for d in up["Dimensions"]} == {"job": "ec2", "instance": scraped}


def test_failed_discovery_is_reported_and_other_jobs_still_run(
    emulated: Emulated, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", "http://127.0.0.1:9")
    with serve(Response(b"fine 1\n")) as endpoint:
        emulated.put_config(
            config(
                "  - job_name: ec2\n    ec2_sd_configs: [{region: us-east-1}]\n"
                f"  - job_name: static\n    static_configs: [{{targets: ['{endpoint.address}']}}]\n"
            )
        )
        summary = emulated.invoke()
    assert [t["job"] for t in summary["targets"]] == ["static"]
    (error,) = summary["target_errors"]
    assert error["job"] == "ec2" and error["target"] == "ec2_sd_configs[0]"
    assert "could not describe instances in us-east-1" in error["error"]


def _indented(pem: str) -> str:
    return "\n".join("          " + line for line in pem.strip().splitlines())


def mtls_job(name: str, address: str, server_ca: trustme.CA, cert_pem: str, key: str) -> str:
    """A job scraping ``address`` over mutual TLS; ``key`` is its ``tls_config`` key line(s)."""
    return (
        f"  - job_name: {name}\n    scheme: https\n    static_configs: [{{targets: ['{address}']}}]\n"
        f"    tls_config:\n      server_name: scrape.test\n"
        f"      ca: |\n{_indented(server_ca.cert_pem.bytes().decode())}\n"
        f"      cert: |\n{_indented(cert_pem)}\n" + key
    )


def test_mutual_tls_with_the_client_key_in_ssm(emulated: Emulated) -> None:
    server_ca, client_ca = trustme.CA(), trustme.CA()
    client = client_ca.issue_cert("scrape-push")
    key_pem = client.private_key_pem.bytes().decode()
    emulated.client("ssm").put_parameter(Name="/secrets/client-key", Value=key_pem, Type="SecureString")
    cert_pem = "".join(blob.bytes().decode() for blob in client.cert_chain_pems)
    with _https(server_ca, client_ca) as address:
        emulated.put_config(
            config(
                mtls_job(
                    "mtls", address, server_ca, cert_pem, "      key_ssm_parameter: /secrets/client-key\n"
                )
                + f"  - job_name: no_client_cert\n    scheme: https\n"
                f"    static_configs: [{{targets: ['{address}']}}]\n"
                f"    tls_config:\n      server_name: scrape.test\n"
                f"      ca: |\n{_indented(server_ca.cert_pem.bytes().decode())}\n"
            )
        )
        by_job = {t["job"]: t for t in emulated.invoke()["targets"]}
    assert by_job["mtls"]["up"] == 1, by_job["mtls"]
    assert by_job["no_client_cert"]["up"] == 0
    assert key_pem.splitlines()[1] not in json.dumps(by_job)
