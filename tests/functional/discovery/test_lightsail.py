"""lightsail_sd_configs and aws_sd_configs role lightsail against a local Lightsail API
(``tests/support/lightsail.py``: moto has no Lightsail API, so the fake speaks the real JSON 1.1
protocol and checks each request's SigV4 signature)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from scrape_push.credentials import Secret
from scrape_push.deadline import Deadline
from scrape_push.discovery import DiscoveryError
from scrape_push.discovery.aws.config import AWSSDConfig
from scrape_push.discovery.lightsail.config import LightsailSDConfig
from scrape_push.discovery.lightsail.instances import LightsailDiscoverer
from scrape_push.plugins import DISCOVERIES

from tests.support.context import build_context
from tests.support.lightsail import Lightsail, lightsail
from tests.support.sigv4 import Scope

REGION = "eu-west-2"
SCOPE = Scope("testing", "testing", REGION, "lightsail")

WEB: dict[str, Any] = {
    "name": "web-1",
    "arn": "arn:aws:lightsail:eu-west-2:123456789012:Instance/1",
    "supportCode": "123456789012/i-0abc",
    "location": {"availabilityZone": "eu-west-2a", "regionName": REGION},
    "blueprintId": "ubuntu_22_04",
    "bundleId": "small_3_0",
    "privateIpAddress": "172.26.0.10",
    "publicIpAddress": "18.130.0.10",
    "ipv6Addresses": ["2a05:d01c::10"],
    "state": {"code": 16, "name": "running"},
    "tags": [{"key": "team", "value": "shop"}, {"key": "app.name", "value": "store"}, {"key": "bare"}],
}
DB: dict[str, Any] = {
    "name": "db-1",
    "location": {"availabilityZone": "eu-west-2b", "regionName": REGION},
    "privateIpAddress": "172.26.0.11",
    "state": {"code": 16, "name": "running"},
}
PENDING: dict[str, Any] = {"name": "new", "state": {"code": 0, "name": "pending"}}


@pytest.fixture
def api() -> Iterator[Lightsail]:
    with lightsail(SCOPE, [[WEB, PENDING], [DB]]) as running:
        yield running


def test_every_page_is_read_and_each_instance_with_a_private_ip_is_a_target(api: Lightsail) -> None:
    config = LightsailSDConfig(region=REGION, endpoint=api.url, port=9100)
    found = LightsailDiscoverer(config, build_context()).discover(Deadline.after(30))
    assert api.calls == [{}, {"pageToken": "1"}]  # Prometheus reads the first page only
    web, db = found.targets
    assert web == {
        "__address__": "172.26.0.10:9100",
        "__meta_lightsail_availability_zone": "eu-west-2a",
        "__meta_lightsail_blueprint_id": "ubuntu_22_04",
        "__meta_lightsail_bundle_id": "small_3_0",
        "__meta_lightsail_instance_name": "web-1",
        "__meta_lightsail_instance_state": "running",
        "__meta_lightsail_instance_support_code": "123456789012/i-0abc",
        "__meta_lightsail_ipv6_addresses": ",2a05:d01c::10,",
        "__meta_lightsail_private_ip": "172.26.0.10",
        "__meta_lightsail_public_ip": "18.130.0.10",
        "__meta_lightsail_region": REGION,
        "__meta_lightsail_tag_team": "shop",
        "__meta_lightsail_tag_app_name": "store",
    }
    assert db == {  # fields the API leaves out leave their labels out
        "__address__": "172.26.0.11:9100",
        "__meta_lightsail_availability_zone": "eu-west-2b",
        "__meta_lightsail_instance_name": "db-1",
        "__meta_lightsail_instance_state": "running",
        "__meta_lightsail_private_ip": "172.26.0.11",
        "__meta_lightsail_region": REGION,
    }


def test_the_unified_role_is_the_same_discoverer(api: Lightsail) -> None:
    config = AWSSDConfig(role="lightsail", region=REGION, endpoint=api.url)
    discoverer = DISCOVERIES.get("aws_sd_configs").build(config, build_context())
    found = discoverer.discover(Deadline.after(30))
    assert [t["__address__"] for t in found.targets] == ["172.26.0.10:80", "172.26.0.11:80"]


def test_requests_signed_with_other_credentials_are_refused(
    api: Lightsail, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-one")
    config = LightsailSDConfig(region=REGION, endpoint=api.url)
    with pytest.raises(DiscoveryError, match=r"lightsail_sd_configs: could not get instances in eu-west-2: "):
        LightsailDiscoverer(config, build_context()).discover(Deadline.after(30))
    assert api.calls == []


def test_static_keys_sign_instead_of_the_functions_credentials(
    api: Lightsail, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-one")
    config = LightsailSDConfig(
        region=REGION, endpoint=api.url, access_key="testing", secret_key=Secret("testing")
    )
    assert len(LightsailDiscoverer(config, build_context()).discover(Deadline.after(30)).targets) == 2
