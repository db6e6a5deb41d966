"""SigV4 signing with a fixed clock and fixed credentials, compared with botocore's own signer."""

from __future__ import annotations

import datetime

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from scrape_push import aws
from scrape_push.aws import AwsClients
from scrape_push.deadline import Deadline
from scrape_push.signing import Keys
from scrape_push.sigv4 import SigV4Config, SigV4RequestAuth, sigv4_auth
from scrape_push.sinks.remote_write.transport import Sender, protocol_headers

from tests.support.remote_write import Reply, fake_poster
from tests.unit.sinks.remote_write.test_transport import Clock, _config

URL = "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1234/api/v1/remote_write"
CREDENTIALS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token")
KEYS = Keys("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token")
FIXED = datetime.datetime(2026, 1, 2, 3, 4, 5)


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda *a, **k: FIXED)


def test_headers_sent_match_botocores_signature() -> None:
    config = _config()
    object.__setattr__(config, "url", URL)
    poster = fake_poster(Reply(200))
    auth = SigV4RequestAuth("eu-west-1", "aps", lambda: KEYS, clock=lambda: FIXED)
    sender = Sender(config, auth, poster=poster)
    assert sender.send(b"\x00compressed", Deadline.after(30)).status == "sent"
    (sent,) = poster.sent

    unsigned = {
        k: v
        for k, v in sent.headers.items()
        if k not in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token")
    }
    expected = AWSRequest(method="POST", url=URL, data=b"\x00compressed", headers=unsigned)
    SigV4Auth(CREDENTIALS, "aps", "eu-west-1").add_auth(expected)

    assert sent.headers["Authorization"] == expected.headers["Authorization"]
    assert sent.headers["Authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/eu-west-1/aps/aws4_request, SignedHeaders="
    )
    signed = sent.headers["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    for header in (
        "content-encoding",
        "content-type",
        "host",
        "x-amz-date",
        "x-prometheus-remote-write-version",
    ):
        assert header in signed
    assert sent.headers["X-Amz-Date"] == "20260102T030405Z"
    assert sent.headers["X-Amz-Security-Token"] == "session-token"
    for name, value in protocol_headers().items():
        assert sent.headers[name] == value


def test_region_defaults_to_the_functions_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
    assert sigv4_auth(SigV4Config(), AwsClients(), "aps").region == "ap-southeast-2"
    assert sigv4_auth(SigV4Config(region="eu-west-1"), AwsClients(), "aps").region == "eu-west-1"


def test_role_arn_is_assumed_through_sts() -> None:
    from moto import mock_aws

    with mock_aws():
        auth = sigv4_auth(
            SigV4Config(region="eu-west-1", role_arn="arn:aws:iam::123456789012:role/writer"),
            AwsClients(),
            "aps",
        )
        keys = auth._credentials()
        assert keys.access_key != "testing" and keys.token


def test_credentials_sts_cannot_give_in_time_fail_the_attempt_not_the_sink() -> None:
    def out_of_time() -> Keys:
        raise aws.OutOfTime(seconds=0.2)

    clock = Clock()
    poster = fake_poster()
    sender = Sender(
        _config(), SigV4RequestAuth("eu-west-1", "aps", out_of_time), poster=poster, sleep=clock.sleep
    )
    outcome = sender.send(b"x", Deadline.after(30, clock))
    assert outcome.status == "failed" and poster.sent == []  # retried like a network error, never sent
    assert outcome.error is not None and "SigV4Error: OutOfTime: not attempted" in outcome.error
