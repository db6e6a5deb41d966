"""Secrets: never shown, resolved inline or from an SSM SecureString (in-process emulator)."""

from __future__ import annotations

import logging

import boto3
import pytest
from moto import mock_aws
from scrape_push import credentials
from scrape_push.credentials import Secret, SecretError, resolve


@pytest.fixture(autouse=True)
def _reset() -> None:
    credentials.reset()


def test_secret_never_shows_itself(caplog: pytest.LogCaptureFixture) -> None:
    secret = Secret("hunter2")
    logging.getLogger("t").warning("value %s %r", secret, secret)
    assert "hunter2" not in caplog.text
    assert "hunter2" not in f"{secret} {secret!r} {[secret]}"
    assert secret.reveal() == "hunter2" and secret == Secret("hunter2") and secret != Secret("x")


def test_inline_secret_is_returned_as_is() -> None:
    assert resolve(Secret("a"), None) == Secret("a")
    assert resolve(None, None) is None


def test_reference_is_read_decrypted_from_ssm() -> None:
    with mock_aws():
        boto3.client("ssm").put_parameter(Name="/sp/pw", Value="from-ssm", Type="SecureString")
        assert resolve(None, "/sp/pw") == Secret("from-ssm")


def test_missing_reference_names_the_parameter() -> None:
    with mock_aws(), pytest.raises(SecretError, match="cannot read SSM parameter '/sp/missing'"):
        resolve(None, "/sp/missing")


def test_every_form_of_a_secret_is_scrubbed() -> None:
    Secret('to"k\\en')
    credentials.remember_basic_auth("user", "pässword")
    text = (
        'Bearer to"k\\en | {"h": "Bearer to\\"k\\\\en"} | '
        + repr('to"k\\en')
        + " | Basic dXNlcjpw5HNzd29yZA== | pässword"
    )
    assert credentials.scrub(text) == (
        'Bearer ******** | {"h": "Bearer ********"} | \'********\' | Basic ******** | ********'
    )


def test_url_credentials_are_masked_in_any_text() -> None:
    assert credentials.scrub("Failed to parse: http://puser:pw@127.0.0.1:99999 (x)") == (
        "Failed to parse: http://<redacted>@127.0.0.1:99999 (x)"
    )
    assert credentials.scrub("see https://host/path?next=a@b") == "see https://host/path?next=a@b"
    credentials.remember_url_password("http://puser:p%40ss@proxy:3128")
    assert credentials.scrub("p%40ss p@ss") == "******** ********"


def test_summaries_are_scrubbed_whole_and_reset_forgets() -> None:
    Secret("hunter2")
    nested = {"a": ["x hunter2", ("hunter2",)], "n": 3, "b": {"c": "hunter2"}}
    assert credentials.scrub_all(nested) == {
        "a": ["x ********", ["********"]],
        "n": 3,
        "b": {"c": "********"},
    }
    credentials.reset()
    assert credentials.scrub("hunter2") == "hunter2"


def test_log_lines_are_scrubbed_after_formatting() -> None:
    Secret("hunter2")
    record = logging.LogRecord("t", logging.WARNING, __file__, 1, "failed with %s", ("hunter2",), None)
    record.url = "http://u:hunter2@h/"
    line = credentials.ScrubbingFormatter().format(record)
    assert "hunter2" not in line and "failed with ********" in line
