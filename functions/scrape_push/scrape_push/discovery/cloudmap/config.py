"""``cloudmap_sd_configs[]``: one AWS Cloud Map discovery's configuration.

Prometheus has no Cloud Map discovery; the keys follow its AWS discoveries' (``region``,
``role_arn``, ``port``, ``refresh_interval``) and Cloud Map's ``DiscoverInstances`` request
(``namespace``, ``service``, ``health_status``, ``query_parameters``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ...config.errors import FieldError, raise_all
from ...config.values import parse_duration
from ..awsconfig import DEFAULT_REFRESH_INTERVAL, AWSAccessConfig

HealthStatus = Literal["ALL", "HEALTHY", "UNHEALTHY", "HEALTHY_OR_ELSE_ALL"]


@dataclass(frozen=True)
class CloudMapSDConfig:
    """``cloudmap_sd_configs[]``: the instances of one Cloud Map namespace (one service, or all)."""

    namespace: str = field(metadata={"doc": "the namespace's name (or its HTTP name)"})
    service: str | None = field(default=None, metadata={"doc": "default: every service of the namespace"})
    region: str | None = field(default=None, metadata={"doc": "default: the function's own region"})
    role_arn: str | None = field(default=None, metadata={"doc": "role to assume (sts:AssumeRole) first"})
    health_status: HealthStatus = field(
        default="ALL", metadata={"doc": "instances to discover by health (DiscoverInstances HealthStatus)"}
    )
    query_parameters: dict[str, str] = field(
        default_factory=dict, metadata={"doc": "only instances with all these attributes (QueryParameters)"}
    )
    port: int | None = field(
        default=None, metadata={"doc": "port of __address__ (default: AWS_INSTANCE_PORT)"}
    )
    refresh_interval: float = field(default=DEFAULT_REFRESH_INTERVAL, metadata={"parse": parse_duration})

    def check(self) -> None:
        problems = AWSAccessConfig(region=self.region, role_arn=self.role_arn).check_access()
        if not self.namespace:
            problems.append(FieldError("must not be empty", "namespace"))
        if self.service == "":
            problems.append(FieldError("must not be empty (leave it out for every service)", "service"))
        if self.port is not None and not 1 <= self.port <= 65535:
            problems.append(FieldError("must be between 1 and 65535", "port"))
        if self.refresh_interval <= 0:
            problems.append(FieldError("must be greater than 0", "refresh_interval"))
        raise_all(problems)
