"""ec2_sd_configs without the network: config validation, label building, paging and errors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import boto3
import pytest
import yaml
from botocore.stub import Stubber
from scrape_push.aws import AwsClients
from scrape_push.config.decode import decode
from scrape_push.config.errors import ConfigError
from scrape_push.deadline import Deadline
from scrape_push.discovery import DiscoveryError
from scrape_push.discovery.ec2 import instances as ec2_sd
from scrape_push.discovery.ec2.config import EC2Filter, EC2SDConfig
from scrape_push.discovery.ec2.instances import instance_labels
from scrape_push.discovery.labels import join_host_port
from scrape_push.plugins import DISCOVERIES

from tests.support.context import build_context


@dataclass(frozen=True)
class _Document:
    """A job's discovery keys alone, decoded through the plugin registry as a job's are."""

    discovery: dict[str, tuple[Any, ...]] = field(default_factory=dict, metadata={"plugins": DISCOVERIES})


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        decode(_Document, yaml.safe_load(text))
    return [str(p) for p in info.value.problems]


def test_config_defaults_and_full_form() -> None:
    (default,) = decode(_Document, yaml.safe_load("ec2_sd_configs: [{}]")).discovery["ec2_sd_configs"]
    assert default == EC2SDConfig(region=None, port=80, filters=(), refresh_interval=60.0, role_arn=None)
    text = """
ec2_sd_configs:
  - region: eu-west-1
    port: 9100
    refresh_interval: 5m
    role_arn: arn:aws:iam::123456789012:role/discovery
    filters:
      - name: tag:team
        values: [payments, storage]
