"""``ec2_sd_configs[]``: one EC2 discovery's configuration, in Prometheus's format."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...config.errors import FieldError
from ...config.values import parse_duration

DEFAULT_PORT = 80
DEFAULT_REFRESH_INTERVAL = 60.0


def _own_credentials_only(key: str, hint: str) -> Any:
    def reject(raw: object) -> None:
        raise FieldError(f"'{key}' is not supported: discovery uses the function's own credentials{hint}")

    return field(default=None, metadata={"parse": reject, "doc": f"not supported ({key})"})


@dataclass(frozen=True)
class EC2Filter:
    """``filters[]``: a DescribeInstances filter, passed through as is."""

    name: str
    values: tuple[str, ...] = ()

    def check(self) -> None:
        if not self.values:
            raise FieldError("EC2 SD configuration filter values cannot be empty", "values")


@dataclass(frozen=True)
class EC2SDConfig:
    """``ec2_sd_configs[]``, in Prometheus's format."""

    region: str | None = field(default=None, metadata={"doc": "default: the function's own region"})
    port: int = field(default=DEFAULT_PORT, metadata={"doc": "port of __address__"})
    filters: tuple[EC2Filter, ...] = ()
    refresh_interval: float = field(
        default=DEFAULT_REFRESH_INTERVAL,
        metadata={"parse": parse_duration, "doc": "accepted for compatibility; discovery runs every cycle"},
    )
    role_arn: str | None = field(default=None, metadata={"doc": "role to assume (sts:AssumeRole) first"})
    endpoint: None = _own_credentials_only("endpoint", "; set AWS_ENDPOINT_URL_EC2 to change the endpoint")
    access_key: None = _own_credentials_only("access_key", " (or role_arn)")
    secret_key: None = _own_credentials_only("secret_key", " (or role_arn)")
    profile: None = _own_credentials_only("profile", " (or role_arn)")

    def check(self) -> None:
        if not 1 <= self.port <= 65535:
            raise FieldError("must be between 1 and 65535", "port")
