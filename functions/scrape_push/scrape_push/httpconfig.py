"""Prometheus's HTTP client settings, shared by ``scrape_configs`` and ``remote_write``.

``basic_auth``, ``authorization``, ``tls_config``, ``proxy_url`` and ``follow_redirects`` mean
what they mean in Prometheus. Secrets (a password, a bearer token, a client key) are given
inline or as the name of an SSM SecureString parameter (``<key>_ssm_parameter``), are resolved
when used, and never appear in a repr, log line or summary. TLS material may be given as a file
(e.g. shipped in a layer under /opt) or inline PEM; inline PEM is written once to a private
temporary file because the TLS library reads files.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase, HTTPBasicAuth

from . import secrets
from .config.errors import FieldError
from .secrets import Secret

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


@dataclass(frozen=True)
class HTTPClientConfig:
    """How to reach one endpoint: authentication, TLS, proxy and redirects."""

    basic_auth: BasicAuthConfig | None = None
    authorization: AuthorizationConfig | None = None
    tls_config: TLSConfig = field(default_factory=TLSConfig)
    proxy_url: str | None = None
    follow_redirects: bool = True


class HeaderAuth(AuthBase):
    """``Authorization: <type> <credentials>``."""

    def __init__(self, kind: str, credentials: Secret) -> None:
        self._value = f"{kind} {credentials.reveal()}"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self._value
        return request


def request_auth(basic: BasicAuthConfig | None, authorization: AuthorizationConfig | None) -> AuthBase | None:
    """The request authentication configured, with secrets resolved (inline or from SSM)."""
    if basic is not None:
        password = secrets.resolve(basic.password, basic.password_ssm_parameter)
        return HTTPBasicAuth(basic.username, password.reveal() if password else "")
    if authorization is not None:
        credentials = secrets.resolve(authorization.credentials, authorization.credentials_ssm_parameter)
        return HeaderAuth(authorization.type, credentials or Secret(""))
    return None


_pem_lock = threading.Lock()
_pem_files: dict[str, str] = {}


def _pem_file(content: str) -> str:
    """A private file holding ``content`` (written once per distinct content per container)."""
    digest = hashlib.sha256(content.encode()).hexdigest()
    with _pem_lock:
        found = _pem_files.get(digest)
        if found is None or not os.path.exists(found):
            fd, found = tempfile.mkstemp(prefix="scrape-push-", suffix=".pem")
            with os.fdopen(fd, "w") as handle:
                handle.write(content)
            _pem_files[digest] = found
        return found


def tls_arguments(tls: TLSConfig) -> tuple[bool | str, tuple[str, str] | None]:
    """``verify`` and ``cert`` for requests, from file paths or inline PEM."""
    verify: bool | str = True
    if tls.insecure_skip_verify:
        verify = False
    elif tls.ca is not None:
        verify = _pem_file(tls.ca)
    elif tls.ca_file is not None:
        verify = tls.ca_file
    cert_path = _pem_file(tls.cert) if tls.cert is not None else tls.cert_file
    if cert_path is None:
        return verify, None
    if tls.key_file is not None:
        return verify, (cert_path, tls.key_file)
    key = secrets.resolve(tls.key, tls.key_ssm_parameter)
    return verify, (cert_path, _pem_file(key.reveal() if key else ""))


class ServerNameAdapter(HTTPAdapter):
    """Verifies the server's certificate against ``server_name`` (and sends it as SNI)."""

    def __init__(self, server_name: str, **kwargs: Any) -> None:
        self.server_name = server_name
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["server_hostname"] = self.server_name
        kwargs["assert_hostname"] = self.server_name
        super().init_poolmanager(*args, **kwargs)


def new_session(tls: TLSConfig, pool_size: int) -> requests.Session:
    """A pooled session that takes nothing from the environment (as Prometheus: no proxy or
    credentials from env vars or .netrc; only ``proxy_url`` and the configured auth)."""
    session = requests.Session()
    session.trust_env = False
    plain = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", plain)
    if tls.server_name:
        session.mount(
            "https://",
            ServerNameAdapter(
                tls.server_name, pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0
            ),
        )
    else:
        session.mount("https://", plain)
    return session


def root_cause(exc: BaseException, limit: int = 200) -> str:
    """The innermost cause of a request failure, short and without the URL (which may carry
    credentials or tokens in its query): ``connection refused`` or ``<Type>: <message>``."""
    while exc.__context__ is not None and exc.__context__ is not exc:
        exc = exc.__context__
    text = str(exc)
    if "Connection refused" in text:
        return "connection refused"
    return f"{type(exc).__name__}: {text[:limit]}"