"""
    (full,) = decode(_Document, yaml.safe_load(text)).discovery["ec2_sd_configs"]
    assert full == EC2SDConfig(
        region="eu-west-1",
        port=9100,
        filters=(EC2Filter("tag:team", ("payments", "storage")),),
        refresh_interval=300.0,
        role_arn="arn:aws:iam::123456789012:role/discovery",
    )


INVALID = [
    (
        "{access_key: AKIA}",
        ["ec2_sd_configs[0].secret_key: access_key and secret_key go together"],
    ),
    (
        "{secret_key: s3cr3t, secret_key_ssm_parameter: /p, access_key: AKIA}",
        ["ec2_sd_configs[0].secret_key: set either 'secret_key' or 'secret_key_ssm_parameter', not both"],
    ),
    (
        "{endpoint: 'ftp://localhost'}",
        ["ec2_sd_configs[0].endpoint: must be an http:// or https:// URL with a host"],
    ),
    (
        "{basic_auth: {username: u, password: p}}",
        [
            "ec2_sd_configs[0].basic_auth: not supported for AWS discovery: AWS APIs authenticate with "
            "SigV4, and botocore makes the calls with the function's HTTPS_PROXY, NO_PROXY and AWS_CA_BUNDLE"
        ],
    ),
    (
        "{filters: [{name: instance-state-name, values: []}]}",
        ["ec2_sd_configs[0].filters[0].values: EC2 SD configuration filter values cannot be empty"],
    ),
    ("{filters: [{values: [a]}]}", ["ec2_sd_configs[0].filters[0].name: missing required key"]),
    ("{port: 0}", ["ec2_sd_configs[0].port: must be between 1 and 65535"]),
    (
        "{refresh_interval: often}",
        [
            "ec2_sd_configs[0].refresh_interval: "
            "not a valid duration string: 'often' (e.g. '10s', '1m30s', '500ms')"
        ],
    ),
]


def test_prometheus_credential_and_endpoint_keys_are_accepted() -> None:
    text = (
        "ec2_sd_configs: [{endpoint: 'http://127.0.0.1:4566', access_key: AKIA, secret_key: s3cr3t, "
        "profile: dev}]"
    )
    (config,) = decode(_Document, yaml.safe_load(text)).discovery["ec2_sd_configs"]
    assert (config.endpoint, config.access_key, config.profile) == ("http://127.0.0.1:4566", "AKIA", "dev")
    assert config.secret_key is not None and config.secret_key.reveal() == "s3cr3t"
    assert "s3cr3t" not in repr(config)


@pytest.mark.parametrize(("config", "expected"), INVALID)
def test_invalid_configs(config: str, expected: list[str]) -> None:
    assert problems(f"ec2_sd_configs: [{config}]") == expected


def test_secret_key_value_never_appears_in_the_error() -> None:
    found = problems("ec2_sd_configs: [{secret_key: s3cr3t}]")
    assert found and not any("s3cr3t" in p for p in found)


INSTANCE: dict[str, Any] = {
    "InstanceId": "i-0abc",
    "ImageId": "ami-1",
    "InstanceType": "m7g.large",
    "State": {"Name": "running"},
    "Placement": {"AvailabilityZone": "eu-west-2a"},
    "PrivateIpAddress": "10.0.1.5",
    "PrivateDnsName": "ip-10-0-1-5.eu-west-2.compute.internal",
    "PublicIpAddress": "3.3.3.3",
    "PublicDnsName": "ec2-3-3-3-3.compute.amazonaws.com",
    "Architecture": "arm64",
    "InstanceLifecycle": "spot",
    "Platform": "windows",
    "VpcId": "vpc-1",
    "SubnetId": "subnet-a",
    "NetworkInterfaces": [
        {
            "SubnetId": "subnet-a",
            "Attachment": {"DeviceIndex": 0},
            "Ipv6Addresses": [
                {"Ipv6Address": "2001:db8::1", "IsPrimaryIpv6": True},
                {"Ipv6Address": "2001:db8::2"},
            ],
        },
        {
            "SubnetId": "subnet-b",
            "Attachment": {"DeviceIndex": 2},
            "Ipv6Addresses": [{"Ipv6Address": "2001:db8::3", "IsPrimaryIpv6": True}],
        },
        {"SubnetId": "subnet-a", "Attachment": {"DeviceIndex": 3}},
        {"Attachment": {"DeviceIndex": 4}, "Ipv6Addresses": [{"Ipv6Address": "2001:db8::9"}]},
    ],
    "Tags": [
        {"Key": "Name", "Value": "web-1"},
        {"Key": "app.kubernetes.io/name", "Value": "shop"},
        {"Key": "empty", "Value": ""},
        {"Key": "no-value"},
    ],
}


def test_instance_labels_follow_prometheus() -> None:
    assert instance_labels(INSTANCE, "123456789012", "eu-west-2", 9100, {"eu-west-2a": "euw2-az2"}) == {
        "__address__": "10.0.1.5:9100",
        "__meta_ec2_ami": "ami-1",
        "__meta_ec2_architecture": "arm64",
        "__meta_ec2_availability_zone": "eu-west-2a",
        "__meta_ec2_availability_zone_id": "euw2-az2",
        "__meta_ec2_instance_id": "i-0abc",
        "__meta_ec2_instance_lifecycle": "spot",
        "__meta_ec2_instance_state": "running",
        "__meta_ec2_instance_type": "m7g.large",
        "__meta_ec2_ipv6_addresses": ",2001:db8::1,2001:db8::2,2001:db8::3,",
        "__meta_ec2_owner_id": "123456789012",
        "__meta_ec2_platform": "windows",
        "__meta_ec2_primary_ipv6_addresses": ",2001:db8::1,,2001:db8::3,",
        "__meta_ec2_primary_subnet_id": "subnet-a",
        "__meta_ec2_private_dns_name": "ip-10-0-1-5.eu-west-2.compute.internal",
        "__meta_ec2_private_ip": "10.0.1.5",
        "__meta_ec2_public_dns_name": "ec2-3-3-3-3.compute.amazonaws.com",
        "__meta_ec2_public_ip": "3.3.3.3",
        "__meta_ec2_region": "eu-west-2",
        "__meta_ec2_subnet_id": ",subnet-a,subnet-b,",
        "__meta_ec2_tag_Name": "web-1",
        "__meta_ec2_tag_app_kubernetes_io_name": "shop",
        "__meta_ec2_vpc_id": "vpc-1",
    }


def test_minimal_instance_outside_a_vpc() -> None:
    minimal = {"InstanceId": "i-1", "PrivateIpAddress": "10.0.0.1", "State": {"Name": "stopped"}}
    assert instance_labels(minimal, None, "us-east-1", 80, {}) == {
        "__address__": "10.0.0.1:80",
        "__meta_ec2_instance_id": "i-1",
        "__meta_ec2_instance_state": "stopped",
        "__meta_ec2_private_ip": "10.0.0.1",
        "__meta_ec2_region": "us-east-1",
    }


def test_instance_without_private_ip_is_skipped() -> None:
    assert instance_labels({"InstanceId": "i-1", "State": {"Name": "terminated"}}, None, "r", 80, {}) is None


@pytest.mark.parametrize(
    ("host", "expected"), [("10.0.0.1", "10.0.0.1:80"), ("2001:db8::1", "[2001:db8::1]:80")]
)
def test_join_host_port(host: str, expected: str) -> None:
    assert join_host_port(host, 80) == expected


class _Clients(AwsClients):
    """The function's AWS clients, with EC2 answered by a stubbed client."""

    def __init__(self, ec2: Any) -> None:
        super().__init__()
        self.ec2 = ec2

    def client(self, service: str, region: str | None = None, **_: Any) -> Any:
        return self.ec2


