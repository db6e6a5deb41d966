"""AWS Signature Version 4 for HTTP requests: the ``sigv4`` block, as Prometheus documents it.

Used by Remote Write (Amazon Managed Service for Prometheus: service ``aps``) and by scrapes of
endpoints that want IAM-signed requests (API Gateway ``execute-api``, Lambda function URLs
``lambda``, VPC Lattice ``vpc-lattice-svcs``). Requests are signed by ``signing.sign`` (as
botocore's ``SigV4Auth`` signs them) with the function's credentials (the Lambda execution role,
``aws.AwsClients.keys``), or with those of ``role_arn`` assumed through STS (with
``external_id`` when the role's trust policy asks for one) and refreshed by botocore before they
expire. Each attempt, and each redirect of a scrape,
is signed anew, so no request carries a stale signature.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import requests

from . import aws
from .config.errors import FieldError
from .signing import Keys, sign

if TYPE_CHECKING:
    from botocore.credentials import RefreshableCredentials

ROLE_SESSION_NAME = "scrape-push"
_ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/[\w+=,.@\-/]+$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_SERVICE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/\-]{2,1224}$")
"""STS AssumeRole ``ExternalId``: 2 to 1224 characters of ``[A-Za-z0-9_+=,.@:/-]`` (AWS STS API
reference, AssumeRole)."""
UNSIGNED_PAYLOAD_SERVICES = frozenset({"vpc-lattice-svcs"})
"""Services that take no payload signature: "VPC Lattice does not support payload signing. You
must send an x-amz-content-sha256 header with the value set to UNSIGNED-PAYLOAD" (VPC Lattice
User Guide, SIGv4 authenticated requests)."""
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"


@dataclass(frozen=True)
class SigV4Config:
    """``sigv4``: AWS Signature Version 4."""

    region: str | None = field(default=None, metadata={"doc": "default: the function's region"})
    role_arn: str | None = field(default=None, metadata={"doc": "IAM role to assume before signing"})
    service_name: str | None = field(
        default=None,
        metadata={
            "doc": "service to sign for (remote_write: aps by default; scrapes: required, "
            "e.g. execute-api, lambda, vpc-lattice-svcs)"
        },
    )
    external_id: str | None = field(
        default=None, metadata={"doc": "ExternalId of the AssumeRole call (with role_arn only)"}
    )

    def check(self) -> None:
        if self.external_id is not None:
            if self.role_arn is None:
                raise FieldError("external_id can only be used with role_arn", "external_id")
            if not _EXTERNAL_ID.match(self.external_id):
                raise FieldError("must be 2 to 1224 characters of [A-Za-z0-9_+=,.@:/-]", "external_id")
        if self.region is not None and not _REGION.match(self.region):
            raise FieldError(f"not an AWS region: {self.region!r}", "region")
        if self.role_arn is not None and not _ROLE_ARN.match(self.role_arn):
            raise FieldError("expected an IAM role ARN (arn:aws:iam::<account>:role/<name>)", "role_arn")
        if self.service_name is not None and not _SERVICE.match(self.service_name):
            raise FieldError("expected an AWS service name such as aps or execute-api", "service_name")


class SigV4Error(requests.RequestException):
    """No credentials or region to sign with (the message names what is missing). A request
    exception, so that credentials STS could not give in time fail that attempt like a network
    error would, never the whole sink."""


def assumed_role_credentials(
    role_arn: str, sts: Any, external_id: str | None = None
) -> RefreshableCredentials:
    """Credentials of ``role_arn``, assumed with ``sts`` and refreshed by botocore as they age."""
    from botocore.credentials import RefreshableCredentials  # noqa: PLC0415 (sts made with boto3 imports it)

    extra = {"ExternalId": external_id} if external_id is not None else {}

    def refresh() -> dict[str, str]:
        found = sts.assume_role(RoleArn=role_arn, RoleSessionName=ROLE_SESSION_NAME, **extra)["Credentials"]
        return {
            "access_key": found["AccessKeyId"],
            "secret_key": found["SecretAccessKey"],
            "token": found["SessionToken"],
            "expiry_time": found["Expiration"].isoformat(),
        }

    return RefreshableCredentials.create_from_metadata(refresh(), refresh, "sts-assume-role")


class SigV4RequestAuth(requests.auth.AuthBase):
    """A ``requests`` auth hook that signs the prepared request with SigV4 for ``service``."""

    def __init__(
        self,
        region: str,
        service: str,
        credentials: Callable[[], Keys],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.region = region
        self.service = service
        self._credentials = credentials
        self._clock = clock

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        try:
            keys = self._credentials()
        except aws.call_errors() as exc:  # none found, or STS assuming or refreshing the role
            raise SigV4Error(f"sigv4: no credentials: {aws.describe_error(exc)}") from None
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        if self.service in UNSIGNED_PAYLOAD_SERVICES:
            request.headers["X-Amz-Content-SHA256"] = UNSIGNED_PAYLOAD
        # Sign exactly what will be sent: method, URL, body and every header already set.
        request.headers.update(
            sign(
                request.method or "GET",
                request.url or "",
                request.headers,
                body,
                keys=keys,
                region=self.region,
                service=self.service,
                now=self._clock(),
            )
        )
        return request


def sigv4_auth(config: SigV4Config, clients: aws.AwsClients, default_service: str) -> SigV4RequestAuth:
    """The auth hook for a ``sigv4`` block: region from the block or the function's region,
    service from the block or ``default_service``, credentials of the function (``clients``'
    session) or of the role it assumes."""
    try:
        region = config.region or clients.region()
    except aws.call_errors():
        raise SigV4Error("sigv4: no region configured and none in the environment (AWS_REGION)") from None
    service = config.service_name or default_service
    if config.role_arn is not None:
        role_arn, external_id = config.role_arn, config.external_id
        assumed: list[RefreshableCredentials] = []

        def credentials() -> Keys:
            if not assumed:
                sts = clients.per_call("sts", region)
                assumed.append(assumed_role_credentials(role_arn, sts, external_id))
            return aws.keys_of(assumed[0])

        return SigV4RequestAuth(region, service, credentials)
    return SigV4RequestAuth(region, service, clients.keys)
