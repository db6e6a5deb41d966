"""``ec2_sd_configs[]``: one EC2 discovery's configuration, in Prometheus's format."""

from __future__ import annotations

from dataclasses import dataclass

from ...config.errors import FieldError, raise_all
from ..awsconfig import AWSSDBase


@dataclass(frozen=True)
class EC2Filter:
    """``filters[]``: a DescribeInstances filter, passed through as is."""

    name: str
    values: tuple[str, ...] = ()

    def check(self) -> None:
        if not self.values:
            raise FieldError("EC2 SD configuration filter values cannot be empty", "values")


@dataclass(frozen=True)
class EC2SDConfig(AWSSDBase):
    """``ec2_sd_configs[]``, in Prometheus's format."""

    filters: tuple[EC2Filter, ...] = ()

    def check(self) -> None:
        raise_all(self.check_sd())
