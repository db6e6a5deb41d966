"""ECS discovery: the tasks of ECS services as targets, as Prometheus's ``discovery/aws/ecs.go``
builds them (3.8 and later, with its bridge and host network support).

Per refresh: the clusters (``clusters``, else ``ListClusters``), ``DescribeClusters``, each
cluster's services (``ListServices``, ``DescribeServices``), each service's running tasks
(``ListTasks``, ``DescribeTasks``), then for tasks on EC2 their container instances
(``DescribeContainerInstances``) and instances (``ec2:DescribeInstances``), and for ``awsvpc``
tasks their network interfaces (``ec2:DescribeNetworkInterfaces``, for the public IP).

One target per task, at ``<IP>:<port>`` with the configured ``port``, as Prometheus builds it
(not one per container port: it reads no port mappings). A task with an elastic network
interface is ``awsvpc`` and has the interface's private IP; any other task on a container
instance is labelled ``bridge`` (``host`` tasks too, as in Prometheus) and has the instance's
private IP. A task with neither is skipped.

A failure before the clusters' tasks fails the refresh (the last targets stay). A cluster whose
tasks or instances cannot be described keeps its last targets and is reported, the others are
refreshed (Prometheus drops that cluster's targets and logs it); a failed interface lookup only
leaves ``__meta_ecs_public_ip`` out, and is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ... import aws
from ...deadline import Deadline
from ...plugins import BuildContext
from .. import Discovered, LabelSet
from ..awsaccess import AwsAccess, aws_errors, failure, pages
from ..labels import join_host_port, sanitize, without_empty
from .config import AWSSDConfig

META = "__meta_ecs_"
REQUEST_CONCURRENCY = 20
"""ECS calls made at once: Prometheus's ``request_concurrency`` default, "aligned with AWS ECS
sustained rate limits of 20 req/s" (ecs.go; Amazon ECS API request throttling)."""
DESCRIBE_CLUSTERS_MAX = 100
DESCRIBE_SERVICES_MAX = 10
DESCRIBE_TASKS_MAX = 100
DESCRIBE_CONTAINER_INSTANCES_MAX = 100
"""The most items one Describe call takes (Amazon ECS API reference)."""
EC2_IDS_PER_CALL = 100
"""Instance or interface IDs per EC2 Describe call (each call stays small and fast)."""
ENI = "ElasticNetworkInterface"

T = TypeVar("T")
R = TypeVar("R")


