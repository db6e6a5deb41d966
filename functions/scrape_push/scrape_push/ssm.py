"""Reads from SSM Parameter Store without boto3: one SigV4-signed POST to SSM's JSON API per
``GetParameter`` and per page of ``GetParametersByPath``, over a kept HTTPS session.

Making a botocore SSM client costs a cold start about 60 ms of CPU (its service model read and
decoded) on top of importing boto3 (about 90 ms): the configuration and the secrets are read on
every cold start, so they are read here (``docs/performance.md``). Calls behave as the boto3
clients of ``aws.AwsClients`` do: each attempt's timeouts fit the invocation's deadline (its
budget, ``aws.bounds_for``), throttling, 5xx answers and network failures are retried with
botocore's standard backoff while a whole attempt still fits, and a failure reads as botocore's
would (``An error occurred (ParameterNotFound) when calling the GetParameter operation: ...``).
Values read are cached for ``max_age`` seconds, as Powertools Parameters cached them.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.cookiejar import DefaultCookiePolicy
from typing import Any, TypeVar, cast

import requests
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies

from . import aws, awsenv
from .signing import sign

SERVICE_ID = "SSM"
SERVICE = "ssm"
TARGET_PREFIX = "AmazonSSM."
CONTENT_TYPE = "application/x-amz-json-1.1"
"""SSM's protocol: AWS JSON 1.1, the operation named by ``X-Amz-Target`` (botocore's SSM model,
``metadata``)."""
PAGE_SIZE = 10
"""``GetParametersByPath`` ``MaxResults``: at most 10 (SSM API Reference)."""
MAX_PAGES = 1_000
"""Pages of a path read at most: 10,000 parameters, the standard tier's quota per account and
Region (AWS General Reference, "AWS Systems Manager endpoints and quotas")."""
MAX_ANSWER_BYTES = 1 << 20
"""An answer's largest size read: a page holds at most 10 parameters of 8 KB (the advanced tier's
largest value, SSM API Reference, ``PutParameter``), 50 KB each however escaped; more is no SSM
answer."""
ERROR_TEXT_CHARS = 200
"""Of an error answer's message, the part reported."""
RETRIED_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
    }
)
"""Error codes retried, as botocore's standard retry mode retries them (botocore/retries/
standard.py: throttling and transient codes)."""
RETRIED_STATUSES = frozenset({500, 502, 503, 504})
USER_AGENT = "scrape-push"
Read = TypeVar("Read")
_CHUNK_BYTES = 64 * 1024


class SSMError(Exception):
    """A read that failed. ``code`` is SSM's error code (``ParameterNotFound``,
    ``AccessDeniedException``, ``ThrottlingException`` ...) or what kept the call from an answer
    (``ConnectionError``, ``Timeout``, ``OutOfTime``); the message never holds a value read."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class _Call:
    """One operation's request, and what bounds its attempts."""

    operation: str
    url: str
    region: str
    body: bytes
    bounds: aws.CallBounds
    until: float | None
    """Monotonic time by which the call must be over (``None``: no deadline)."""


class _Retry(Exception):
    """An attempt that may be made again (the error it would end with, if not)."""

    def __init__(self, error: SSMError) -> None:
        super().__init__(str(error))
        self.error = error


def _session() -> requests.Session:
    """A session kept for SSM's endpoint: nothing taken from the environment but what botocore
    takes (proxies, below), no cookies kept, no retries of its own."""
    session = requests.Session()
    session.trust_env = False  # no .netrc credentials replacing the signature
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=4, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _error_of(answer: requests.Response, body: bytes, operation: str) -> SSMError:
    """The error an error answer carries (AWS JSON protocol: ``__type``, ``message``)."""
    try:
        found = json.loads(body)
    except ValueError:
        found = None
    found = found if isinstance(found, dict) else {}
    kind = str(found.get("__type") or answer.headers.get("x-amzn-ErrorType") or f"HTTP {answer.status_code}")
    code = kind.rsplit("#", 1)[-1].split(":", 1)[0]
    text = " ".join(str(found.get("message") or found.get("Message") or answer.reason or "").split())
    text = text[:ERROR_TEXT_CHARS]  # one line, and short
    return SSMError(f"An error occurred ({code}) when calling the {operation} operation: {text}", code)


