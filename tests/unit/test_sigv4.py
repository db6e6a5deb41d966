"""The shared sigv4 block: external_id for the AssumeRole of role_arn, and VPC Lattice's
unsigned payload."""

from __future__ import annotations

import datetime

import boto3
import pytest
import requests
from botocore.stub import Stubber
from scrape_push.signing import Keys
from scrape_push.sigv4 import SigV4RequestAuth, assumed_role_credentials

ROLE = "arn:aws:iam::123456789012:role/metrics-reader"


def test_the_role_is_assumed_with_its_external_id() -> None:
    sts = boto3.client("sts", region_name="eu-west-1")
    expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    answer = {
        "Credentials": {
            "AccessKeyId": "ASIAEXAMPLE000000",
            "SecretAccessKey": "secret-secret-secret",
            "SessionToken": "token-token-token",
            "Expiration": expires,
        }
    }
    with Stubber(sts) as stubbed:
        expected = {"RoleArn": ROLE, "RoleSessionName": "scrape-push", "ExternalId": "tenant-42"}
        stubbed.add_response("assume_role", answer, expected)
        credentials = assumed_role_credentials(ROLE, sts, "tenant-42")
        assert credentials.get_frozen_credentials().access_key == "ASIAEXAMPLE000000"
        stubbed.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("service", "payload"), [("vpc-lattice-svcs", "UNSIGNED-PAYLOAD"), ("execute-api", None)]
)
def test_vpc_lattice_requests_say_their_payload_is_unsigned(service: str, payload: str | None) -> None:
    auth = SigV4RequestAuth("eu-west-1", service, lambda: Keys("AK", "SK"))
    request = requests.Request(
        "GET", "https://svc-1.abc.vpc-lattice-svcs.eu-west-1.on.aws/metrics", auth=auth
    )
    signed = request.prepare()
    assert signed.headers.get("X-Amz-Content-SHA256") == payload
    assert ("x-amz-content-sha256" in signed.headers["Authorization"]) is (payload is not None)
