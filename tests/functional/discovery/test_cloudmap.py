"""cloudmap_sd_configs against the moto emulator: DiscoverInstances, every service of a namespace,
addresses from the instance attributes, filters and labels.

moto's ListServices ignores its NAMESPACE_ID filter (every service of the account comes back):
a service of another namespace answers ServiceNotFound to DiscoverInstances and is skipped, as a
service deleted between the listing and the discovery is.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from scrape_push.deadline import Deadline
from scrape_push.discovery import DiscoveryError
from scrape_push.discovery.cloudmap.config import CloudMapSDConfig
from scrape_push.discovery.cloudmap.instances import CloudMapDiscoverer

from devtools import processes
from tests.functional.discovery.conftest import clean_account, emulator_client, point_at
from tests.support.context import build_context

REGION = "eu-west-1"


@pytest.fixture(scope="module")
def namespaces(moto_server: processes.Process) -> Iterator[str]:
    with clean_account(moto_server.url):
        _namespaces(emulator_client(moto_server.url, "servicediscovery", REGION))
        yield moto_server.url


def _namespaces(sd: Any) -> None:

    def service(namespace: str, name: str, instances: dict[str, dict[str, str]]) -> None:
        found = {n["Name"]: n["Id"] for n in sd.list_namespaces()["Namespaces"]}
        made = sd.create_service(Name=name, NamespaceId=found[namespace])["Service"]
        for instance, attributes in instances.items():
            sd.register_instance(ServiceId=made["Id"], InstanceId=instance, Attributes=attributes)

    sd.create_http_namespace(Name="shop.local")
    sd.create_http_namespace(Name="other.local")
    service(
        "shop.local",
        "web",
        {
            "web-1": {
                "AWS_INSTANCE_IPV4": "10.0.0.5",
                "AWS_INSTANCE_PORT": "9100",
                "color": "blue",
                "app.kubernetes.io/name": "shop",
            },
            "web-2": {"AWS_INSTANCE_IPV6": "2001:db8::5", "color": "green"},
        },
    )
    service(
        "shop.local",
        "api",
        {"api-1": {"AWS_INSTANCE_IPV4": "10.0.0.7"}, "api-dns": {"AWS_INSTANCE_CNAME": "x"}},
    )
    service("other.local", "db", {"db-1": {"AWS_INSTANCE_IPV4": "10.9.9.9", "AWS_INSTANCE_PORT": "5432"}})


@pytest.fixture
def emulator(namespaces: str, monkeypatch: pytest.MonkeyPatch) -> str:
    point_at(namespaces, REGION, monkeypatch)
    return namespaces


def discover(**keys: Any) -> dict[str, dict[str, str]]:
    found = CloudMapDiscoverer(CloudMapSDConfig(**keys), build_context()).discover(Deadline.after(30))
    assert found.problems == []
    return {t["__meta_cloudmap_instance_id"]: t for t in found.targets}


def test_one_service_with_addresses_from_its_attributes(emulator: str) -> None:
    found = discover(namespace="shop.local", service="web")
    assert found == {
        "web-1": {
            "__address__": "10.0.0.5:9100",
            "__meta_cloudmap_namespace": "shop.local",
            "__meta_cloudmap_service": "web",
            "__meta_cloudmap_instance_id": "web-1",
            "__meta_cloudmap_health_status": "HEALTHY",
            "__meta_cloudmap_attribute_AWS_INSTANCE_IPV4": "10.0.0.5",
            "__meta_cloudmap_attribute_AWS_INSTANCE_PORT": "9100",
            "__meta_cloudmap_attribute_color": "blue",
            "__meta_cloudmap_attribute_app_kubernetes_io_name": "shop",
        },
        "web-2": {
            "__address__": "[2001:db8::5]",  # no port: target building adds the scheme's, as for any
            "__meta_cloudmap_namespace": "shop.local",
            "__meta_cloudmap_service": "web",
            "__meta_cloudmap_instance_id": "web-2",
            "__meta_cloudmap_health_status": "HEALTHY",
            "__meta_cloudmap_attribute_AWS_INSTANCE_IPV6": "2001:db8::5",
            "__meta_cloudmap_attribute_color": "green",
        },
    }


def test_port_replaces_the_instances_port(emulator: str) -> None:
    found = discover(namespace="shop.local", service="web", port=8080)
    assert {i: t["__address__"] for i, t in found.items()} == {
        "web-1": "10.0.0.5:8080",
        "web-2": "[2001:db8::5]:8080",
    }


def test_without_a_service_every_service_of_the_namespace_and_no_other(emulator: str) -> None:
    found = discover(namespace="shop.local")
    # api-dns has no IP attribute (a DNS name only): skipped
    assert sorted(found) == ["api-1", "web-1", "web-2"]
    assert found["api-1"]["__meta_cloudmap_service"] == "api"


def test_query_parameters_and_health_status_filter(emulator: str) -> None:
    assert sorted(discover(namespace="shop.local", service="web", query_parameters={"color": "blue"})) == [
        "web-1"
    ]
    assert discover(namespace="shop.local", service="web", health_status="UNHEALTHY") == {}


def test_an_unknown_namespace_or_service_fails_the_refresh(emulator: str) -> None:
    with pytest.raises(
        DiscoveryError, match=r"cloudmap_sd_configs: no namespace named 'nowhere\.local' in eu-west-1"
    ):
        discover(namespace="nowhere.local")
    with pytest.raises(DiscoveryError, match="ServiceNotFound"):
        discover(namespace="shop.local", service="nothing")
