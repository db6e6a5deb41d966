"""The keys of Prometheus's ``<http_config>`` (and of ``<oauth2>`` and ``<tls_config>``), as
frozen dataclasses the configuration decoder fills.

Secrets (a password, a bearer token, a client key, a client secret, a header value) are given
inline or as the name of an SSM SecureString parameter (``<key>_ssm_parameter``); both become
``Secret`` values or references that are resolved when used, and never appear in a repr, log
line, summary or ``show``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..config.document import join_key
from ..config.errors import FieldError, raise_all
from ..config.values import parse_http_url, parse_proxy_url
from ..credentials import Secret
from ..sigv4 import SigV4Config

_HEADER_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def parse_secret(raw: object) -> Secret:
    """A string that becomes a ``Secret`` (never shown again)."""
    if not isinstance(raw, str):
        raise FieldError(f"expected a string, got {type(raw).__name__}")
    return Secret(raw)


def parse_parameter_name(raw: object) -> str:
    """The name (or path) of an SSM parameter."""
    if not isinstance(raw, str) or not raw or any(c.isspace() for c in raw):
        raise FieldError("expected an SSM parameter name such as '/scrape-push/password'")
    return raw


def _one_of(inline: object, parameter: str | None, key: str, required: bool = True) -> None:
    if inline is not None and parameter is not None:
        raise FieldError(f"set either '{key}' or '{key}_ssm_parameter', not both", key)
    if required and inline is None and parameter is None:
        raise FieldError(f"set '{key}' or '{key}_ssm_parameter'", key)


@dataclass(frozen=True)
class BasicAuthConfig:
    """``basic_auth``: HTTP basic authentication."""

    username: str
    password: Secret | None = field(default=None, metadata={"parse": parse_secret, "doc": "the password"})
    password_ssm_parameter: str | None = field(
        default=None, metadata={"parse": parse_parameter_name, "doc": "SSM SecureString holding the password"}
    )

    def check(self) -> None:
        _one_of(self.password, self.password_ssm_parameter, "password")


@dataclass(frozen=True)
class AuthorizationConfig:
    """``authorization``: an ``Authorization: <type> <credentials>`` header."""

    type: str = "Bearer"
    credentials: Secret | None = field(
        default=None, metadata={"parse": parse_secret, "doc": "the credentials"}
    )
    credentials_ssm_parameter: str | None = field(
        default=None,
        metadata={"parse": parse_parameter_name, "doc": "SSM SecureString holding the credentials"},
    )

    def check(self) -> None:
        if not _HEADER_TOKEN.match(self.type):
            raise FieldError("must be a single word such as 'Bearer'", "type")
        if self.type.lower() == "basic":
            raise FieldError("use basic_auth for Basic authentication", "type")
        _one_of(self.credentials, self.credentials_ssm_parameter, "credentials")


@dataclass(frozen=True)
class TLSConfig:
    """``tls_config``: server verification and client certificates."""

    ca: str | None = field(default=None, metadata={"doc": "CA certificate(s), PEM"})
    ca_file: str | None = None
    cert: str | None = field(default=None, metadata={"doc": "client certificate, PEM"})
    cert_file: str | None = None
    key: Secret | None = field(default=None, metadata={"parse": parse_secret, "doc": "client key, PEM"})
    key_ssm_parameter: str | None = field(
        default=None,
        metadata={"parse": parse_parameter_name, "doc": "SSM SecureString holding the client key (PEM)"},
    )
    key_file: str | None = None
    server_name: str | None = field(default=None, metadata={"doc": "name to verify the certificate against"})
    insecure_skip_verify: bool = False

    def check(self) -> None:
        if self.ca is not None and self.ca_file is not None:
            raise FieldError("set either 'ca' or 'ca_file', not both", "ca")
        if self.cert is not None and self.cert_file is not None:
            raise FieldError("set either 'cert' or 'cert_file', not both", "cert")
        keys = [k for k in (self.key, self.key_ssm_parameter, self.key_file) if k is not None]
        if len(keys) > 1:
            raise FieldError("set one of 'key', 'key_ssm_parameter' or 'key_file'", "key")
        if bool(keys) != (self.cert is not None or self.cert_file is not None):
            raise FieldError("a client certificate and its key go together", "cert" if keys else "key")

    @property
    def default(self) -> bool:
        return self == TLSConfig()


RESERVED_HEADERS = frozenset(
    name.lower()
    for name in (
        "Authorization",
        "Host",
        "Content-Encoding",
        "Content-Length",
        "Content-Type",
        "User-Agent",
        "Connection",
        "Keep-Alive",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "Www-Authenticate",
        "Accept-Encoding",
        "X-Prometheus-Remote-Write-Version",
        "X-Prometheus-Remote-Read-Version",
        "X-Prometheus-Scrape-Timeout-Seconds",
        "X-Amz-Date",
        "X-Amz-Security-Token",
        "X-Amz-Content-Sha256",
    )
)
"""Headers ``http_headers`` may not set: the client sets them itself (prometheus/common
``config/headers.go``, ``reservedHeaders``)."""

SINK_HEADERS = RESERVED_HEADERS | {"transfer-encoding"}
"""Headers a sink's ``headers`` may not set: the client's, and the framing its transport sets
(Prometheus refuses the same in ``remote_write``)."""


def parse_sink_url(raw: object) -> str:
    """A sink's endpoint: an http(s) URL with a host, its credentials in keys of their own."""
    if isinstance(raw, str) and "@" in raw.partition("://")[2].partition("/")[0]:
        raise FieldError("must not hold credentials; use basic_auth or authorization")
    return parse_http_url(raw)


