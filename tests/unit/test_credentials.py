"""Secrets: never shown, resolved inline or from an SSM SecureString (in-process emulator), and
scrubbed from whatever leaves the process."""

from __future__ import annotations

import logging

import boto3
import pytest
from moto import mock_aws
from scrape_push.aws import AwsClients
from scrape_push.credentials import Scrubber, ScrubbingFormatter, Secret, SecretError, SecretResolver
from scrape_push.httpconfig import BasicAuthConfig, HTTPClientConfig, ProxyConfig
from scrape_push.runtime import Runtime
from scrape_push.ssm import ParameterStore


@pytest.fixture
def scrubber() -> Scrubber:
    return Scrubber()


@pytest.fixture
def resolver(scrubber: Scrubber) -> SecretResolver:
    return SecretResolver(ParameterStore(AwsClients()), scrubber, max_age=0)


def test_secret_never_shows_itself(caplog: pytest.LogCaptureFixture) -> None:
    secret = Secret("hunter2")
    logging.getLogger("t").warning("value %s %r", secret, secret)
    assert "hunter2" not in caplog.text
    assert "hunter2" not in f"{secret} {secret!r} {[secret]}"
    assert secret.reveal() == "hunter2" and secret == Secret("hunter2") and secret != Secret("x")


def test_inline_secret_is_returned_as_is(resolver: SecretResolver) -> None:
    assert resolver.resolve(Secret("a"), None) == Secret("a")
    assert resolver.resolve(None, None) is None


def test_reference_is_read_decrypted_from_ssm_and_scrubbed_from_then_on(
    resolver: SecretResolver, scrubber: Scrubber
) -> None:
    with mock_aws():
        boto3.client("ssm").put_parameter(Name="/sp/pw", Value="from-ssm", Type="SecureString")
        assert resolver.resolve(None, "/sp/pw") == Secret("from-ssm")
    assert scrubber.scrub("echoed from-ssm") == "echoed ********"


def test_missing_reference_names_the_parameter(resolver: SecretResolver) -> None:
    with mock_aws(), pytest.raises(SecretError, match="cannot read SSM parameter '/sp/missing'"):
        resolver.resolve(None, "/sp/missing")


def test_every_form_of_a_secret_is_scrubbed(scrubber: Scrubber) -> None:
    scrubber.add('to"k\\en')
    scrubber.add_basic_auth("user", "pässword")
    text = (
        'Bearer to"k\\en | {"h": "Bearer to\\"k\\\\en"} | '
        + repr('to"k\\en')
        + " | Basic dXNlcjpw5HNzd29yZA== | pässword"
    )
    assert scrubber.scrub(text) == (
        'Bearer ******** | {"h": "Bearer ********"} | \'********\' | Basic ******** | ********'
    )


def test_url_credentials_are_masked_in_any_text(scrubber: Scrubber) -> None:
    assert scrubber.scrub("Failed to parse: http://puser:pw@127.0.0.1:99999 (x)") == (
        "Failed to parse: http://<redacted>@127.0.0.1:99999 (x)"
    )
    assert scrubber.scrub("see https://host/path?next=a@b") == "see https://host/path?next=a@b"
    scrubber.add_url_password("http://puser:p%40ss@proxy:3128")
    assert scrubber.scrub("p%40ss p@ss") == "******** ********"


def test_every_secret_of_a_configuration_is_scrubbed(scrubber: Scrubber) -> None:
    http = HTTPClientConfig(
        basic_auth=BasicAuthConfig("u", Secret("inline-pw")),
        proxy=ProxyConfig("http://p:proxy-pw@proxy:3128"),
    )
    scrubber.add_secrets_of({"jobs": (http,)})
    assert scrubber.scrub("inline-pw proxy-pw") == "******** ********"


def test_summaries_are_scrubbed_whole_and_reset_forgets(scrubber: Scrubber) -> None:
    scrubber.add("hunter2")
    nested = {"a": ["x hunter2", ("hunter2",)], "n": 3, "b": {"c": "hunter2"}}
    assert scrubber.scrub_all(nested) == {
        "a": ["x ********", ["********"]],
        "n": 3,
        "b": {"c": "********"},
    }
    runtime = Runtime()
    runtime.scrubber.add("hunter2")
    runtime.reset()
    assert runtime.scrubber.scrub("hunter2") == "hunter2"


def test_log_lines_are_scrubbed_after_formatting(scrubber: Scrubber) -> None:
    scrubber.add("hunter2")
    record = logging.LogRecord("t", logging.WARNING, __file__, 1, "failed with %s", ("hunter2",), None)
    record.url = "http://u:hunter2@h/"
    line = ScrubbingFormatter(scrubber).format(record)
    assert "hunter2" not in line and "failed with ********" in line


def test_a_reference_without_a_region_to_read_it_names_the_parameter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    resolver = SecretResolver(ParameterStore(AwsClients()), Scrubber(), max_age=0)
    with pytest.raises(SecretError, match="cannot read SSM parameter '/sp/pw': NoRegionError"):
        resolver.resolve(None, "/sp/pw")
