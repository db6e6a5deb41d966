"""``otlp[]``: one OTLP/HTTP metrics receiver, decoded by the project's config decoder.

Either ``endpoint`` (the full URL, e.g. ``https://collector:4318/v1/metrics``) with the
receiver's authentication, or ``cloudwatch`` (CloudWatch's OTLP endpoint: the URL from the
Region, SigV4 for service ``monitoring``, and the limits AWS documents for that endpoint).
Secrets (``basic_auth.password``, ``authorization.credentials``) may be inline or named SSM
SecureString parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import urlsplit

from ...backlog.config import BacklogConfig
from ...config.errors import FieldError
from ...config.values import parse_duration, parse_size
from ...httpconfig import AuthorizationConfig, BasicAuthConfig, TLSConfig, check_headers, parse_sink_url
from ...sigv4 import SigV4Config
from .limits import (
    CLOUDWATCH_ENDPOINT,
    CLOUDWATCH_MAX_DATA_POINTS,
    CLOUDWATCH_MAX_REQUEST_BYTES,
    CLOUDWATCH_SERVICE,
    DEFAULT_MAX_AGE,
    DEFAULT_MAX_BACKOFF,
    DEFAULT_MAX_DATA_POINTS,
    DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_MIN_BACKOFF,
    DEFAULT_TIMEOUT,
)

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


@dataclass(frozen=True)
class CloudWatchOTLP:
    """``cloudwatch``: CloudWatch's OTLP metrics endpoint, signed with SigV4 for ``monitoring``."""

    region: str | None = field(default=None, metadata={"doc": "default: the function's region"})
    role_arn: str | None = field(default=None, metadata={"doc": "IAM role to assume before signing"})

    def check(self) -> None:
        if self.region is not None and not _REGION.match(self.region):
            raise FieldError(f"not an AWS region: {self.region!r}", "region")
        SigV4Config(role_arn=self.role_arn).check()

    @property
    def sigv4(self) -> SigV4Config:
        return SigV4Config(region=self.region, role_arn=self.role_arn, service_name=CLOUDWATCH_SERVICE)

    def endpoint(self, default_region: str | None) -> str | None:
        """The Region's metrics endpoint (``None``: no Region configured or in the environment)."""
        region = self.region or default_region
        return CLOUDWATCH_ENDPOINT.format(region=region) if region else None


