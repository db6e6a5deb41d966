"""ECS task labels as Prometheus's ecs.go builds them, from recorded DescribeTasks answers: one
target per task at <IP>:<port>, awsvpc from the task's interface, bridge (and host) from its
container instance."""

from __future__ import annotations

from typing import Any

import pytest
from scrape_push.config.errors import ConfigError
from scrape_push.config.source import parse_config
from scrape_push.discovery.aws.ecs import _Hosts, task_labels

SERVICE = {
    "serviceName": "web",
    "serviceArn": "arn:aws:ecs:eu-west-1:1:service/shop/web",
    "clusterArn": "arn:aws:ecs:eu-west-1:1:cluster/shop",
    "status": "ACTIVE",
    "tags": [{"key": "app.kubernetes.io/name", "value": "shop"}],
}
CLUSTER = {"clusterName": "shop", "tags": [{"key": "team", "value": "payments"}]}
INSTANCE = {
    "InstanceId": "i-1",
    "InstanceType": "m7g.large",
    "PrivateIpAddress": "10.0.9.9",
    "PublicIpAddress": "3.3.3.3",
    "SubnetId": "subnet-host",
    "Tags": [{"Key": "Name", "Value": "host-1"}],
}
ENI = {
    "type": "ElasticNetworkInterface",
    "details": [
        {"name": "subnetId", "value": "subnet-task"},
        {"name": "networkInterfaceId", "value": "eni-1"},
        {"name": "privateIPv4Address", "value": "10.0.1.5"},
    ],
}


def task(**fields: Any) -> dict[str, Any]:
    return {
        "taskArn": "arn:aws:ecs:eu-west-1:1:task/shop/t1",
        "taskDefinitionArn": "arn:aws:ecs:eu-west-1:1:task-definition/web:3",
        "group": "service:web",
        "desiredStatus": "RUNNING",
        "lastStatus": "RUNNING",
        "healthStatus": "HEALTHY",
        "availabilityZone": "eu-west-1a",
        **fields,
    }


def labels(one: dict[str, Any], hosts: _Hosts | None = None) -> dict[str, str] | None:
    return task_labels(one, SERVICE, CLUSTER, region="eu-west-1", port=9100, hosts=hosts or _Hosts())


def test_a_fargate_task_in_awsvpc_mode() -> None:
    hosts = _Hosts(public_ips={"eni-1": "18.0.0.5"})
    found = labels(
        task(attachments=[ENI], launchType="FARGATE", platformFamily="Linux", platformVersion="1.4.0"), hosts
    )
    assert found == {
        "__address__": "10.0.1.5:9100",
        "__meta_ecs_cluster": "shop",
        "__meta_ecs_cluster_arn": "arn:aws:ecs:eu-west-1:1:cluster/shop",
        "__meta_ecs_service": "web",
        "__meta_ecs_service_arn": "arn:aws:ecs:eu-west-1:1:service/shop/web",
        "__meta_ecs_service_status": "ACTIVE",
        "__meta_ecs_task_group": "service:web",
        "__meta_ecs_task_arn": "arn:aws:ecs:eu-west-1:1:task/shop/t1",
        "__meta_ecs_task_definition": "arn:aws:ecs:eu-west-1:1:task-definition/web:3",
        "__meta_ecs_ip_address": "10.0.1.5",
        "__meta_ecs_region": "eu-west-1",
        "__meta_ecs_launch_type": "FARGATE",
        "__meta_ecs_availability_zone": "eu-west-1a",
        "__meta_ecs_desired_status": "RUNNING",
        "__meta_ecs_last_status": "RUNNING",
        "__meta_ecs_health_status": "HEALTHY",
        "__meta_ecs_network_mode": "awsvpc",
        "__meta_ecs_subnet_id": "subnet-task",
        "__meta_ecs_platform_family": "Linux",
        "__meta_ecs_platform_version": "1.4.0",
        "__meta_ecs_public_ip": "18.0.0.5",
        "__meta_ecs_tag_cluster_team": "payments",
        "__meta_ecs_tag_service_app_kubernetes_io_name": "shop",
    }


