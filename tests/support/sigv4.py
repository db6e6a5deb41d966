"""A local target that checks AWS Signature Version 4 as an AWS service does, with the same
credentials as the client, and refuses (403) any request that is unsigned, signed with other
credentials or for another scope, or changed after it was signed.

The check is written from the SigV4 specification ("Create a signed AWS API request", AWS IAM
User Guide), not with botocore (which the function signs with), so a signer that drifts from
the specification fails here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from urllib.parse import quote, urlsplit

from tests.support.http import QuietHandler, Reply, address_of, local_server

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=15)
"""How far a request's X-Amz-Date may be from the server's clock (AWS refuses beyond)."""
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
    r"SignedHeaders=([a-z0-9;\-]+), Signature=([0-9a-f]{64})$"
)


@dataclass(frozen=True)
class Scope:
    """Whose signature is accepted, for which region and service."""

    access_key: str
    secret_key: str
    region: str
    service: str


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _canonical_query(query: str) -> str:
    pairs = sorted(tuple(p.split("=", 1)) if "=" in p else (p, "") for p in query.split("&") if p)
    return "&".join(f"{k}={v}" for k, v in pairs)


def _canonical_value(value: str) -> str:
    return " ".join(value.split())


def verify(
    scope: Scope,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime | None = None,
) -> str | None:
    """Why the request is refused, or ``None`` when its signature holds. ``target`` is the
    request line's path and query as received; ``headers`` keyed in lower case."""
    match = _AUTHORIZATION.match(headers.get("authorization", ""))
    if match is None:
        return "no SigV4 Authorization header"
    access_key, day, region, service, signed, signature = match.groups()
    if (access_key, region, service) != (scope.access_key, scope.region, scope.service):
        return f"credential scope {access_key}/{region}/{service} is not this endpoint's"
    stamp = headers.get("x-amz-date", "")
    try:
        when = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "no valid X-Amz-Date"
    if stamp[:8] != day or abs((now or datetime.now(UTC)) - when) > MAX_SKEW:
        return "X-Amz-Date out of the credential's day or the allowed skew"
    names = signed.split(";")
    required = {"host", "x-amz-date"} | (
        {"x-amz-security-token"} if "x-amz-security-token" in headers else set()
    )
    if not required <= set(names) or names != sorted(names) or any(n not in headers for n in names):
        return f"signed headers {signed} miss a required or a present header"
    parts = urlsplit(target)
    payload = headers.get("x-amz-content-sha256") or _sha256(body)
    canonical = "\n".join(
        [
            method,
            quote(parts.path or "/", safe="/~"),  # every service but S3 encodes the path once more
            _canonical_query(parts.query),
            "".join(f"{n}:{_canonical_value(headers[n])}\n" for n in names),
            signed,
            payload,
        ]
    )
    credential_scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = f"{ALGORITHM}\n{stamp}\n{credential_scope}\n{_sha256(canonical.encode())}"
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{scope.secret_key}".encode(), day), region), service), "aws4_request")
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return "signature does not match"
    return None


@dataclass
class Checked:
    """One request the target received, and why it was refused (``None``: accepted)."""

    path: str
    headers: dict[str, str]
    refused: str | None


@dataclass
class SigV4Target:
    """A running target; ``routes`` maps a path to its answer (default: the exposition)."""

    server: ThreadingHTTPServer
    scope: Scope
    body: bytes
    routes: dict[str, Reply] = field(default_factory=dict)
    seen: list[Checked] = field(default_factory=list)

    @property
    def address(self) -> str:
        return address_of(self.server)

    def answer(self, path: str, headers: dict[str, str]) -> Reply:
        refused = verify(self.scope, "GET", path, headers, b"")
        self.seen.append(Checked(path, headers, refused))
        if refused is not None:
            return Reply(403, f'{{"message": "{refused}"}}'.encode(), {"Content-Type": "application/json"})
        found = self.routes.get(urlsplit(path).path)
        return (
            found
            if found is not None
            else Reply(200, self.body, {"Content-Type": "text/plain; version=0.0.4"})
        )


@contextmanager
def sigv4_target(scope: Scope, body: bytes) -> Iterator[SigV4Target]:
    """Serve on 127.0.0.1 until the block exits."""
    ref: list[SigV4Target] = []

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = ref[0].answer(self.path, headers)
            self.answer(reply.status, reply.body, reply.headers)

    with local_server(Handler) as server:
        ref.append(SigV4Target(server, scope, body))
        yield ref[0]


@contextmanager
def tampering(
    upstream: str, change: Callable[[str, dict[str, str]], tuple[str, dict[str, str]]]
) -> Iterator[str]:
    """A relay in front of ``upstream`` (``host:port``) that changes each request's path and
    headers with ``change`` before passing it on, as a party in the middle would; yields its
    ``host:port``."""
    import http.client

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            path, headers = change(self.path, dict(self.headers.items()))
            connection = http.client.HTTPConnection(upstream, timeout=10)
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                body = response.read()
                kept = {
                    k: v
                    for k, v in response.getheaders()
                    if k.lower() not in ("content-length", "connection")
                }
                self.answer(response.status, body, kept)
            finally:
                connection.close()

    with local_server(Handler) as server:
        yield address_of(server)
