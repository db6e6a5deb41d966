"""The AWS calls of one AWS discovery entry: its region, its credentials, the role it assumes
and its endpoint, every call bounded by the refresh's deadline (``aws.AwsClients``)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from .. import aws
from ..credentials import SecretResolver
from ..deadline import Deadline
from . import DiscoveryError
from .awsconfig import AWSAccessConfig


def aws_errors() -> tuple[type[Exception], ...]:
    """What a failed AWS call raises (a missing permission, throttling, an unreachable endpoint, an
    answer botocore cannot read, too little time left); imported when needed, as ``aws`` says."""
    from botocore.parsers import ResponseParserError  # noqa: PLC0415 (see aws's docstring)

    return (*aws.call_errors(), ResponseParserError)


class AwsAccess:
    """Clients for one entry's AWS calls (kept warm with its discoverer)."""

    def __init__(
        self, config: AWSAccessConfig, clients: aws.AwsClients, secrets: SecretResolver, what: str
    ) -> None:
        self.config = config
        self.what = what
        """The entry's key, in messages (``ec2_sd_configs``, ``aws_sd_configs (ecs)``)."""
        self._function = clients
        self._secrets = secrets
        self._lock = threading.Lock()
        self._own: tuple[str, aws.AwsClients] | None = None
        """Clients of the entry's own credentials, with the digest of the secret they hold."""

    def clients(self) -> aws.AwsClients:
        """The clients acting with the entry's credentials (the function's unless it has keys or a
        profile; a rotated secret key read from SSM makes new ones)."""
        config = self.config
        if config.access_key is None and config.profile is None:
            return self._function
        secret = self._secrets.resolve(config.secret_key, config.secret_key_ssm_parameter)
        revealed = secret.reveal() if secret is not None else None
        digest = hashlib.sha256((revealed or "").encode()).hexdigest()
        with self._lock:
            if self._own is None or self._own[0] != digest:
                made = self._function.with_credentials(config.access_key, revealed, config.profile)
                self._own = (digest, made)
            return self._own[1]

    def region(self) -> str:
        """The configured region, else that of the credentials' session (the function's own)."""
        try:
            region = self.config.region or self.clients().session().region_name
        except aws_errors() as exc:  # a profile that does not exist
            raise DiscoveryError(f"{self.what}: {aws.describe_error(exc)}") from None
        if not region:
            raise DiscoveryError(
                f"{self.what}: no region configured and none in the function's environment (AWS_REGION)"
            )
        return region

    def client(self, service: str, region: str, deadline: Deadline, *, own_endpoint: bool = True) -> Any:
        """A client for ``service`` for a call made now, bounded by ``deadline`` (get one right
        before each call); ``own_endpoint``: the entry's ``endpoint`` is this service's."""
        endpoint = self.config.endpoint if own_endpoint else None
        clients = self.clients()
        if self.config.role_arn is not None:
            return clients.assumed_client(
                service, region, self.config.role_arn, deadline=deadline, endpoint=endpoint
            )
        return clients.client(service, region, deadline=deadline, endpoint=endpoint)


def failure(what: str, doing: str, region: str, exc: Exception) -> DiscoveryError:
    """The error of a failed call: the entry, what it was doing, the region and AWS's code and
    message (which carry no credentials)."""
    return DiscoveryError(f"{what}: could not {doing} in {region}: {aws.describe_error(exc)}")


def pages(
    call: Callable[..., dict[str, Any]], request: dict[str, Any], token: str, answered: str | None = None
) -> Iterator[dict[str, Any]]:
    """Every page of a paginated call: ``call(**request)``, then again with the token of the
    page before (``token`` in the request, ``answered`` in the answer, if named otherwise),
    until a page has none. A token answered twice fails the refresh: an endpoint that answers
    the same page forever must not keep it going."""
    request = dict(request)
    seen: set[str] = set()
    while True:
        page = call(**request)
        yield page
        found = page.get(answered or token)
        if not found:
            return
        if found in seen:
            raise DiscoveryError(f"the API answered the page token {str(found)[:40]!r} twice")
        seen.add(found)
        request[token] = found