@dataclass(frozen=True)
class OTLPConfig:
    """``otlp[]``: one OTLP/HTTP metrics receiver (protobuf bodies, cumulative temporality)."""

    endpoint: str | None = field(
        default=None,
        metadata={
            "parse": parse_sink_url,
            "doc": "the full URL, e.g. https://collector:4318/v1/metrics (with cloudwatch: "
            "https://monitoring.<region>.amazonaws.com/v1/metrics unless set)",
        },
    )
    cloudwatch: CloudWatchOTLP | None = field(
        default=None,
        metadata={"doc": "CloudWatch's OTLP endpoint: URL, SigV4 and limits from the Region"},
    )
    name: str = field(
        default="", metadata={"derived": "cloudwatch[-<region>], else the endpoint's host and path"}
    )
    timeout: float = field(default=DEFAULT_TIMEOUT, metadata={"parse": parse_duration})
    compression: Literal["gzip", "none"] = "gzip"
    headers: dict[str, str] = field(default_factory=dict)
    basic_auth: BasicAuthConfig | None = None
    authorization: AuthorizationConfig | None = None
    sigv4: SigV4Config | None = field(
        default=None, metadata={"doc": "AWS Signature Version 4 (service_name defaults to monitoring)"}
    )
    tls_config: TLSConfig = field(default_factory=TLSConfig)
    max_data_points_per_request: int | None = field(
        default=None,
        metadata={
            "derived": f"{DEFAULT_MAX_DATA_POINTS} (at most {CLOUDWATCH_MAX_DATA_POINTS} with cloudwatch)"
        },
    )
    max_request_size: int | None = field(
        default=None,
        metadata={
            "parse": parse_size,
            "doc": "uncompressed bytes per request",
            "derived": f"4MB ({CLOUDWATCH_MAX_REQUEST_BYTES:,} bytes with cloudwatch, its limit)",
        },
    )
    min_backoff: float = field(default=DEFAULT_MIN_BACKOFF, metadata={"parse": parse_duration})
    max_backoff: float = field(default=DEFAULT_MAX_BACKOFF, metadata={"parse": parse_duration})
    backlog: BacklogConfig = field(
        default_factory=BacklogConfig, metadata={"doc": "what is kept when the sink cannot be reached"}
    )
    staleness: Literal["flag", "drop"] | None = field(
        default=None,
        metadata={
            "doc": "staleness markers as NO_RECORDED_VALUE points (flag) or left out, counted (drop)",
            "derived": "drop with cloudwatch (AWS documents nothing of the flag), else flag",
        },
    )

    @property
    def display_name(self) -> str:
        """``name``; else ``cloudwatch`` (with the Region when given) for the preset, or the
        endpoint's host and path (never credentials: the URL holds none)."""
        if self.name:
            return self.name
        if self.cloudwatch is not None:
            region = self.cloudwatch.region
            return f"cloudwatch-{region}" if region else "cloudwatch"
        parts = urlsplit(self.endpoint or "")
        return f"{parts.netloc}{parts.path}"

    def resolve(self) -> OTLPConfig:
        """The name, the request limits and the backlog's window."""
        cloudwatch = self.cloudwatch is not None
        return replace(
            self,
            name=self.display_name,
            max_data_points_per_request=self.max_data_points_per_request or DEFAULT_MAX_DATA_POINTS,
            max_request_size=self.max_request_size
            or (CLOUDWATCH_MAX_REQUEST_BYTES if cloudwatch else DEFAULT_MAX_REQUEST_BYTES),
            backlog=self.backlog.with_max_age(DEFAULT_MAX_AGE),
            staleness=self.staleness or ("drop" if cloudwatch else "flag"),
        )

    def check(self) -> None:
        self._check_destination()
        if self.timeout <= 0:
            raise FieldError("must be greater than 0", "timeout")
        if self.min_backoff <= 0 or self.min_backoff > self.max_backoff:
            raise FieldError("must be greater than 0 and not greater than max_backoff", "min_backoff")
        check_headers(self.headers)
        points = self.max_data_points_per_request
        ceiling = CLOUDWATCH_MAX_DATA_POINTS if self.cloudwatch is not None else None
        if points is not None and (points < 1 or (ceiling is not None and points > ceiling)):
            upto = f" and at most {ceiling}, CloudWatch's limit" if ceiling else ""
            raise FieldError(f"must be at least 1{upto}", "max_data_points_per_request")
        size = self.max_request_size
        if size is not None and self.cloudwatch is not None and size > CLOUDWATCH_MAX_REQUEST_BYTES:
            raise FieldError(
                f"must be at most {CLOUDWATCH_MAX_REQUEST_BYTES:,} bytes, CloudWatch's limit",
                "max_request_size",
            )
        if size is not None and size < 1024:
            raise FieldError("must be at least 1KB", "max_request_size")

    def _check_destination(self) -> None:
        if self.cloudwatch is None:
            if self.endpoint is None:
                raise FieldError("set 'endpoint' (the receiver's full URL) or 'cloudwatch'", "endpoint")
            given = [k for k in ("basic_auth", "authorization", "sigv4") if getattr(self, k) is not None]
            if len(given) > 1:
                raise FieldError(
                    f"at most one of basic_auth, authorization and sigv4 may be set, got {given}"
                )
            return
        clash = [k for k in ("basic_auth", "authorization", "sigv4") if getattr(self, k) is not None]
        if clash:
            why = "cloudwatch signs with SigV4 itself (region and role_arn go under cloudwatch)"
            raise FieldError(f"{why}; remove {clash[0]}", clash[0])