class _Calls:
    """The refresh's calls: a client fitting the time left for each one, every page read."""

    def __init__(self, access: AwsAccess, region: str, deadline: Deadline) -> None:
        self.access = access
        self.region = region
        self.deadline = deadline
        self.pool = ThreadPoolExecutor(REQUEST_CONCURRENCY, thread_name_prefix="ecs")

    def __call__(self, service: str, operation: str, **request: Any) -> dict[str, Any]:
        # The entry's endpoint is the ECS API's; EC2 is reached where botocore resolves it.
        client = self.access.client(service, self.region, self.deadline, own_endpoint=service == "ecs")
        answer: dict[str, Any] = getattr(client, operation)(**request)
        return answer

    def pages(self, operation: str, key: str, **request: Any) -> list[Any]:
        def call(**page: Any) -> dict[str, Any]:
            return self("ecs", operation, **page)

        return [item for page in pages(call, request, "nextToken") for item in page.get(key, ())]

    def each(self, work: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``work`` on every item, ``REQUEST_CONCURRENCY`` at a time (the first failure raises)."""
        return list(self.pool.map(work, items))


@dataclass
class _Hosts:
    """What a cluster's tasks run on: container instance ARN -> EC2 instance, and the public IP
    of each elastic network interface."""

    instances: dict[str, dict[str, Any]] = field(default_factory=dict)
    public_ips: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


class ECSDiscoverer:
    """One ``aws_sd_configs`` entry of role ``ecs`` (a ``Discoverer``); it keeps each cluster's
    last targets, for a refresh that cannot describe that cluster's tasks."""

    def __init__(self, config: AWSSDConfig, context: BuildContext, what: str) -> None:
        self.config = config
        self.access = AwsAccess(config.access(), context.aws, context.secrets, what)
        self._last: dict[str, list[LabelSet]] = {}

    def discover(self, deadline: Deadline) -> Discovered:
        region = self.access.region()
        calls = _Calls(self.access, region, deadline)
        try:
            return self._discover(calls)
        finally:
            calls.pool.shutdown(wait=False, cancel_futures=True)

    def _discover(self, calls: _Calls) -> Discovered:
        try:
            arns = list(self.config.clusters) or calls.pages("list_clusters", "clusterArns")
            described = [
                c
                for batch in _batches(arns, DESCRIBE_CLUSTERS_MAX)
                for c in calls("ecs", "describe_clusters", clusters=batch, include=["TAGS"]).get(
                    "clusters", ()
                )
            ]
            # ``clusters`` may name them by ARN or by name, as the ECS API takes either
            clusters = {
                key: c for c in described for key in (c.get("clusterArn"), c.get("clusterName")) if key
            }
            services = dict(zip(arns, calls.each(lambda arn: self._services(calls, arn), arns), strict=True))
        except aws_errors() as exc:
            raise failure(self.access.what, "list the clusters' services", calls.region, exc) from None
        targets: list[LabelSet] = []
        problems: list[str] = []
        for arn, found in services.items():
            if not found:
                continue
            try:
                hosts, own = self._cluster_targets(calls, arn, found, clusters.get(arn))
            except aws_errors() as exc:
                kept = self._last.get(arn, [])
                problems.append(
                    f"{self.access.what}: cluster {arn}: {aws.describe_error(exc)}; "
                    f"kept its {len(kept)} target(s) of the last refresh"
                )
                targets += kept
                continue
            self._last[arn] = own
            targets += own
            problems += hosts.problems
        self._last = {arn: self._last[arn] for arn in services if arn in self._last}
        return Discovered(targets, problems)

    def _services(self, calls: _Calls, cluster: str) -> list[dict[str, Any]]:
        arns = calls.pages("list_services", "serviceArns", cluster=cluster)
        return [
            service
            for batch in _batches(arns, DESCRIBE_SERVICES_MAX)
            for service in calls(
                "ecs", "describe_services", cluster=cluster, services=batch, include=["TAGS"]
            ).get("services", ())
        ]

    def _cluster_targets(
        self, calls: _Calls, arn: str, services: list[dict[str, Any]], cluster: Mapping[str, Any] | None
    ) -> tuple[_Hosts, list[LabelSet]]:
        tasks = calls.each(lambda service: self._tasks(calls, arn, service), services)
        hosts = self._hosts(calls, arn, [task for found in tasks for task in found])
        port = self.config.port
        targets = []
        for service, found in zip(services, tasks, strict=True):
            for task in found:
                labels = task_labels(task, service, cluster, region=calls.region, port=port, hosts=hosts)
                if labels is not None:
                    targets.append(labels)
        return hosts, targets

    def _tasks(self, calls: _Calls, cluster: str, service: Mapping[str, Any]) -> list[dict[str, Any]]:
        name = service.get("serviceName", "")
        arns = calls.pages("list_tasks", "taskArns", cluster=cluster, serviceName=name)
        tasks = [
            task
            for batch in _batches(arns, DESCRIBE_TASKS_MAX)
            for task in calls("ecs", "describe_tasks", cluster=cluster, tasks=batch, include=["TAGS"]).get(
                "tasks", ()
            )
        ]
        # ListTasks lists the service's tasks; their group says so too. Checking it keeps a task
        # out of another service's targets where a listing is looser (the AWS emulator's).
        return [task for task in tasks if task.get("group", f"service:{name}") == f"service:{name}"]

    def _hosts(self, calls: _Calls, cluster: str, tasks: list[dict[str, Any]]) -> _Hosts:
        hosts = _Hosts()
        container_instances = _unique(
            t["containerInstanceArn"] for t in tasks if t.get("containerInstanceArn")
        )
        ec2_of: dict[str, str] = {}
        for batch in _batches(container_instances, DESCRIBE_CONTAINER_INSTANCES_MAX):
            answer = calls("ecs", "describe_container_instances", cluster=cluster, containerInstances=batch)
            for ci in answer.get("containerInstances", ()):
                if ci.get("containerInstanceArn") and ci.get("ec2InstanceId"):  # none on ECS Anywhere
                    ec2_of[ci["containerInstanceArn"]] = ci["ec2InstanceId"]
        by_id: dict[str, dict[str, Any]] = {}
        for batch in _batches(_unique(ec2_of.values()), EC2_IDS_PER_CALL):
            for reservation in calls("ec2", "describe_instances", InstanceIds=batch).get("Reservations", ()):
                for instance in reservation.get("Instances", ()):
                    if instance.get("InstanceId") and instance.get("PrivateIpAddress"):
                        by_id[instance["InstanceId"]] = instance
        hosts.instances = {ci: by_id[i] for ci, i in ec2_of.items() if i in by_id}
        enis = _unique(eni for t in tasks if (eni := (_eni_details(t) or {}).get("networkInterfaceId")))
        try:
            for batch in _batches(enis, EC2_IDS_PER_CALL):
                answer = calls("ec2", "describe_network_interfaces", NetworkInterfaceIds=batch)
                for interface in answer.get("NetworkInterfaces", ()):
                    public = interface.get("Association", {}).get("PublicIp")
                    if interface.get("NetworkInterfaceId") and public:
                        hosts.public_ips[interface["NetworkInterfaceId"]] = public
        except aws_errors() as exc:  # as in Prometheus: the tasks are targets, without a public IP
            hosts.problems.append(f"cluster {cluster}: no public IPs: {aws.describe_error(exc)}")
        return hosts


def task_labels(
    task: Mapping[str, Any],
    service: Mapping[str, Any],
    cluster: Mapping[str, Any] | None,
    *,
    region: str,
    port: int,
    hosts: _Hosts,
) -> LabelSet | None:
    """The label set of one task, or None when it has no IP (skipped, as in Prometheus)."""
    eni = _eni_details(task)
    host = hosts.instances.get(task.get("containerInstanceArn", ""), {})
    if eni is not None:
        mode, ip, subnet = "awsvpc", eni.get("privateIPv4Address"), eni.get("subnetId")
        public = hosts.public_ips.get(eni.get("networkInterfaceId", ""), "")
    elif task.get("containerInstanceArn"):
        mode, ip, subnet = "bridge", host.get("PrivateIpAddress"), host.get("SubnetId")
        public = host.get("PublicIpAddress", "")
    else:
        return None
    if not ip:
        return None
    labels = {
        "__address__": join_host_port(ip, port),
        META + "cluster_arn": service.get("clusterArn", ""),
        META + "service": service.get("serviceName", ""),
        META + "service_arn": service.get("serviceArn", ""),
        META + "service_status": service.get("status", ""),
        META + "task_group": task.get("group", ""),
        META + "task_arn": task.get("taskArn", ""),
        META + "task_definition": task.get("taskDefinitionArn", ""),
        META + "ip_address": ip,
        META + "region": region,
        META + "launch_type": task.get("launchType", ""),
        META + "availability_zone": task.get("availabilityZone", ""),
        META + "desired_status": task.get("desiredStatus", ""),
        META + "last_status": task.get("lastStatus", ""),
        META + "health_status": task.get("healthStatus", ""),
        META + "network_mode": mode,
        META + "subnet_id": subnet or "",
        META + "platform_family": task.get("platformFamily", ""),
        META + "platform_version": task.get("platformVersion", ""),
        META + "public_ip": public,
        META + "container_instance_arn": task.get("containerInstanceArn", ""),
        META + "ec2_instance_id": host.get("InstanceId", ""),
        META + "ec2_instance_type": host.get("InstanceType", ""),
        META + "ec2_instance_private_ip": host.get("PrivateIpAddress", ""),
        META + "ec2_instance_public_ip": host.get("PublicIpAddress", ""),
    }
    if cluster is not None:
        labels[META + "cluster"] = cluster.get("clusterName", "")
        labels.update(_tags("cluster_", cluster.get("tags", ()), "key", "value"))
    labels.update(_tags("service_", service.get("tags", ()), "key", "value"))
    labels.update(_tags("task_", task.get("tags", ()), "key", "value"))
    labels.update(_tags("ec2_", host.get("Tags", ()), "Key", "Value"))
    return without_empty(labels)


def _eni_details(task: Mapping[str, Any]) -> dict[str, str] | None:
    """The details of the task's first elastic network interface attachment (``None``: it has
    none, so it is not an ``awsvpc`` task)."""
    for attachment in task.get("attachments", ()):
        if attachment.get("type") == ENI:
            return {
                d["name"]: d["value"] for d in attachment.get("details", ()) if "name" in d and "value" in d
            }
    return None


def _tags(kind: str, tags: Iterable[Mapping[str, str]], key: str, value: str) -> Iterator[tuple[str, str]]:
    for tag in tags:
        if key in tag and value in tag:
            yield f"{META}tag_{kind}{sanitize(tag[key])}", tag[value]


def _batches(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
