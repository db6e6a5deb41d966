"""boto3 clients kept across warm invocations (``AwsClients``), each call bounded by the time it has.

Endpoints are never hard-coded: botocore itself honours ``AWS_ENDPOINT_URL`` and
``AWS_ENDPOINT_URL_<SERVICE>`` (e.g. ``AWS_ENDPOINT_URL_CLOUDWATCH``), which is how the tests
and the local demo reach the moto emulator.

A call made with a deadline (its own, or the invocation's set by ``calls_within``) gets a client
whose timeouts fit the time left: the largest of ``BUDGETS_SECONDS`` that fits. An attempt is
given half that budget (all of a small one), and a retry is made only if its backoff and a whole
attempt still fit, so a call never outlasts its budget whatever the endpoint does (but for one
that trickles its answer a byte at a time: botocore's read timeout bounds each read, not the
whole answer). Clients are cached per service, region and budget: making one costs tens of
milliseconds, so budgets are few.

boto3 and botocore are imported when a client is first made, not before: a cold start that
reads its configuration with ``ssm.ParameterStore`` and pushes to a sink that makes no boto3
call never imports them. So modules that handle a failed call name botocore's exception classes
through ``call_errors``, ``answer_errors`` and ``unanswered_errors``, evaluated in their
``except`` clauses (only when an exception is raised).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from . import awsenv
from .deadline import Deadline
from .signing import Keys

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config as BotoConfig
    from botocore.credentials import Credentials
    from botocore.exceptions import BotoCoreError, ClientError

CONNECT_TIMEOUT_SECONDS = 3.0
READ_TIMEOUT_SECONDS = 10.0
MAX_ATTEMPTS = 3
"""Attempts per call in all, the first included (botocore's ``total_max_attempts``)."""

BUDGETS_SECONDS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
"""The time a call with a deadline may take: the largest of these that fits the time left. With
less than the first left, the call is not made (``OutOfTime``)."""

RETRY_ROOM_SECONDS = 2.0
"""From this budget up an attempt takes half of it, leaving room for a retry; below, it takes
all of it (a retry could not fit anyway)."""

CONNECT_SHARE = 0.25
"""Of an attempt's time, the part given to connecting (the rest waits for the answer)."""

MAX_BACKOFF_SECONDS = 20.0
RETRY_AFTER_EXTRA_SECONDS = 5.0
"""botocore's standard retry mode waits up to ``min(2**(attempt-1), 20)`` seconds before a retry,
and up to 5 s more when the answer carries ``x-amz-retry-after`` (botocore/retries/standard.py,
``ExponentialBackoff``)."""

_UNTIL = "scrape_push_until"
"""Key in botocore's per-call context: the monotonic time by which the call must be over."""


@dataclass
class _AssumedRole:
    """Temporary credentials of a role, and the clients made with them (by service and budget)."""

    renew_at: float
    session: boto3.session.Session
    clients: dict[tuple[str, float | None, str | None], Any]


ASSUMED_ROLE_SECONDS = 3600
ASSUMED_ROLE_MARGIN_SECONDS = 300
"""Renew an assumed role's credentials this long before they expire."""


class OutOfTime(Exception):
    """Too little time is left to make an AWS call at all (one of ``unanswered_errors``, so
    every caller that handles a failed call handles this one too)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"not attempted: {seconds:.1f}s left before the deadline")


def answer_errors() -> type[ClientError]:
    """botocore's ``ClientError``: an AWS service answered with an error (its code and message)."""
    from botocore.exceptions import ClientError  # noqa: PLC0415 (see the module docstring)

    return ClientError


def unanswered_errors() -> tuple[type[BotoCoreError], type[OutOfTime]]:
    """A call that got no answer: botocore's ``BotoCoreError`` (no connection, a timeout, no
    credentials ...) or ``OutOfTime``."""
    from botocore.exceptions import BotoCoreError  # noqa: PLC0415 (see the module docstring)

    return (BotoCoreError, OutOfTime)


def call_errors() -> tuple[type[ClientError], type[BotoCoreError], type[OutOfTime]]:
    """Every failure of a boto3 call: ``answer_errors`` and ``unanswered_errors``."""
    return (answer_errors(), *unanswered_errors())


@dataclass(frozen=True)
class CallBounds:
    """Timeouts of one call's attempts, and the time the whole call may take (``None``: no
    deadline, botocore's own retries)."""

    budget: float | None
    connect_timeout: float = CONNECT_TIMEOUT_SECONDS
    read_timeout: float = READ_TIMEOUT_SECONDS

    @property
    def attempt_seconds(self) -> float:
        return self.connect_timeout + self.read_timeout


def bounds_for(budget: float | None) -> CallBounds:
    """The timeouts of a call that may take ``budget`` seconds: an attempt takes half of it (all
    of a small one), never more than the unbounded defaults."""
    if budget is None:
        return CallBounds(None)
    share = budget / 2 if budget >= RETRY_ROOM_SECONDS else budget
    attempt = min(CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS, share)
    connect = min(CONNECT_TIMEOUT_SECONDS, attempt * CONNECT_SHARE)
    return CallBounds(budget, connect, attempt - connect)


def _fitting(left: float) -> float:
    """The budget of a call with ``left`` seconds before its deadline (``OutOfTime`` if none fits)."""
    fitting = [budget for budget in BUDGETS_SECONDS if budget <= left]
    if not fitting:
        raise OutOfTime(seconds=left)
    return fitting[-1]


def _config(bounds: CallBounds) -> BotoConfig:
    from botocore.config import Config as BotoConfig  # noqa: PLC0415 (see the module docstring)

    return BotoConfig(
        connect_timeout=bounds.connect_timeout,
        read_timeout=bounds.read_timeout,
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        max_pool_connections=32,
        user_agent_extra="scrape-push",
    )


def _start_call(budget: float, context: dict[str, Any], **_: Any) -> None:
    context[_UNTIL] = time.monotonic() + budget


def _veto_retry(
    attempt_seconds: float, attempts: int, request_dict: dict[str, Any], response: Any = None, **_: Any
) -> bool | None:
    """``False`` (no retry) unless the longest backoff botocore may wait and a whole attempt
    still fit the call's budget; ``None`` leaves the decision to botocore's retry handler."""
    until = request_dict.get("context", {}).get(_UNTIL)
    if until is None:
        return None
    backoff = min(2.0 ** (attempts - 1), MAX_BACKOFF_SECONDS)
    if response is not None and "x-amz-retry-after" in response[0].headers:
        backoff += RETRY_AFTER_EXTRA_SECONDS
    return None if time.monotonic() + backoff + attempt_seconds <= until else False


def _make(
    made_by: boto3.session.Session, service: str, region: str | None, bounds: CallBounds, endpoint: str | None
) -> Any:
    made = made_by.client(  # type: ignore[call-overload]
        service, region_name=region, endpoint_url=endpoint, config=_config(bounds)
    )
    if bounds.budget is not None:
        events = made.meta.events
        events.register("before-call", partial(_start_call, bounds.budget))
        service_id = made.meta.service_model.service_id.hyphenize()
        events.register_first(f"needs-retry.{service_id}", partial(_veto_retry, bounds.attempt_seconds))
    return made


ClientFor = Callable[[Deadline], Any]
"""Gives the client to use for a call made now under a deadline (``bounded``; tests pass a
stand-in)."""


class AwsClients:
    """The process's boto3 session and clients, kept across warm invocations, and the deadline of
    the invocation running now (``calls_within``). Owned by the runtime (``runtime.Runtime``)."""

    def __init__(
        self,
        new_session: Callable[[], boto3.session.Session] | None = None,
        scoped_by: AwsClients | None = None,
    ) -> None:
        self._lock = threading.RLock()
        """Held while a client is made, so threads that need the same one at once make it once."""
        self._new_session = new_session
        """``None``: the function's own, whose credentials and region the environment may give."""
        self._scoped_by = scoped_by
        self._session: boto3.session.Session | None = None
        self._clients: dict[tuple[str, str | None, float | None, str | None], Any] = {}
        self._assumed: dict[tuple[str | None, str], _AssumedRole] = {}
        self._scope: Deadline | None = None
        """The running invocation's deadline: Lambda runs one invocation per process at a time,
        and the cycle's threads must see it, so it is the runtime's rather than a thread's."""

    def with_credentials(
        self, access_key: str | None, secret_key: str | None, profile: str | None
    ) -> AwsClients:
        """Clients acting with other credentials than the function's: static keys, or a named
        profile of the shared configuration (``AWS_CONFIG_FILE``), bounded by this one's
        invocation deadline. The caller keeps them (each makes its own session and clients)."""

        def new_session() -> boto3.session.Session:  # a closure: no repr shows the secret key
            import boto3  # noqa: PLC0415 (see the module docstring)

            return boto3.session.Session(
                aws_access_key_id=access_key, aws_secret_access_key=secret_key, profile_name=profile
            )

        return AwsClients(new_session, self._scoped_by or self)

    def session(self) -> boto3.session.Session:
        """The boto3 session (created on first use, reused while warm)."""
        with self._lock:
            if self._session is None:
                if self._new_session is None:
                    import boto3  # noqa: PLC0415 (see the module docstring)

                    self._session = boto3.session.Session()
                else:
                    self._session = self._new_session()
            return self._session

    def keys(self) -> Keys:
        """The credentials to sign a request with: the function's own from the environment (what
        the Lambda runtime sets), else the session's (botocore's credential chain: profiles,
        SSO, container credentials ...; ``NoCredentialsError`` without any)."""
        found = awsenv.environment_keys() if self._new_session is None else None
        if found is not None:
            return found
        credentials = self.session().get_credentials()
        if credentials is None:
            from botocore.exceptions import NoCredentialsError  # noqa: PLC0415 (see the module docstring)

            raise NoCredentialsError
        return keys_of(credentials)

    def region(self) -> str:
        """The region of calls that name none: the environment's, else the session's (a
        profile's; ``NoRegionError`` without one)."""
        found = awsenv.environment_region() if self._new_session is None else None
        found = found or self.session().region_name
        if not found:
            from botocore.exceptions import NoRegionError  # noqa: PLC0415 (see the module docstring)

            raise NoRegionError
        return found

    def endpoint(self, service_id: str, service: str, region: str) -> str:
        """Where calls to a service go: the endpoint the environment configures for it
        (``AWS_ENDPOINT_URL_<SERVICE>``, ``AWS_ENDPOINT_URL``), else its regional endpoint,
        else (FIPS, dual stack, other partitions) the one botocore resolves."""
        found = awsenv.configured_endpoint(service_id) or awsenv.regional_endpoint(service, region)
        if found is None:
            found = str(self.client(service, region).meta.endpoint_url)
        return found

    @property
    def scope(self) -> Deadline | None:
        """The running invocation's deadline (``calls_within``), if one is set."""
        return self._scoped_by.scope if self._scoped_by is not None else self._scope

    @contextmanager
    def calls_within(self, deadline: Deadline) -> Iterator[None]:
        """Bound every AWS call made meanwhile by ``deadline`` (the invocation's), including calls
        made without a deadline of their own (configuration, secrets, discovery)."""
        previous, self._scope = self._scope, deadline
        try:
            yield
        finally:
            self._scope = previous

    def budget_for(self, deadline: Deadline | None) -> float | None:
        """The budget of a call made now under ``deadline`` and the invocation's (``None``: none)."""
        limits = [d for d in (deadline, self.scope) if d is not None]
        if not limits:
            return None
        return _fitting(min(d.remaining() for d in limits))

    def client(
        self,
        service: str,
        region: str | None = None,
        *,
        deadline: Deadline | None = None,
        endpoint: str | None = None,
    ) -> Any:
        """A cached client for ``service`` (at ``endpoint`` if given, else where botocore resolves
        it) whose calls fit the time left before ``deadline`` and the invocation's (``OutOfTime``
        if too little is left). Get it right before the call."""
        budget = self.budget_for(deadline)
        key = (service, region, budget, endpoint)
        with self._lock:
            found = self._clients.get(key)
            if found is None:
                found = self._clients[key] = _make(
                    self.session(), service, region, bounds_for(budget), endpoint
                )
            return found

    def bounded(self, service: str, region: str | None = None) -> ClientFor:
        """Clients of ``service`` for calls made at different times, each fitting its deadline."""
        return lambda deadline: self.client(service, region, deadline=deadline)

    def per_call(self, service: str, region: str | None = None) -> Any:
        """A client for holders that keep one: every call is bounded by the time left when made."""
        return _PerCall(self, service, region)

    def assumed_client(
        self,
        service: str,
        region: str | None,
        role_arn: str,
        *,
        deadline: Deadline | None = None,
        endpoint: str | None = None,
    ) -> Any:
        """A client for ``service`` acting as ``role_arn`` (STS AssumeRole with this object's
        credentials, renewed shortly before they expire), bounded like ``client``."""
        budget = self.budget_for(deadline)
        with self._lock:
            role = self._assumed.get((region, role_arn))
        if role is None or time.monotonic() >= role.renew_at:
            role = self._assume(region, role_arn, deadline)
        with self._lock:
            found = role.clients.get((service, budget, endpoint))
            if found is None:
                found = role.clients[(service, budget, endpoint)] = _make(
                    role.session, service, region, bounds_for(budget), endpoint
                )
            return found

    def _assume(self, region: str | None, role_arn: str, deadline: Deadline | None) -> _AssumedRole:
        response = self.client("sts", region, deadline=deadline).assume_role(
            RoleArn=role_arn, RoleSessionName="scrape-push", DurationSeconds=ASSUMED_ROLE_SECONDS
        )
        credentials = response["Credentials"]
        import boto3  # noqa: PLC0415 (imported by the call above)

        role = _AssumedRole(
            time.monotonic() + ASSUMED_ROLE_SECONDS - ASSUMED_ROLE_MARGIN_SECONDS,
            boto3.session.Session(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
            ),
            {},
        )
        with self._lock:
            self._assumed[(region, role_arn)] = role
        return role


def keys_of(credentials: Credentials) -> Keys:
    """botocore's credentials (refreshed first if they are about to expire) as ``Keys``."""
    frozen = credentials.get_frozen_credentials()
    return Keys(frozen.access_key or "", frozen.secret_key or "", frozen.token)


class _PerCall:
    """Stands in for a client where one is kept across calls and invocations (Powertools' SSM
    provider): each call is made with the client that fits the time left when it is made."""

    def __init__(self, clients: AwsClients, service: str, region: str | None) -> None:
        self._clients = clients
        self._service = service
        self._region = region

    def __getattr__(self, operation: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            return getattr(self._clients.client(self._service, self._region), operation)(*args, **kwargs)

        return call


def describe_error(exc: Exception, limit: int = 200) -> str:
    """``Code: Message`` of an AWS error (or the exception's type and text), at most ``limit``
    characters: safe to report (AWS error messages carry no credentials)."""
    if "botocore.exceptions" in sys.modules and isinstance(exc, answer_errors()):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}"[:limit]
    return f"{type(exc).__name__}: {exc}"[:limit]