def test_an_awsvpc_task_on_ec2_also_names_its_host() -> None:
    hosts = _Hosts(instances={"ci-1": INSTANCE})
    found = labels(task(attachments=[ENI], launchType="EC2", containerInstanceArn="ci-1"), hosts)
    assert found is not None
    assert (found["__address__"], found["__meta_ecs_network_mode"]) == ("10.0.1.5:9100", "awsvpc")
    assert found["__meta_ecs_subnet_id"] == "subnet-task"
    assert "__meta_ecs_public_ip" not in found  # the interface has none; the host's is its own label
    assert found["__meta_ecs_ec2_instance_public_ip"] == "3.3.3.3"
    assert found["__meta_ecs_tag_ec2_Name"] == "host-1"


def test_bridge_and_host_tasks_are_labelled_bridge_at_their_hosts_address() -> None:
    # A task without an interface is told apart by its container instance only: Prometheus
    # labels bridge and host tasks alike "bridge", at the instance's private IP.
    found = labels(task(launchType="EC2", containerInstanceArn="ci-1"), _Hosts(instances={"ci-1": INSTANCE}))
    assert found is not None
    assert {
        k: v
        for k, v in found.items()
        if not k.startswith(("__meta_ecs_task", "__meta_ecs_service", "__meta_ecs_tag_service"))
    } == {
        "__address__": "10.0.9.9:9100",
        "__meta_ecs_cluster": "shop",
        "__meta_ecs_cluster_arn": "arn:aws:ecs:eu-west-1:1:cluster/shop",
        "__meta_ecs_ip_address": "10.0.9.9",
        "__meta_ecs_region": "eu-west-1",
        "__meta_ecs_launch_type": "EC2",
        "__meta_ecs_availability_zone": "eu-west-1a",
        "__meta_ecs_desired_status": "RUNNING",
        "__meta_ecs_last_status": "RUNNING",
        "__meta_ecs_health_status": "HEALTHY",
        "__meta_ecs_network_mode": "bridge",
        "__meta_ecs_subnet_id": "subnet-host",
        "__meta_ecs_public_ip": "3.3.3.3",
        "__meta_ecs_container_instance_arn": "ci-1",
        "__meta_ecs_ec2_instance_id": "i-1",
        "__meta_ecs_ec2_instance_type": "m7g.large",
        "__meta_ecs_ec2_instance_private_ip": "10.0.9.9",
        "__meta_ecs_ec2_instance_public_ip": "3.3.3.3",
        "__meta_ecs_tag_ec2_Name": "host-1",
        "__meta_ecs_tag_cluster_team": "payments",
    }


def test_a_task_without_an_address_is_skipped() -> None:
    assert labels(task()) is None  # neither an interface nor a container instance
    assert labels(task(containerInstanceArn="ci-gone")) is None  # its instance was not found
    assert labels(task(attachments=[{"type": "ElasticNetworkInterface", "details": []}])) is None


def test_an_unclustered_service_and_ipv6_addresses() -> None:
    v6 = {
        "type": "ElasticNetworkInterface",
        "details": [{"name": "privateIPv4Address", "value": "2001:db8::5"}],
    }
    found = task_labels(task(attachments=[v6]), SERVICE, None, region="r", port=80, hosts=_Hosts())
    assert found is not None and found["__address__"] == "[2001:db8::5]:80"
    assert "__meta_ecs_cluster" not in found and "__meta_ecs_tag_cluster_team" not in found


ROLE_PROBLEMS = [
    ("{role: ecs, filters: [{name: a, values: [b]}]}", "filters are for role ec2 only"),
    ("{role: ec2, clusters: [arn]}", "clusters are for role ecs only"),
    ("{role: msk}", "must be one of 'ec2', 'ecs', 'lightsail', got 'msk'"),
    ("{port: 9100}", "role: missing required key"),
]


@pytest.mark.parametrize(("entry", "problem"), ROLE_PROBLEMS)
def test_each_roles_keys_are_its_own(entry: str, problem: str) -> None:
    text = f"scrape_configs: [{{job_name: j, aws_sd_configs: [{entry}]}}]\ncloudwatch: [{{namespace: N}}]\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert problem in str(info.value)
