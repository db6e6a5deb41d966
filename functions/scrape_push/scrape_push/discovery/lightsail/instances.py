"""Lightsail discovery: GetInstances pages turned into label sets.

Follows Prometheus's discovery/aws/lightsail.go: one label set per instance that has a private
IP, ``__address__`` = private IP and ``port``, ``__meta_lightsail_*`` labels (a field the API
leaves out leaves its label out, as Prometheus's SDK v2 version does). Unlike Prometheus, which
reads the first page only, every page is read (``nextPageToken``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...deadline import Deadline
from ...plugins import BuildContext
from .. import Discovered, LabelSet
from ..awsaccess import AwsAccess, aws_errors, failure, pages
from ..awsconfig import AWSSDBase
from ..labels import join_host_port, joined, sanitize, without_empty

META = "__meta_lightsail_"


class LightsailDiscoverer:
    """One entry's Lightsail instances (a ``Discoverer``)."""

    def __init__(self, config: AWSSDBase, context: BuildContext, what: str = "lightsail_sd_configs") -> None:
        self.config = config
        self.access = AwsAccess(config.access(), context.aws, context.secrets, what)

    def discover(self, deadline: Deadline) -> Discovered:
        region = self.access.region()
        targets: list[LabelSet] = []

        def get(**page: Any) -> dict[str, Any]:
            answer: dict[str, Any] = self.access.client("lightsail", region, deadline).get_instances(**page)
            return answer

        try:
            for page in pages(get, {}, "pageToken", "nextPageToken"):
                for instance in page.get("instances", ()):
                    labels = instance_labels(instance, region, self.config.port)
                    if labels is not None:
                        targets.append(labels)
        except aws_errors() as exc:
            raise failure(self.access.what, "get instances", region, exc) from None
        return Discovered(targets)


def instance_labels(instance: Mapping[str, Any], region: str, port: int) -> LabelSet | None:
    """The label set of one GetInstances instance, or None without a private IP (skipped)."""
    private_ip = instance.get("privateIpAddress")
    if not private_ip:
        return None
    labels = {
        "__address__": join_host_port(private_ip, port),
        META + "availability_zone": instance.get("location", {}).get("availabilityZone", ""),
        META + "blueprint_id": instance.get("blueprintId", ""),
        META + "bundle_id": instance.get("bundleId", ""),
        META + "instance_name": instance.get("name", ""),
        META + "instance_state": instance.get("state", {}).get("name", ""),
        META + "instance_support_code": instance.get("supportCode", ""),
        META + "private_ip": private_ip,
        META + "public_ip": instance.get("publicIpAddress", ""),
        META + "region": region,
    }
    ipv6 = [address for address in instance.get("ipv6Addresses", ()) if address]
    if ipv6:
        labels[META + "ipv6_addresses"] = joined(ipv6)
    for tag in instance.get("tags", ()):
        if "key" in tag and "value" in tag:
            labels[META + "tag_" + sanitize(tag["key"])] = tag["value"]
    return without_empty(labels)