def check_headers(headers: dict[str, str], reserved: frozenset[str] = SINK_HEADERS) -> None:
    """A sink's configured request headers: valid names, none it sets itself (``reserved``,
    lower case), values without line breaks."""
    for name, value in headers.items():
        if not _HEADER_TOKEN.match(name):
            raise FieldError(f"invalid header name {name!r}", f"headers.{name}")
        if name.lower() in reserved:
            raise FieldError(f"{name} is set by the sink and cannot be configured", f"headers.{name}")
        if "\r" in value or "\n" in value:
            raise FieldError("a header value cannot hold a line break", f"headers.{name}")


def parse_secrets(raw: object) -> tuple[Secret, ...]:
    """A list of strings that become ``Secret`` values."""
    if not isinstance(raw, list):
        raise FieldError(f"expected a list, got {type(raw).__name__}")
    return tuple(parse_secret(item) for item in raw)


def parse_parameter_names(raw: object) -> tuple[str, ...]:
    """A list of SSM parameter names."""
    if not isinstance(raw, list):
        raise FieldError(f"expected a list, got {type(raw).__name__}")
    return tuple(parse_parameter_name(item) for item in raw)


def _header_name(name: str, key: str) -> FieldError | None:
    """The problem with ``http_headers`` naming ``name`` (``key``: where), if any."""
    if not _HEADER_TOKEN.match(name):
        return FieldError(f"invalid header name {name!r}", key)
    if name.lower() in RESERVED_HEADERS:
        return FieldError(f"setting header {name!r} is not allowed", key)
    return None


def parse_connect_headers(raw: object) -> dict[str, tuple[Secret, ...]]:
    """``proxy_connect_header``: header name -> secret values sent to the proxy on CONNECT."""
    if not isinstance(raw, dict):
        raise FieldError(f"expected a mapping, got {type(raw).__name__}")
    out = {}
    for name, values in raw.items():
        if not isinstance(name, str) or not _HEADER_TOKEN.match(name):
            raise FieldError(f"invalid header name {name!r}", join_key("", str(name)))
        out[name] = parse_secrets(values)
    return out


@dataclass(frozen=True)
class HeaderValues:
    """``http_headers.<name>``: the values one header carries (Prometheus 3.x format); every
    value of every list is sent."""

    values: tuple[str, ...] = ()
    secrets: tuple[Secret, ...] = field(default=(), metadata={"parse": parse_secrets, "doc": "hidden values"})
    secrets_ssm_parameters: tuple[str, ...] = field(
        default=(),
        metadata={"parse": parse_parameter_names, "doc": "SSM SecureStrings holding hidden values"},
    )
    files: tuple[str, ...] = field(default=(), metadata={"doc": "files read (and trimmed) for each request"})


def _check_headers(headers: dict[str, HeaderValues]) -> list[FieldError]:
    found = (_header_name(name, join_key("http_headers", name)) for name in headers)
    return [problem for problem in found if problem is not None]