def discoverer(config: EC2SDConfig, clients: AwsClients) -> ec2_sd.EC2Discoverer:
    context = build_context()
    return ec2_sd.EC2Discoverer(config, replace(context, aws=clients))


@pytest.fixture
def stubbed() -> Iterator[Stubber]:
    with Stubber(boto3.client("ec2", region_name="eu-west-2")) as stubber:
        yield stubber


ZONES = {"AvailabilityZones": [{"ZoneName": "eu-west-2a", "ZoneId": "euw2-az2"}]}
SOON = Deadline.after(30)


def page(*ids: str, token: str | None = None) -> dict[str, Any]:
    instances = [{"InstanceId": i, "PrivateIpAddress": "10.0.0.1"} for i in ids]
    return {
        "Reservations": [{"OwnerId": "1", "Instances": instances}],
        **({"NextToken": token} if token else {}),
    }


def test_discover_follows_pages_and_passes_filters(stubbed: Stubber) -> None:
    filters = [{"Name": "tag:team", "Values": ["a", "b"]}]
    stubbed.add_response("describe_availability_zones", ZONES, {})
    stubbed.add_response("describe_instances", page("i-1", "i-2", token="t1"), {"Filters": filters})
    stubbed.add_response("describe_instances", page("i-3"), {"Filters": filters, "NextToken": "t1"})
    config = EC2SDConfig(region="eu-west-2", filters=(EC2Filter("tag:team", ("a", "b")),))
    found = discoverer(config, _Clients(stubbed.client)).discover(SOON).targets
    assert [t["__meta_ec2_instance_id"] for t in found] == ["i-1", "i-2", "i-3"]
    stubbed.assert_no_pending_responses()


def test_a_page_token_answered_twice_ends_the_refresh(stubbed: Stubber) -> None:
    stubbed.add_response("describe_availability_zones", ZONES, {})
    stubbed.add_response("describe_instances", page("i-1", token="t1"), {})
    stubbed.add_response("describe_instances", page("i-2", token="t1"), {"NextToken": "t1"})
    with pytest.raises(DiscoveryError, match="answered the page token 't1' twice"):
        discoverer(EC2SDConfig(region="eu-west-2"), _Clients(stubbed.client)).discover(SOON)


def test_zone_ids_are_fetched_once_and_their_failure_is_tolerated(stubbed: Stubber) -> None:
    stubbed.add_client_error("describe_availability_zones", "UnauthorizedOperation")
    stubbed.add_response("describe_instances", page("i-1"), {})
    stubbed.add_response("describe_availability_zones", ZONES, {})
    stubbed.add_response("describe_instances", page("i-1"), {})
    stubbed.add_response("describe_instances", page("i-1"), {})
    config = EC2SDConfig(region="eu-west-2")
    kept = discoverer(config, _Clients(stubbed.client))  # kept by the pipeline
    for _cycle in range(3):
        assert len(kept.discover(SOON).targets) == 1
    # zones cached by the second cycle: no third DescribeAvailabilityZones
    stubbed.assert_no_pending_responses()


def test_api_errors_are_wrapped_with_context(stubbed: Stubber) -> None:
    stubbed.add_response("describe_availability_zones", ZONES, {})
    stubbed.add_client_error("describe_instances", "UnauthorizedOperation", "You are not authorized")
    with pytest.raises(DiscoveryError) as info:
        discoverer(EC2SDConfig(region="eu-west-2"), _Clients(stubbed.client)).discover(SOON)
    assert str(info.value) == (
        "ec2_sd_configs: could not describe instances in eu-west-2: "
        "UnauthorizedOperation: You are not authorized"
    )


def test_region_defaults_to_the_functions_region(stubbed: Stubber, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    stubbed.add_response("describe_availability_zones", ZONES, {})
    stubbed.add_response("describe_instances", page("i-1"), {})
    (target,) = discoverer(EC2SDConfig(), _Clients(stubbed.client)).discover(SOON).targets
    assert target["__meta_ec2_region"] == "eu-west-2"


def test_no_region_at_all_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    with pytest.raises(DiscoveryError, match="ec2_sd_configs: no region configured and none in the function"):
        discoverer(EC2SDConfig(), AwsClients()).discover(SOON)
