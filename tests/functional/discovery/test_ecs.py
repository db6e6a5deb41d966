"""aws_sd_configs role ecs against the moto emulator: a cluster with an awsvpc (Fargate) service
and a bridge service on a registered container instance, discovered with Prometheus's labels.

moto's ListTasks ignores ``serviceName`` (every task of the cluster comes back for each
service): the discoverer keeps a service's targets to the tasks whose group names it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from scrape_push.deadline import Deadline
from scrape_push.discovery import Discovered, DiscoveryError
from scrape_push.discovery.aws.config import AWSSDConfig
from scrape_push.discovery.aws.ecs import ECSDiscoverer

from devtools import processes
from tests.functional.discovery.conftest import clean_account, emulator_client, point_at
from tests.support.context import build_context

REGION = "eu-west-1"
ACCOUNT = "123456789012"


@dataclass
class Cluster:
    url: str
    arn: str
    subnet: str
    web: dict[str, Any]
    """The awsvpc task."""
    api: dict[str, Any]
    """The bridge task, on ``host``."""
    host: dict[str, Any]
    container_instance: str


def _identity(instance: dict[str, Any], image: str) -> str:
    """The instance identity document the ECS agent registers a container instance with."""
    return json.dumps(
        {
            "instanceId": instance["InstanceId"],
            "region": REGION,
            "availabilityZone": instance["Placement"]["AvailabilityZone"],
            "privateIp": instance["PrivateIpAddress"],
            "instanceType": "t4g.small",
            "imageId": image,
            "accountId": ACCOUNT,
            "architecture": "arm64",
            "pendingTime": "2024-01-01T00:00:00Z",
            "version": "2017-09-30",
        }
    )


@pytest.fixture(scope="module")
def cluster(moto_server: processes.Process) -> Iterator[Cluster]:
    with clean_account(moto_server.url):
        yield _cluster(moto_server.url)


def _cluster(url: str) -> Cluster:
    ec2, ecs = emulator_client(url, "ec2", REGION), emulator_client(url, "ecs", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # moto's awsvpc tasks need it
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.30.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]
    network = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}}
    arn = ecs.create_cluster(clusterName="shop", tags=[{"key": "team", "value": "payments"}])["cluster"][
        "clusterArn"
    ]
    container = {"image": "nginx", "memory": 128, "cpu": 64}
    ecs.register_task_definition(
        family="web",
        networkMode="awsvpc",
        containerDefinitions=[{"name": "web", **container}],
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
    )
    ecs.register_task_definition(
        family="api", networkMode="bridge", containerDefinitions=[{"name": "api", **container}]
    )
    ecs.create_service(
        cluster="shop",
        serviceName="web",
        taskDefinition="web",
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=network,
        tags=[{"key": "tier", "value": "front"}],
    )
    ecs.create_service(
        cluster="shop", serviceName="api", taskDefinition="api", desiredCount=1, launchType="EC2"
    )
    image = ec2.describe_images()["Images"][0]["ImageId"]
    host = ec2.run_instances(
        ImageId=image,
        MinCount=1,
        MaxCount=1,
        SubnetId=subnet,
        InstanceType="t4g.small",
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "ecs-host-1"}]}],
    )["Instances"][0]
    registered = ecs.register_container_instance(
        cluster="shop", instanceIdentityDocument=_identity(host, image)
    )
    container_instance = registered["containerInstance"]["containerInstanceArn"]
    # CreateService starts no task in moto: they are started as the service would start them.
    (web,) = ecs.run_task(
        cluster="shop",
        taskDefinition="web",
        launchType="FARGATE",
        group="service:web",
        networkConfiguration=network,
        tags=[{"key": "version", "value": "1.4.2"}],
    )["tasks"]
    (api,) = ecs.start_task(
        cluster="shop", taskDefinition="api", containerInstances=[container_instance], group="service:api"
    )["tasks"]
    return Cluster(url, arn, subnet, web, api, host, container_instance)


@pytest.fixture
def emulator(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> Cluster:
    point_at(cluster.url, REGION, monkeypatch)
    return cluster


def discover(**keys: Any) -> Discovered:
    config = AWSSDConfig(role="ecs", port=9100, **keys)
    return ECSDiscoverer(config, build_context(), "aws_sd_configs (ecs)").discover(Deadline.after(30))


def by_service(found: Discovered) -> dict[str, dict[str, str]]:
    targets = {t["__meta_ecs_service"]: t for t in found.targets}
    assert len(targets) == len(found.targets), "one target per task"
    return targets


def test_an_awsvpc_task_is_a_target_at_its_interface_address(emulator: Cluster) -> None:
    found = discover()
    assert found.problems == []
    web = by_service(found)["web"]
    details = {d["name"]: d["value"] for d in emulator.web["attachments"][0]["details"]}
    ip = details["privateIPv4Address"]
    assert web == {
        "__address__": f"{ip}:9100",
        "__meta_ecs_cluster": "shop",
        "__meta_ecs_cluster_arn": emulator.arn,
        "__meta_ecs_service": "web",
        "__meta_ecs_service_arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/shop/web",
        "__meta_ecs_service_status": "ACTIVE",
        "__meta_ecs_task_group": "service:web",
        "__meta_ecs_task_arn": emulator.web["taskArn"],
        "__meta_ecs_task_definition": emulator.web["taskDefinitionArn"],
        "__meta_ecs_ip_address": ip,
        "__meta_ecs_region": REGION,
        "__meta_ecs_launch_type": "FARGATE",
        "__meta_ecs_desired_status": "RUNNING",
        "__meta_ecs_last_status": web["__meta_ecs_last_status"],  # moto moves it on at each read
        "__meta_ecs_network_mode": "awsvpc",
        "__meta_ecs_subnet_id": emulator.subnet,
        "__meta_ecs_tag_cluster_team": "payments",
        "__meta_ecs_tag_service_tier": "front",
        "__meta_ecs_tag_task_version": "1.4.2",
    }


def test_a_bridge_task_is_a_target_at_its_container_instances_address(emulator: Cluster) -> None:
    api = by_service(discover())["api"]
    host = emulator.host
    assert api["__address__"] == f"{host['PrivateIpAddress']}:9100"
    assert api["__meta_ecs_network_mode"] == "bridge"  # as Prometheus labels bridge and host tasks
    assert {
        k: v for k, v in api.items() if "ec2" in k or k.endswith(("container_instance_arn", "subnet_id"))
    } == {
        "__meta_ecs_container_instance_arn": emulator.container_instance,
        "__meta_ecs_ec2_instance_id": host["InstanceId"],
        "__meta_ecs_ec2_instance_type": "t4g.small",
        "__meta_ecs_ec2_instance_private_ip": host["PrivateIpAddress"],
        "__meta_ecs_subnet_id": emulator.subnet,
        "__meta_ecs_tag_ec2_Name": "ecs-host-1",
        **{k: v for k, v in api.items() if "public_ip" in k},
    }


def test_named_clusters_only_and_an_unknown_one_fails_the_refresh(emulator: Cluster) -> None:
    assert len(discover(clusters=(emulator.arn,)).targets) == 2
    by_name = discover(clusters=("shop",)).targets  # the ECS API takes names too
    assert [t["__meta_ecs_cluster"] for t in by_name] == ["shop", "shop"]
    with pytest.raises(
        DiscoveryError, match="list the clusters' services in eu-west-1: ClusterNotFoundException"
    ):
        discover(clusters=(f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/none",))


def test_a_cluster_whose_tasks_cannot_be_described_keeps_its_last_targets(emulator: Cluster) -> None:
    discoverer = ECSDiscoverer(AWSSDConfig(role="ecs"), build_context(), "aws_sd_configs (ecs)")
    first = discoverer.discover(Deadline.after(30))
    assert len(first.targets) == 2
    broken = _Broken(discoverer)
    again = discoverer.discover(Deadline.after(30))
    assert again.targets == first.targets
    assert broken.calls >= 1
    (problem,) = again.problems
    assert problem.startswith(f"aws_sd_configs (ecs): cluster {emulator.arn}: ThrottlingException: ")
    assert problem.endswith("kept its 2 target(s) of the last refresh")


class _Broken:
    """Makes the discoverer's next DescribeTasks fail, as a throttled API would."""

    def __init__(self, discoverer: ECSDiscoverer) -> None:
        self.calls = 0
        access = discoverer.access
        real = access.client

        def client(service: str, region: str, deadline: Deadline, **kw: Any) -> Any:
            made = real(service, region, deadline, **kw)
            if service != "ecs":
                return made
            outer = self

            class Failing:
                def __getattr__(self, name: str) -> Any:
                    if name != "describe_tasks":
                        return getattr(made, name)
                    outer.calls += 1
                    error = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
                    raise made.exceptions.ClientError(error, "DescribeTasks")

            return Failing()

        access.client = client  # type: ignore[method-assign]