@dataclass(frozen=True)
class ProxyConfig:
    """The proxy keys of ``<http_config>`` and ``<oauth2>`` (inline in both)."""

    proxy_url: str | None = field(default=None, metadata={"parse": parse_proxy_url})
    no_proxy: str | None = field(
        default=None, metadata={"doc": "comma-separated IPs, CIDRs and domains (with ports) reached directly"}
    )
    proxy_from_environment: bool = field(
        default=False, metadata={"doc": "use HTTP_PROXY, HTTPS_PROXY and NO_PROXY of the function"}
    )
    proxy_connect_header: dict[str, tuple[Secret, ...]] = field(
        default_factory=dict, metadata={"parse": parse_connect_headers, "doc": "headers sent on CONNECT"}
    )

    def check(self) -> None:
        if self.proxy_from_environment and self.proxy_url is not None:
            raise FieldError("if proxy_from_environment is configured, proxy_url must not be", "proxy_url")
        if self.no_proxy is not None and self.proxy_url is None:
            raise FieldError("if no_proxy is configured, proxy_url must also be configured", "no_proxy")
        if self.proxy_connect_header and self.proxy_url is None and not self.proxy_from_environment:
            raise FieldError(
                "if proxy_connect_header is configured, proxy_url or proxy_from_environment must also be",
                "proxy_connect_header",
            )

    @property
    def proxied(self) -> bool:
        return self.proxy_url is not None or self.proxy_from_environment


CLIENT_CREDENTIALS = "client_credentials"


def _grant_type(value: str) -> None:
    if value != CLIENT_CREDENTIALS:
        raise FieldError(f"only {CLIENT_CREDENTIALS!r} is supported, got {value[:60]!r}")


@dataclass(frozen=True)
class OAuth2Config:
    """``oauth2``: an access token from the OAuth 2.0 client credentials grant (RFC 6749 4.4)."""

    client_id: str
    token_url: str = field(metadata={"parse": parse_http_url})
    client_secret: Secret | None = field(default=None, metadata={"parse": parse_secret})
    client_secret_ssm_parameter: str | None = field(
        default=None,
        metadata={"parse": parse_parameter_name, "doc": "SSM SecureString holding the client secret"},
    )
    grant_type: str = field(default=CLIENT_CREDENTIALS, metadata={"validate": _grant_type})
    scopes: tuple[str, ...] = ()
    endpoint_params: dict[str, str] = field(
        default_factory=dict, metadata={"doc": "extra form parameters of the token request"}
    )
    tls_config: TLSConfig = field(default_factory=TLSConfig)
    proxy: ProxyConfig = field(default_factory=ProxyConfig, metadata={"inline": True})
    http_headers: dict[str, HeaderValues] = field(default_factory=dict)

    def check(self) -> None:
        problems = _check_headers(self.http_headers)
        try:
            _one_of(self.client_secret, self.client_secret_ssm_parameter, "client_secret")
        except FieldError as exc:
            problems.append(exc)
        if "scope" in self.endpoint_params:  # as x/oauth2 refuses it; grant_type may be overridden
            problems.append(
                FieldError("cannot overwrite parameter 'scope': use scopes", "endpoint_params.scope")
            )
        raise_all(problems)


_AUTHENTICATIONS = ("basic_auth", "authorization", "bearer_token", "oauth2", "sigv4")
"""A client's ways to authenticate, of which it may use one."""


@dataclass(frozen=True)
class HTTPClientConfig:
    """How to reach one endpoint (``<http_config>``, inline in a job and an HTTP SD entry)."""

    basic_auth: BasicAuthConfig | None = None
    authorization: AuthorizationConfig | None = None
    bearer_token: Secret | None = field(
        default=None,
        metadata={"parse": parse_secret, "doc": "Prometheus's older form of authorization.credentials"},
    )
    oauth2: OAuth2Config | None = None
    sigv4: SigV4Config | None = field(
        default=None, metadata={"doc": "sign every request with AWS Signature Version 4 (IAM)"}
    )
    tls_config: TLSConfig = field(default_factory=TLSConfig)
    proxy: ProxyConfig = field(default_factory=ProxyConfig, metadata={"inline": True})
    follow_redirects: bool = True
    enable_http2: bool = field(default=True, metadata={"doc": "accepted; requests are HTTP/1.1"})
    http_headers: dict[str, HeaderValues] = field(default_factory=dict)

    @property
    def proxy_url(self) -> str | None:
        return self.proxy.proxy_url

    def check(self) -> None:
        problems = _check_headers(self.http_headers)
        given = [k for k in _AUTHENTICATIONS if getattr(self, k) is not None]
        if len(given) > 1:
            problems.append(
                FieldError(
                    f"at most one of {', '.join(_AUTHENTICATIONS[:-1])} and {_AUTHENTICATIONS[-1]} "
                    f"may be set, got {given}"
                )
            )
        if self.sigv4 is not None and self.sigv4.service_name is None:
            problems.append(
                FieldError(
                    "required when signing scrapes: the service the endpoint belongs to "
                    "(execute-api, lambda, vpc-lattice-svcs ...)",
                    "sigv4.service_name",
                )
            )
        raise_all(problems)
