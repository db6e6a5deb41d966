"""cloudmap_sd_configs without the network: its keys, the namespace found by name or HTTP name,
and instance labels."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from scrape_push.config.errors import ConfigError
from scrape_push.config.source import parse_config
from scrape_push.deadline import Deadline
from scrape_push.discovery.cloudmap.config import CloudMapSDConfig
from scrape_push.discovery.cloudmap.instances import CloudMapDiscoverer, instance_labels

from tests.support.context import build_context


def entry(keys: str) -> str:
    return (
        f"scrape_configs: [{{job_name: j, cloudmap_sd_configs: [{keys}]}}]\ncloudwatch: [{{namespace: N}}]\n"
    )


def test_defaults() -> None:
    (config,) = (
        parse_config(entry("{namespace: shop.local}"))
        .config.scrape_configs[0]
        .discovery["cloudmap_sd_configs"]
    )
    assert config == CloudMapSDConfig("shop.local", health_status="ALL", refresh_interval=60.0)


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        ("{service: web}", "namespace: missing required key"),
        ("{namespace: ''}", "namespace: must not be empty"),
        ("{namespace: n, service: ''}", "service: must not be empty (leave it out for every service)"),
        (
            "{namespace: n, health_status: GREEN}",
            "health_status: must be one of 'ALL', 'HEALTHY', 'UNHEALTHY', 'HEALTHY_OR_ELSE_ALL'",
        ),
        ("{namespace: n, port: 70000}", "port: must be between 1 and 65535"),
        ("{namespace: n, role_arn: admin}", "role_arn: expected an IAM role ARN"),
        ("{namespace: n, endpoint: 'http://x'}", "endpoint: unknown key"),
    ],
)
def test_invalid_keys(keys: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(entry(keys))
    assert problem in str(info.value)


class _Clients:
    """The function's AWS clients, with Cloud Map answered by a stubbed client."""

    def __init__(self, stubbed: Any) -> None:
        self.stubbed = stubbed

    def client(self, *_: Any, **__: Any) -> Any:
        return self.stubbed


def stubbed_web() -> tuple[CloudMapDiscoverer, Any]:
    """A discoverer of service web of namespace shop, and the client to stub its calls on."""
    client = boto3.client("servicediscovery", region_name="eu-west-1")
    discoverer = CloudMapDiscoverer(
        CloudMapSDConfig("shop", service="web", region="eu-west-1"), build_context()
    )
    discoverer.access.clients = lambda: _Clients(client)  # type: ignore[assignment,method-assign,return-value]
    return discoverer, client


def test_the_namespace_is_found_by_its_http_name_when_no_name_matches() -> None:
    discoverer, client = stubbed_web()
    renamed = {"Id": "ns-2", "Name": "shop-old", "Properties": {"HttpProperties": {"HttpName": "shop"}}}
    with Stubber(client) as stubbed:
        by_name = {"Filters": [{"Name": "NAME", "Values": ["shop"], "Condition": "EQ"}]}
        stubbed.add_response("list_namespaces", {"Namespaces": []}, by_name)
        stubbed.add_response("list_namespaces", {"Namespaces": [renamed]}, {})
        request = {"NamespaceName": "shop", "ServiceName": "web", "MaxResults": 1000, "HealthStatus": "ALL"}
        instance = {"InstanceId": "i", "Attributes": {"AWS_INSTANCE_IPV4": "10.0.0.1"}}
        stubbed.add_response("discover_instances", {"Instances": [instance]}, request)
        stubbed.add_response("discover_instances", {"Instances": []}, request)  # the namespace is kept
        assert len(discoverer.discover(Deadline.after(30)).targets) == 1
        assert discoverer.discover(Deadline.after(30)).targets == []
        stubbed.assert_no_pending_responses()


def test_a_service_at_the_limit_of_one_call_is_reported() -> None:
    discoverer, client = stubbed_web()
    namespace = {"Id": "ns-1", "Name": "shop", "Properties": {"HttpProperties": {"HttpName": "shop"}}}
    many = [
        {"InstanceId": f"i-{n}", "Attributes": {"AWS_INSTANCE_IPV4": f"10.0.{n // 250}.{n % 250}"}}
        for n in range(1000)
    ]
    with Stubber(client) as stubbed:
        stubbed.add_response("list_namespaces", {"Namespaces": [namespace]})
        stubbed.add_response("discover_instances", {"Instances": many})
        found = discoverer.discover(Deadline.after(30))
    assert len(found.targets) == 1000
    (problem,) = found.problems
    assert "service 'web' answered the most instances one call returns (1000); it may have more" in problem


@pytest.mark.parametrize(
    ("attributes", "port", "address"),
    [
        ({"AWS_INSTANCE_IPV4": "10.0.0.1", "AWS_INSTANCE_PORT": "9100"}, None, "10.0.0.1:9100"),
        ({"AWS_INSTANCE_IPV4": "10.0.0.1", "AWS_INSTANCE_IPV6": "2001:db8::1"}, None, "10.0.0.1"),
        ({"AWS_INSTANCE_IPV6": "2001:db8::1", "AWS_INSTANCE_PORT": "9100"}, None, "[2001:db8::1]:9100"),
        ({"AWS_INSTANCE_IPV6": "2001:db8::1"}, 8080, "[2001:db8::1]:8080"),
        ({"AWS_INSTANCE_IPV4": "10.0.0.1", "AWS_INSTANCE_PORT": "http"}, None, "10.0.0.1"),
    ],
)
def test_the_address_of_an_instance(attributes: dict[str, str], port: int | None, address: str) -> None:
    labels = instance_labels({"InstanceId": "i", "Attributes": attributes}, "ns", "svc", port)
    assert labels is not None and labels["__address__"] == address


def test_attribute_names_are_sanitised_and_an_instance_without_ip_skipped() -> None:
    attributes = {"AWS_INSTANCE_IPV4": "10.0.0.1", "team/name": "a", "é": "b", "AWS_INSTANCE_CNAME": "x"}
    labels = instance_labels(
        {"InstanceId": "i", "HealthStatus": "UNKNOWN", "Attributes": attributes}, "n", "s", None
    )
    assert labels is not None
    assert labels["__meta_cloudmap_attribute_team_name"] == "a"
    assert labels["__meta_cloudmap_attribute__"] == "b"
    assert labels["__meta_cloudmap_health_status"] == "UNKNOWN"
    assert (
        instance_labels({"InstanceId": "i", "Attributes": {"AWS_INSTANCE_CNAME": "x"}}, "n", "s", None)
        is None
    )
