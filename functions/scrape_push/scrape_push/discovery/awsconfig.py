"""The keys every AWS discovery shares (``ec2_sd_configs``, ``lightsail_sd_configs``,
``aws_sd_configs``), as Prometheus documents them.

Credentials are the function's own (its execution role), a role assumed from them
(``role_arn``), static keys (``access_key`` with ``secret_key`` or ``secret_key_ssm_parameter``)
or a named profile of the shared AWS configuration (``profile``, for a config file the function
ships and points ``AWS_CONFIG_FILE`` at). ``endpoint`` replaces the discovered service's
endpoint. Prometheus's ``<http_config>`` keys are accepted here, as in Prometheus, but refused
with a reason: the AWS APIs authenticate with SigV4 and botocore makes the calls with its own
HTTP settings (``HTTPS_PROXY``, ``NO_PROXY`` and ``AWS_CA_BUNDLE`` of the function).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields

from ..config.errors import FieldError, raise_all
from ..config.values import parse_duration, parse_http_url
from ..credentials import Secret
from ..httpconfig import HTTPClientConfig, parse_parameter_name, parse_secret

DEFAULT_PORT = 80
DEFAULT_REFRESH_INTERVAL = 60.0
"""Prometheus's defaults for its AWS discoveries (``discovery/aws``)."""

_ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/[\w+=,.@\-/]+$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


@dataclass(frozen=True)
class AWSAccessConfig:
    """Where and as whom an AWS discovery calls its API."""

    region: str | None = field(default=None, metadata={"doc": "default: the function's own region"})
    endpoint: str | None = field(
        default=None, metadata={"parse": parse_http_url, "doc": "the API endpoint (default: AWS's)"}
    )
    access_key: str | None = field(default=None, metadata={"doc": "static credentials (with secret_key)"})
    secret_key: Secret | None = field(default=None, metadata={"parse": parse_secret})
    secret_key_ssm_parameter: str | None = field(
        default=None, metadata={"parse": parse_parameter_name, "doc": "SSM SecureString holding secret_key"}
    )
    profile: str | None = field(default=None, metadata={"doc": "a profile of the function's AWS config file"})
    role_arn: str | None = field(default=None, metadata={"doc": "role to assume (sts:AssumeRole) first"})

    def check_access(self) -> list[FieldError]:
        problems = []
        if self.region is not None and not _REGION.match(self.region):
            problems.append(FieldError(f"not an AWS region: {self.region[:40]!r}", "region"))
        if self.role_arn is not None and not _ROLE_ARN.match(self.role_arn):
            problems.append(
                FieldError("expected an IAM role ARN (arn:aws:iam::<account>:role/<name>)", "role_arn")
            )
        secret = [k for k in ("secret_key", "secret_key_ssm_parameter") if getattr(self, k) is not None]
        if len(secret) > 1:
            problems.append(
                FieldError("set either 'secret_key' or 'secret_key_ssm_parameter', not both", "secret_key")
            )
        if bool(secret) != (self.access_key is not None):
            problems.append(
                FieldError("access_key and secret_key go together", "access_key" if secret else "secret_key")
            )
        return problems

    def access(self) -> AWSAccessConfig:
        """These keys alone (what ``awsaccess.AwsAccess`` is built from)."""
        return AWSAccessConfig(**{f.name: getattr(self, f.name) for f in fields(AWSAccessConfig)})


@dataclass(frozen=True)
class AWSSDBase(AWSAccessConfig):
    """The keys of Prometheus's AWS discoveries: access, port, refresh and its HTTP client keys."""

    refresh_interval: float = field(default=DEFAULT_REFRESH_INTERVAL, metadata={"parse": parse_duration})
    port: int = field(default=DEFAULT_PORT, metadata={"doc": "port of __address__"})
    http: HTTPClientConfig = field(default_factory=HTTPClientConfig, metadata={"inline": True})
    """Accepted as in Prometheus, and refused when set (``check``)."""

    def check(self) -> None:
        raise_all(self.check_sd())

    def check_sd(self) -> list[FieldError]:
        problems = self.check_access()
        if not 1 <= self.port <= 65535:
            problems.append(FieldError("must be between 1 and 65535", "port"))
        if self.refresh_interval <= 0:
            problems.append(FieldError("must be greater than 0", "refresh_interval"))
        problems += [
            FieldError(
                "not supported for AWS discovery: AWS APIs authenticate with SigV4, and botocore makes the "
                "calls with the function's HTTPS_PROXY, NO_PROXY and AWS_CA_BUNDLE",
                key,
            )
            for key in _http_keys_set(self.http)
        ]
        return problems


def _http_keys_set(http: HTTPClientConfig) -> list[str]:
    """The ``<http_config>`` keys whose value is not the default."""
    default = HTTPClientConfig()
    found = [
        f.name
        for f in fields(http)
        if f.name != "proxy" and getattr(http, f.name) != getattr(default, f.name)
    ]
    return found + [
        f.name for f in fields(http.proxy) if getattr(http.proxy, f.name) != getattr(default.proxy, f.name)
    ]
