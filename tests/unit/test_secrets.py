"""Secrets: never shown, resolved inline or from an SSM SecureString (in-process emulator)."""

from __future__ import annotations

import logging

import boto3
import pytest
from moto import mock_aws
from scrape_push import secrets
from scrape_push.secrets import Secret, SecretError, resolve


@pytest.fixture(autouse=True)
def _reset() -> None:
    secrets.reset()


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
