"""AWS Signature Version 4, as AWS documents it (IAM User Guide, "Create a signed AWS API
request"), for requests made without botocore: the SSM reads of every cold start (``ssm.py``)
and the ``sigv4`` blocks of scrapes and sinks (``sigv4.py``).

The canonical request is built as botocore's ``SigV4Auth`` builds it, so both sign any request
alike (a differential test checks it): the path normalised (dot segments and empty segments
removed) and percent-encoded once more, the query's pairs sorted as they are (already encoded),
every header signed but the hop-by-hop and tracing ones, ``host`` from the URL.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_HEADERS = frozenset(
    {
        "authorization",
        "baggage",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "traceparent",
        "tracestate",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    }
)
"""Headers left out of the signature: hop-by-hop ones a proxy may change, and tracing ones an
agent may add (botocore's ``SIGNED_HEADERS_BLACKLIST``); ``authorization`` is what is computed."""
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Keys:
    """AWS credentials to sign with. Never shown: ``repr`` names the access key id alone."""

    access_key: str
    secret_key: str
    token: str | None = None

    def __repr__(self) -> str:
        return f"Keys({self.access_key!r})"


def _path(path: str) -> str:
    """The canonical URI: dot segments and empty segments removed (RFC 3986 5.2.4, and AWS
    services want no double slashes), then each segment encoded again."""
    if not path:
        return "/"
    kept: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if kept:
                kept.pop()
        elif segment and segment != ".":
            kept.append(segment)
    lead = "/" if path.startswith("/") else ""
    trail = "/" if path.endswith("/") and kept else ""
    return quote(lead + "/".join(kept) + trail, safe="/~")


def _query(query: str) -> str:
    """The canonical query string: the URL's (already encoded) pairs sorted by name, then value."""
    if not query:
        return ""
    pairs = sorted(pair.partition("=")[::2] for pair in query.split("&"))
    return "&".join(f"{name}={value}" for name, value in pairs)


def _host(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


def _key(secret_key: str, date: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret_key}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def sign(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    keys: Keys,
    region: str,
    service: str,
    now: datetime,
) -> dict[str, str]:
    """The headers that sign this request (``X-Amz-Date``, ``X-Amz-Security-Token`` with
    temporary credentials, ``Authorization``), to add to ``headers`` as they are. ``now`` is
    UTC. A ``X-Amz-Content-SHA256`` header, if set, stands for the body's hash."""
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    added = {"X-Amz-Date": stamp}
    if keys.token:
        added["X-Amz-Security-Token"] = keys.token
    replaced = {name.lower() for name in added}
    signed = {
        name.lower(): " ".join(value.split())  # values trimmed, inner runs of spaces one space
        for name, value in headers.items()
        if name.lower() not in UNSIGNED_HEADERS and name.lower() not in replaced
    }
    signed.update((name.lower(), value) for name, value in added.items())
    signed.setdefault("host", _host(url))
    names = sorted(signed)
    payload = signed.get("x-amz-content-sha256") or hashlib.sha256(body).hexdigest()
    parts = urlsplit(url)
    canonical = "\n".join(
        [
            method.upper(),
            _path(parts.path),
            _query(parts.query),
            "".join(f"{name}:{signed[name]}\n" for name in names),
            ";".join(names),
            payload,
        ]
    )
    scope = f"{stamp[:8]}/{region}/{service}/aws4_request"
    to_sign = f"{ALGORITHM}\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    signature = hmac.new(_key(keys.secret_key, stamp[:8], region, service), to_sign.encode(), hashlib.sha256)
    added["Authorization"] = (
        f"{ALGORITHM} Credential={keys.access_key}/{scope}, SignedHeaders={';'.join(names)}, "
        f"Signature={signature.hexdigest()}"
    )
    return added
