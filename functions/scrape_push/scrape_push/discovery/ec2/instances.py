"""EC2 discovery: DescribeInstances pages turned into label sets.

Follows Prometheus's discovery/aws/ec2.go: one label set per instance that has a private IP,
``__address__`` = private IP and ``port``, list-valued labels joined with commas and wrapped in
leading and trailing commas (so that ``.*,subnet-1,.*`` matches), tag names sanitised to label
name characters. Serves ``ec2_sd_configs`` and the ``ec2`` role of ``aws_sd_configs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...deadline import Deadline
from ...plugins import BuildContext
from .. import Discovered, LabelSet
from ..awsaccess import AwsAccess, aws_errors, failure, pages
from ..labels import join_host_port, joined, sanitize, without_empty
from .config import EC2SDConfig

META = "__meta_ec2_"


class EC2Discoverer:
    """One entry's instances (a ``Discoverer``); it keeps the region's zone IDs once it has them."""

    def __init__(self, config: EC2SDConfig, context: BuildContext, what: str = "ec2_sd_configs") -> None:
        self.config = config
        self.access = AwsAccess(config.access(), context.aws, context.secrets, what)
        self._zones: dict[str, str] | None = None

    def discover(self, deadline: Deadline) -> Discovered:
        """One label set per instance matching the filters (DescribeInstances, every page)."""
        config = self.config
        region = self.access.region()
        if self._zones is None:
            self._zones = self._zone_ids(region, deadline)
        filters = [{"Name": f.name, "Values": list(f.values)} for f in config.filters]
        request: dict[str, Any] = {"Filters": filters} if filters else {}
        targets: list[LabelSet] = []

        def describe(**page: Any) -> dict[str, Any]:
            answer: dict[str, Any] = self.access.client("ec2", region, deadline).describe_instances(**page)
            return answer

        try:
            for page in pages(describe, request, "NextToken"):
                for reservation in page.get("Reservations", ()):
                    owner = reservation.get("OwnerId")
                    for instance in reservation.get("Instances", ()):
                        labels = instance_labels(instance, owner, region, config.port, self._zones or {})
                        if labels is not None:
                            targets.append(labels)
        except aws_errors() as exc:
            raise failure(self.access.what, "describe instances", region, exc) from None
        return Discovered(targets)

    def _zone_ids(self, region: str, deadline: Deadline) -> dict[str, str] | None:
        """Zone name → zone ID (e.g. eu-west-2a → euw2-az2) in ``region``.

        As in Prometheus, a failure only leaves ``availability_zone_id`` empty (and it is asked
        again at the next refresh).
        """
        try:
            zones = self.access.client("ec2", region, deadline).describe_availability_zones()[
                "AvailabilityZones"
            ]
        except aws_errors():
            return None
        return {z["ZoneName"]: z["ZoneId"] for z in zones if z.get("ZoneName") and z.get("ZoneId")}


def instance_labels(
    instance: Mapping[str, Any], owner_id: str | None, region: str, port: int, zone_ids: Mapping[str, str]
) -> LabelSet | None:
    """The label set of one DescribeInstances instance, or None without a private IP (skipped)."""
    private_ip = instance.get("PrivateIpAddress")
    if not private_ip:
        return None
    labels = {
        "__address__": join_host_port(private_ip, port),
        META + "instance_id": instance.get("InstanceId", ""),
        META + "region": region,
        META + "owner_id": owner_id or "",
        META + "private_ip": private_ip,
        META + "private_dns_name": instance.get("PrivateDnsName", ""),
        META + "platform": instance.get("Platform", ""),
        META + "ami": instance.get("ImageId", ""),
        META + "instance_type": instance.get("InstanceType", ""),
        META + "instance_state": instance.get("State", {}).get("Name", ""),
        META + "instance_lifecycle": instance.get("InstanceLifecycle", ""),
        META + "architecture": instance.get("Architecture", ""),
    }
    if instance.get("PublicIpAddress"):
        labels[META + "public_ip"] = instance["PublicIpAddress"]
        labels[META + "public_dns_name"] = instance.get("PublicDnsName", "")
    zone = instance.get("Placement", {}).get("AvailabilityZone")
    if zone:
        labels[META + "availability_zone"] = zone
        labels[META + "availability_zone_id"] = zone_ids.get(zone, "")
    if instance.get("VpcId"):
        labels.update(_vpc_labels(instance))
    for tag in instance.get("Tags", ()):
        if "Key" in tag and "Value" in tag:
            labels[META + "tag_" + sanitize(tag["Key"])] = tag["Value"]
    return without_empty(labels)


def _vpc_labels(instance: Mapping[str, Any]) -> LabelSet:
    subnets: list[str] = []
    ipv6: list[str] = []
    primary_ipv6: list[str] = []
    for eni in instance.get("NetworkInterfaces", ()):
        subnet = eni.get("SubnetId")
        if not subnet:
            continue
        if subnet not in subnets:  # deduplicated, in the order EC2 returns them
            subnets.append(subnet)
        for address in eni.get("Ipv6Addresses", ()):
            if not address.get("Ipv6Address"):
                continue
            ipv6.append(address["Ipv6Address"])
            device = eni.get("Attachment", {}).get("DeviceIndex")
            if address.get("IsPrimaryIpv6") and isinstance(device, int) and device >= 0:
                # Positions follow the device index; gaps stay empty, as in Prometheus.
                primary_ipv6.extend([""] * (device + 1 - len(primary_ipv6)))
                primary_ipv6[device] = address["Ipv6Address"]
    labels = {
        META + "vpc_id": instance["VpcId"],
        META + "primary_subnet_id": instance.get("SubnetId", ""),
        META + "subnet_id": joined(subnets),
    }
    if ipv6:
        labels[META + "ipv6_addresses"] = joined(ipv6)
    if primary_ipv6:
        labels[META + "primary_ipv6_addresses"] = joined(primary_ipv6)
    return labels
