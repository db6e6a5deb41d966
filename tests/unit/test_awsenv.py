"""Credentials, region and endpoints from the environment, as botocore reads them."""

from __future__ import annotations

import boto3
import pytest
from scrape_push import awsenv
from scrape_push.aws import AwsClients
from scrape_push.signing import Keys


@pytest.mark.parametrize(
    "region", ["us-east-1", "eu-west-1", "ap-southeast-2", "il-central-1", "cn-north-1", "us-gov-west-1"]
)
def test_the_regional_endpoint_is_the_one_botocore_resolves(region: str) -> None:
    expected = boto3.client("ssm", region_name=region).meta.endpoint_url
    assert awsenv.regional_endpoint("ssm", region, {}) == expected


@pytest.mark.parametrize(
    ("region", "env"),
    [
        ("us-east-1", {"AWS_USE_FIPS_ENDPOINT": "true"}),
        ("us-east-1", {"AWS_USE_DUALSTACK_ENDPOINT": "TRUE"}),
        ("us-iso-east-1", {}),
        ("eusc-de-east-1", {}),
    ],
)
def test_other_endpoints_are_left_to_botocore(
    region: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert awsenv.regional_endpoint("ssm", region, env) is None
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    expected = boto3.client("ssm", region_name=region).meta.endpoint_url
    assert AwsClients().endpoint("SSM", "ssm", region) == expected


def test_a_configured_endpoint_as_botocore_finds_it() -> None:
    both = {"AWS_ENDPOINT_URL": "http://all", "AWS_ENDPOINT_URL_SSM": "http://ssm"}
    assert awsenv.configured_endpoint("SSM", both) == "http://ssm"
    assert awsenv.configured_endpoint("SSM", {"AWS_ENDPOINT_URL": "http://all"}) == "http://all"
    assert awsenv.configured_endpoint("Service Discovery", {"AWS_ENDPOINT_URL_SERVICE_DISCOVERY": "x"}) == "x"
    assert awsenv.configured_endpoint("SSM", {**both, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}) is None
    assert awsenv.configured_endpoint("SSM", {}) is None


def test_keys_and_region_of_the_environment() -> None:
    env = {"AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK", "AWS_SESSION_TOKEN": "T"}
    assert awsenv.environment_keys(env) == Keys("AK", "SK", "T")
    assert awsenv.environment_keys({"AWS_ACCESS_KEY_ID": "AK"}) is None  # partial: botocore's chain decides
    assert awsenv.environment_region({"AWS_REGION": "eu-west-1"}) == "eu-west-1"
    assert (
        awsenv.environment_region({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-2"})
        == "us-east-2"
    )
    assert awsenv.environment_region({}) is None


def test_clients_with_other_credentials_never_take_the_environments() -> None:
    other = AwsClients().with_credentials("AKIAOTHER", "other-secret", None)
    assert other.keys() == Keys("AKIAOTHER", "other-secret", None)
