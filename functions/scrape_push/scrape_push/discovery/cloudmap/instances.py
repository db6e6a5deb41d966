"""Cloud Map discovery: ``DiscoverInstances`` answers turned into label sets.

The namespace is found by its name (or, failing that, its HTTP name) with ``ListNamespaces``:
``DiscoverInstances`` wants the namespace's HTTP name, which differs from its name when a name
was reused. Without ``service``, every service of the namespace is discovered
(``ListServices``, filtered by the namespace's ID). An instance's address is its
``AWS_INSTANCE_IPV4`` (else ``AWS_INSTANCE_IPV6``) and ``AWS_INSTANCE_PORT`` (unless ``port``
is set); an instance with neither IP is skipped, as Prometheus's AWS discoveries skip instances
without a private IP. Every attribute is a ``__meta_cloudmap_attribute_<name>`` label, the name
sanitised as Prometheus sanitises tag names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ... import aws
from ...deadline import Deadline
from ...plugins import BuildContext
from .. import Discovered, DiscoveryError, LabelSet
from ..awsaccess import AwsAccess, aws_errors, failure, pages
from ..awsconfig import AWSAccessConfig
from ..labels import join_host_port, sanitize, without_empty
from .config import CloudMapSDConfig

META = "__meta_cloudmap_"
DISCOVER_MAX_RESULTS = 1000
"""The most instances one ``DiscoverInstances`` call returns; it has no pagination (Cloud Map
API reference, DiscoverInstances ``MaxResults``: 1 to 1000)."""
WHAT = "cloudmap_sd_configs"


class CloudMapDiscoverer:
    """One entry's instances (a ``Discoverer``); it keeps the namespace it resolved."""

    def __init__(self, config: CloudMapSDConfig, context: BuildContext) -> None:
        self.config = config
        access = AWSAccessConfig(region=config.region, role_arn=config.role_arn)
        self.access = AwsAccess(access, context.aws, context.secrets, WHAT)
        self._namespace: tuple[str, str] | None = None
        """The namespace's ID and HTTP name, once found (looked up again if it disappears)."""

    def discover(self, deadline: Deadline) -> Discovered:
        region = self.access.region()
        try:
            namespace_id, http_name = self._resolve(region, deadline)
            services = (
                [self.config.service]
                if self.config.service
                else self._services(namespace_id, region, deadline)
            )
            targets: list[LabelSet] = []
            problems: list[str] = []
            for service in services:
                instances = self._instances(http_name, service, region, deadline)
                if instances is None:
                    continue  # gone since it was listed
                if len(instances) >= DISCOVER_MAX_RESULTS:
                    problems.append(
                        f"{WHAT}: service {service!r} answered the most instances one call returns "
                        f"({DISCOVER_MAX_RESULTS}); it may have more (narrow it with query_parameters)"
                    )
                for instance in instances:
                    labels = instance_labels(instance, self.config.namespace, service, self.config.port)
                    if labels is not None:
                        targets.append(labels)
            return Discovered(targets, problems)
        except aws_errors() as exc:
            raise failure(
                WHAT, f"discover the instances of namespace {self.config.namespace!r}", region, exc
            ) from None

    def _resolve(self, region: str, deadline: Deadline) -> tuple[str, str]:
        """The namespace's ID and HTTP name: by name first, by HTTP name if no name matches."""
        if self._namespace is not None:
            return self._namespace
        wanted = self.config.namespace
        found = [
            n
            for n in self._pages(
                "list_namespaces",
                "Namespaces",
                region,
                deadline,
                Filters=[{"Name": "NAME", "Values": [wanted], "Condition": "EQ"}],
            )
            if n.get("Name") == wanted
        ]
        if not found:
            found = [
                n
                for n in self._pages("list_namespaces", "Namespaces", region, deadline)
                if _http_name(n) == wanted
            ]
        if not found:
            raise DiscoveryError(f"{WHAT}: no namespace named {wanted!r} in {region}")
        self._namespace = (found[0]["Id"], _http_name(found[0]) or wanted)
        return self._namespace

    def _services(self, namespace_id: str, region: str, deadline: Deadline) -> list[str]:
        """The names of the namespace's services."""
        filters = [{"Name": "NAMESPACE_ID", "Values": [namespace_id], "Condition": "EQ"}]
        return [
            s["Name"]
            for s in self._pages("list_services", "Services", region, deadline, Filters=filters)
            if s.get("Name")
        ]

    def _instances(
        self, http_name: str, service: str, region: str, deadline: Deadline
    ) -> list[dict[str, Any]] | None:
        """The service's instances; ``None`` when the service is not (or no longer) there."""
        request: dict[str, Any] = {
            "NamespaceName": http_name,
            "ServiceName": service,
            "MaxResults": DISCOVER_MAX_RESULTS,
            "HealthStatus": self.config.health_status,
        }
        if self.config.query_parameters:
            request["QueryParameters"] = dict(self.config.query_parameters)
        try:
            answer = self.access.client("servicediscovery", region, deadline).discover_instances(**request)
        except aws.answer_errors() as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "NamespaceNotFound":
                self._namespace = None  # recreated perhaps: resolved again at the next refresh
            if code == "ServiceNotFound" and self.config.service is None:
                return None
            raise
        return list(answer.get("Instances", ()))

    def _pages(
        self, operation: str, key: str, region: str, deadline: Deadline, **request: Any
    ) -> list[dict[str, Any]]:
        def call(**page: Any) -> dict[str, Any]:
            client = self.access.client("servicediscovery", region, deadline)
            answer: dict[str, Any] = getattr(client, operation)(**page)
            return answer

        return [item for page in pages(call, request, "NextToken") for item in page.get(key, ())]


def _http_name(namespace: Mapping[str, Any]) -> str | None:
    name = namespace.get("Properties", {}).get("HttpProperties", {}).get("HttpName")
    return name if isinstance(name, str) else None


def instance_labels(
    instance: Mapping[str, Any], namespace: str, service: str, port: int | None
) -> LabelSet | None:
    """The label set of one discovered instance, or None without an IP (skipped)."""
    attributes: Mapping[str, str] = instance.get("Attributes", {})
    ip = attributes.get("AWS_INSTANCE_IPV4") or attributes.get("AWS_INSTANCE_IPV6")
    if not ip:
        return None
    given = str(port) if port is not None else attributes.get("AWS_INSTANCE_PORT")
    address = (
        join_host_port(ip, int(given)) if given and given.isdigit() else (f"[{ip}]" if ":" in ip else ip)
    )
    labels = {
        "__address__": address,
        META + "namespace": namespace,
        META + "service": service,
        META + "instance_id": instance.get("InstanceId", ""),
        META + "health_status": instance.get("HealthStatus", ""),
    }
    for name, value in attributes.items():
        labels[META + "attribute_" + sanitize(name)] = value
    return without_empty(labels)
