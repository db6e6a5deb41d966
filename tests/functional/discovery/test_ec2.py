"""ec2_sd_configs against the moto emulator: real DescribeInstances pages, filters and labels."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from scrape_push.config.source import parse_config
from scrape_push.deadline import Deadline
from scrape_push.discovery.ec2 import instances as ec2_sd
from scrape_push.discovery.ec2.config import EC2Filter, EC2SDConfig
from scrape_push.plugins import DISCOVERIES

from devtools import processes
from tests.functional.discovery.conftest import clean_account, emulator_client, point_at
from tests.support.context import build_context

REGION = "eu-west-1"


@dataclass
class Fleet:
    url: str
    vpc_id: str
    subnet_id: str
    zone: str
    zone_id: str
    web: list[dict[str, Any]]
    db: dict[str, Any]


@pytest.fixture(scope="module")
def fleet(moto_server: processes.Process) -> Iterator[Fleet]:
    """A VPC, a subnet and instances with tags in the emulated account, made once per module."""
    with clean_account(moto_server.url):
        yield _fleet(moto_server.url)


def _fleet(url: str) -> Fleet:
    client = emulator_client(url, "ec2", REGION)
    zone = client.describe_availability_zones()["AvailabilityZones"][0]
    vpc_id = client.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet_id = client.create_subnet(
        VpcId=vpc_id, CidrBlock="10.20.1.0/24", AvailabilityZone=zone["ZoneName"]
    )["Subnet"]["SubnetId"]
    image = next(i["ImageId"] for i in client.describe_images()["Images"] if i.get("Platform") != "windows")

    def launch(count: int, tags: dict[str, str]) -> list[dict[str, Any]]:
        return list(
            client.run_instances(
                ImageId=image,
                MinCount=count,
                MaxCount=count,
                InstanceType="t4g.small",
                SubnetId=subnet_id,
                TagSpecifications=[
                    {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
                ],
            )["Instances"]
        )

    web = launch(6, {"Name": "web", "team": "payments", "app.kubernetes.io/name": "shop"})
    (db,) = launch(1, {"Name": "db", "team": "storage"})
    return Fleet(url, vpc_id, subnet_id, zone["ZoneName"], zone["ZoneId"], web, db)


@pytest.fixture
def emulator(fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> Fleet:
    point_at(fleet.url, REGION, monkeypatch)
    return fleet


def discover(config: EC2SDConfig) -> list[dict[str, str]]:
    return ec2_sd.EC2Discoverer(config, build_context()).discover(Deadline.after(30)).targets


def by_name(targets: list[dict[str, str]], name: str) -> list[dict[str, str]]:
    return [t for t in targets if t.get("__meta_ec2_tag_Name") == name]


def test_every_instance_becomes_a_target_with_prometheus_labels(emulator: Fleet) -> None:
    targets = discover(EC2SDConfig(port=9100))
    assert len(targets) == 7
    (db,) = by_name(targets, "db")
    instance = emulator.db
    ip = instance["PrivateIpAddress"]
    assert ip.startswith("10.20.1.")
    assert db == {
        "__address__": f"{ip}:9100",
        "__meta_ec2_ami": instance["ImageId"],
        "__meta_ec2_architecture": db["__meta_ec2_architecture"],
        "__meta_ec2_availability_zone": emulator.zone,
        "__meta_ec2_availability_zone_id": emulator.zone_id,
        "__meta_ec2_instance_id": instance["InstanceId"],
        "__meta_ec2_instance_state": "running",
        "__meta_ec2_instance_type": "t4g.small",
        "__meta_ec2_owner_id": db["__meta_ec2_owner_id"],
        "__meta_ec2_primary_subnet_id": emulator.subnet_id,
        "__meta_ec2_private_dns_name": instance["PrivateDnsName"],
        "__meta_ec2_private_ip": ip,
        "__meta_ec2_region": REGION,
        "__meta_ec2_subnet_id": f",{emulator.subnet_id},",
        "__meta_ec2_tag_Name": "db",
        "__meta_ec2_tag_team": "storage",
        "__meta_ec2_vpc_id": emulator.vpc_id,
        **{k: v for k, v in db.items() if k.startswith(("__meta_ec2_public_", "__meta_ec2_ipv6"))},
    }
    assert db["__meta_ec2_owner_id"].isdigit()
    for web in by_name(targets, "web"):
        assert web["__meta_ec2_tag_app_kubernetes_io_name"] == "shop"
        assert web["__address__"] == web["__meta_ec2_private_ip"] + ":9100"


def test_filters_are_passed_through(emulator: Fleet) -> None:
    config = EC2SDConfig(filters=(EC2Filter("tag:team", ("payments",)),))
    targets = discover(config)
    assert sorted(t["__meta_ec2_instance_id"] for t in targets) == sorted(
        i["InstanceId"] for i in emulator.web
    )
    assert {t["__address__"].rsplit(":", 1)[1] for t in targets} == {"80"}


def test_role_arn_is_assumed_through_sts(emulator: Fleet) -> None:
    config = EC2SDConfig(role_arn="arn:aws:iam::123456789012:role/scrape-push-discovery")
    assert len(discover(config)) == 7


def test_aws_sd_configs_role_ec2_finds_the_same_targets(emulator: Fleet) -> None:
    config = parse_config(
        "scrape_configs:\n"
        "  - job_name: fleet\n"
        "    aws_sd_configs: [{role: ec2, port: 9100, filters: [{name: 'tag:team', values: [payments]}]}]\n"
        "    ec2_sd_configs: [{port: 9100, filters: [{name: 'tag:team', values: [payments]}]}]\n"
        "cloudwatch: [{namespace: N}]\n"
    ).config
    (job,) = config.scrape_configs
    (unified,), (older,) = job.discovery["aws_sd_configs"], job.discovery["ec2_sd_configs"]
    context = build_context()
    found = [
        DISCOVERIES.get(key).build(entry, context).discover(Deadline.after(30)).targets
        for key, entry in (("aws_sd_configs", unified), ("ec2_sd_configs", older))
    ]
    assert found[0] == found[1]
    assert sorted(t["__meta_ec2_instance_id"] for t in found[0]) == sorted(
        i["InstanceId"] for i in emulator.web
    )