class ParameterStore:
    """SSM Parameter Store as the function reads it (owned by the runtime; the configuration
    source and the secret resolver read through it): each value cached for the ``max_age`` of
    the read that fetched it (as Powertools Parameters cached), the HTTPS session kept while
    warm."""

    def __init__(
        self,
        clients: aws.AwsClients,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._clients = clients
        self._sleep = sleep
        self._rng = rng
        self._lock = threading.Lock()
        self._session = session
        """Made on first use (``_session``) unless given."""
        self._cache: dict[tuple[str, str], tuple[float, object]] = {}
        """(kind, name) -> (monotonic expiry, value)."""

    def parameter(self, name: str, max_age: float) -> str:
        """A parameter's value (a SecureString's decrypted), read at most ``max_age`` seconds ago."""
        return self._cached(("parameter", name), max_age, lambda: self._parameter(name))

    def path(self, path: str, max_age: float) -> list[tuple[str, str]]:
        """Every parameter under ``path``, recursively, as ``(name, value)`` sorted by name."""
        return self._cached(("path", path), max_age, lambda: self._path(path))

    def close(self) -> None:
        """Let the kept connection go (the runtime's reset)."""
        with self._lock:
            session, self._session = self._session, None
            self._cache.clear()
        if session is not None:
            session.close()

    def _cached(self, key: tuple[str, str], max_age: float, read: Callable[[], Read]) -> Read:
        now = time.monotonic()
        with self._lock:
            found = self._cache.get(key)
        if found is not None and now < found[0]:
            return cast(Read, found[1])
        value = read()
        with self._lock:
            self._cache[key] = (time.monotonic() + max_age, value)
        return value

    def _parameter(self, name: str) -> str:
        answer = self.call("GetParameter", {"Name": name, "WithDecryption": True})
        parameter = answer.get("Parameter")
        value = parameter.get("Value") if isinstance(parameter, dict) else None
        if not isinstance(value, str):
            raise SSMError("GetParameter answered without a value", "InvalidAnswer")
        return value

    def _path(self, path: str) -> list[tuple[str, str]]:
        request: dict[str, Any] = {
            "Path": path,
            "Recursive": True,
            "WithDecryption": True,
            "MaxResults": PAGE_SIZE,
        }
        found: list[tuple[str, str]] = []
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            answer = self.call("GetParametersByPath", request)
            for parameter in answer.get("Parameters") or ():
                name, value = (
                    (parameter.get(k) for k in ("Name", "Value")) if isinstance(parameter, dict) else ("", 0)
                )
                if not isinstance(name, str) or not isinstance(value, str):
                    raise SSMError(
                        "GetParametersByPath answered a parameter without a name or value", "InvalidAnswer"
                    )
                found.append((name, value))
            token = answer.get("NextToken")
            if not token:
                return sorted(found)
            if not isinstance(token, str) or token in seen:
                raise SSMError("GetParametersByPath answered a NextToken it gave before", "InvalidAnswer")
            seen.add(token)
            request["NextToken"] = token
        raise SSMError(f"GetParametersByPath: more than {MAX_PAGES} pages under {path!r}", "InvalidAnswer")

    def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        """One SSM operation's answer, retried as botocore retries, within the invocation's deadline."""
        try:
            budget = self._clients.budget_for(None)
        except aws.OutOfTime as exc:
            raise SSMError(str(exc), "OutOfTime") from None
        region = self._clients.region()
        call = _Call(
            operation,
            self._clients.endpoint(SERVICE_ID, SERVICE, region).rstrip("/") + "/",  # the operations' path
            region,
            json.dumps(request).encode(),
            aws.bounds_for(budget),
            None if budget is None else time.monotonic() + budget,
        )
        for attempt in range(1, aws.MAX_ATTEMPTS + 1):
            try:
                return self._attempt(call)
            except _Retry as retry:
                wait = self._rng() * min(2.0 ** (attempt - 1), aws.MAX_BACKOFF_SECONDS)
                fits = (
                    call.until is None or time.monotonic() + wait + call.bounds.attempt_seconds <= call.until
                )
                if attempt == aws.MAX_ATTEMPTS or not fits:
                    raise retry.error from None
                self._sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _http(self) -> requests.Session:
        with self._lock:
            if self._session is None:
                self._session = _session()
            return self._session

    def _attempt(self, call: _Call) -> dict[str, Any]:
        status, answer, content = self._post(call)
        if status != 200:
            error = _error_of(answer, content, call.operation)
            if error.code in RETRIED_CODES or status in RETRIED_STATUSES:
                raise _Retry(error)
            raise error
        try:
            found = json.loads(content)
        except ValueError:
            found = None
        if not isinstance(found, dict):
            raise SSMError(f"{call.operation} answered something other than a JSON object", "InvalidAnswer")
        return found

    def _post(self, call: _Call) -> tuple[int, requests.Response, bytes]:
        """The answer to one signed attempt (its status, headers and body); a network failure or
        a timeout as a ``_Retry``."""
        url = call.url
        headers = {"Content-Type": CONTENT_TYPE, "X-Amz-Target": TARGET_PREFIX + call.operation}
        keys = self._clients.keys()
        signed = sign(
            "POST",
            url,
            headers,
            call.body,
            keys=keys,
            region=call.region,
            service=SERVICE,
            now=datetime.now(UTC),
        )
        headers.update(signed, **{"User-Agent": USER_AGENT})
        try:
            with self._http().post(
                url,
                data=call.body,
                headers=headers,
                timeout=(call.bounds.connect_timeout, call.bounds.read_timeout),
                stream=True,
                proxies=get_environ_proxies(url),  # botocore's proxies: HTTPS_PROXY, NO_PROXY ...
                verify=awsenv.ca_bundle(),
            ) as answer:
                return answer.status_code, answer, self._read(answer, url, call.until)
        except requests.ConnectTimeout:
            raise _Retry(SSMError(f'Connect timeout on endpoint URL: "{url}"', "Timeout")) from None
        except requests.ConnectionError as exc:
            if isinstance(exc.__context__, TimeoutError) or "timed out" in str(exc):
                raise _Retry(SSMError(f'Read timeout on endpoint URL: "{url}"', "Timeout")) from None
            raise _Retry(
                SSMError(f'Could not connect to the endpoint URL: "{url}"', "ConnectionError")
            ) from None
        except requests.Timeout:
            raise _Retry(SSMError(f'Read timeout on endpoint URL: "{url}"', "Timeout")) from None
        except requests.RequestException as exc:
            raise _Retry(SSMError(f"{type(exc).__name__} from {url}", "ConnectionError")) from None

    def _read(self, answer: requests.Response, url: str, until: float | None) -> bytes:
        """The answer's body: at most ``MAX_ANSWER_BYTES``, read before ``until``."""
        chunks: list[bytes] = []
        size = 0
        for chunk in answer.iter_content(_CHUNK_BYTES):
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                raise SSMError(f"an answer of {url} is over {MAX_ANSWER_BYTES} bytes", "InvalidAnswer")
            if until is not None and time.monotonic() > until:
                raise requests.Timeout
            chunks.append(chunk)
        return b"".join(chunks)
