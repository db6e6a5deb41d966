"""EC2 discovery: DescribeInstances pages turned into label sets.

Follows Prometheus's discovery/aws/ec2.go: one label set per instance that has a private IP,
``__address__`` = private IP and ``port``, list-valued labels joined with commas and wrapped in
leading and trailing commas (so that ``.*,subnet-1,.*`` matches), tag names sanitised to label
name characters. The function's own credentials are used (or a role assumed from them with
``role_arn``); endpoints come from ``AWS_ENDPOINT_URL`` like every other AWS call here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from ... import aws
from .. import DiscoveryError
from .config import EC2SDConfig

META = "__meta_ec2_"
SEPARATOR = ","
_INVALID_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")


class EC2Discoverer:
    """One ``ec2_sd_configs`` entry's instances (a ``Discoverer``); it keeps the region's zone
    IDs once it has them."""

    def __init__(self, config: EC2SDConfig, clients: aws.AwsClients) -> None:
        self.config = config
        self.clients = clients
        self._zones: dict[str, str] | None = None

    def discover(self) -> list[dict[str, str]]:
        """One label set per instance matching the filters (DescribeInstances, paginated)."""
        config = self.config
        region = config.region or self.clients.session().region_name
        if not region:
            raise DiscoveryError("EC2 SD configuration requires a region (none set and no AWS_REGION)")
        try:
            client = (
                self.clients.assumed_client("ec2", region, config.role_arn)
                if config.role_arn
                else self.clients.client("ec2", region)
            )
            if self._zones is None:
                self._zones = _zone_ids(client)
            zones = self._zones or {}
            filters = [{"Name": f.name, "Values": list(f.values)} for f in config.filters]
            pages = client.get_paginator("describe_instances").paginate(
                **({"Filters": filters} if filters else {})
            )
            return _labels(pages, region, config.port, zones)
        except (ClientError, BotoCoreError, ResponseParserError) as exc:
            raise DiscoveryError(f"ec2_sd_configs: could not describe instances in {region}: {exc}") from exc


def _labels(pages: Iterable[Any], region: str, port: int, zones: Mapping[str, str]) -> list[dict[str, str]]:
    """The label set of every instance with a private IP in DescribeInstances ``pages``."""
    targets: list[dict[str, str]] = []
    for page in pages:
        for reservation in page.get("Reservations", ()):
            for instance in reservation.get("Instances", ()):
                labels = instance_labels(instance, reservation.get("OwnerId"), region, port, zones)
                if labels is not None:
                    targets.append(labels)
    return targets


def _zone_ids(client: Any) -> dict[str, str] | None:
    """Zone name → zone ID (e.g. eu-west-2a → euw2-az2) in the client's region.

    As in Prometheus, a failure only leaves ``availability_zone_id`` empty (and it is asked
    again at the next refresh).
    """
    try:
        zones = client.describe_availability_zones()["AvailabilityZones"]
    except (ClientError, BotoCoreError, ResponseParserError):
        return None
    return {z["ZoneName"]: z["ZoneId"] for z in zones if z.get("ZoneName") and z.get("ZoneId")}


def instance_labels(
    instance: Mapping[str, Any], owner_id: str | None, region: str, port: int, zone_ids: Mapping[str, str]
) -> dict[str, str] | None:
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
            labels[META + "tag_" + _INVALID_LABEL_CHARS.sub("_", tag["Key"])] = tag["Value"]
    # Prometheus label sets carry no empty values: an absent field and an empty one are alike.
    return {name: value for name, value in labels.items() if value}


def _vpc_labels(instance: Mapping[str, Any]) -> dict[str, str]:
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
        META + "subnet_id": _joined(subnets),
    }
    if ipv6:
        labels[META + "ipv6_addresses"] = _joined(ipv6)
    if primary_ipv6:
        labels[META + "primary_ipv6_addresses"] = _joined(primary_ipv6)
    return labels


def _joined(values: list[str]) -> str:
    return SEPARATOR + SEPARATOR.join(values) + SEPARATOR


def join_host_port(host: str, port: int) -> str:
    """Go's ``net.JoinHostPort``: IPv6 literals go in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
