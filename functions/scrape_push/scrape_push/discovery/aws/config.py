"""``aws_sd_configs[]``: Prometheus's unified AWS discovery (3.8 and later), one ``role`` per
entry: ``ec2`` (as ``ec2_sd_configs``), ``lightsail`` (as ``lightsail_sd_configs``) or ``ecs``."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

from ...config.errors import FieldError, raise_all
from ..awsconfig import AWSSDBase
from ..ec2.config import EC2Filter, EC2SDConfig
from ..lightsail.config import LightsailSDConfig

Role = Literal["ec2", "ecs", "lightsail"]


@dataclass(frozen=True, kw_only=True)
class AWSSDConfig(AWSSDBase):
    """``aws_sd_configs[]``: the shared AWS keys, ``role``, and each role's own keys."""

    role: Role
    filters: tuple[EC2Filter, ...] = ()
    """DescribeInstances filters (role ``ec2`` only)."""
    clusters: tuple[str, ...] = ()
    """ECS cluster ARNs or names (role ``ecs`` only; default: every cluster of the region)."""

    def check(self) -> None:
        problems = self.check_sd()
        if self.filters and self.role != "ec2":
            problems.append(FieldError("filters are for role ec2 only", "filters"))
        if self.clusters and self.role != "ecs":
            problems.append(FieldError("clusters are for role ecs only", "clusters"))
        problems += [
            FieldError("must not be empty", f"clusters[{i}]") for i, c in enumerate(self.clusters) if not c
        ]
        raise_all(problems)

    def as_ec2(self) -> EC2SDConfig:
        return EC2SDConfig(**self._shared(), filters=self.filters)

    def as_lightsail(self) -> LightsailSDConfig:
        return LightsailSDConfig(**self._shared())

    def _shared(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(AWSSDBase)}
