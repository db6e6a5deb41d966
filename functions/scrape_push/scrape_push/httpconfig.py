"""Prometheus's HTTP client settings, shared by ``scrape_configs`` and ``remote_write``.

``basic_auth``, ``authorization``, ``tls_config``, ``proxy_url`` and ``follow_redirects`` mean
what they mean in Prometheus. Secrets (a password, a bearer token, a client key) are given
inline or as the name of an SSM SecureString parameter (``<key>_ssm_parameter``), are resolved
when used, and never appear in a repr, log line or summary. TLS material may be given as a file
(e.g. shipped in a layer under /opt) or inline PEM. A session's adapter holds its
``tls_config`` as an ``SSLContext`` built once (and again when a key read from SSM changes):
inline CAs are loaded from memory; the ``ssl`` module reads a client certificate and key only
from files, so inline ones are handed to it as anonymous in-memory files (``memfd``, Linux)
or, where those do not exist, as 0600 files in a private directory removed right after loading.
Nothing is left on disk.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import ssl
import tempfile
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase, HTTPBasicAuth
from requests.utils import DEFAULT_CA_BUNDLE_PATH
from urllib3.util.ssl_ import create_urllib3_context

from . import guard
from .config.errors import FieldError
from .credentials import Secret, SecretResolver

if TYPE_CHECKING:
    from requests.adapters import _HostParams, _PoolKwargs

_HEADER_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def parse_http_url(raw: object) -> str:
    """An http(s) URL with a host and no credentials in it (a sink's endpoint)."""
    if not isinstance(raw, str):
        raise FieldError(f"expected a URL string, got {type(raw).__name__}")
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FieldError("must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise FieldError("must not hold credentials; use basic_auth or authorization")
    return raw


SINK_HEADERS = frozenset(
    h.lower()
    for h in (
        "Authorization",
        "Host",
        "Content-Encoding",
        "Content-Length",
        "Content-Type",
        "Accept-Encoding",
        "User-Agent",
        "Connection",
        "Keep-Alive",
        "Transfer-Encoding",
        "Proxy-Authorization",
        "X-Amz-Date",
        "X-Amz-Security-Token",
        "X-Amz-Content-Sha256",
    )
)
"""Headers an HTTP sink sets itself (its protocol's, the transport's, SigV4's): refused in a
sink's ``headers``, as Prometheus refuses them in ``remote_write``."""


def check_headers(headers: dict[str, str], reserved: frozenset[str] = SINK_HEADERS) -> None:
    """Configured request headers: valid names, none of those the sink sets itself
    (``reserved``, lower case), values without line breaks."""
    for name, value in headers.items():
        if not _HEADER_TOKEN.match(name):
            raise FieldError(f"invalid header name {name!r}", f"headers.{name}")
        if name.lower() in reserved:
            raise FieldError(f"{name} is set by the sink and cannot be configured", f"headers.{name}")
        if "\r" in value or "\n" in value:
            raise FieldError("a header value cannot hold a line break", f"headers.{name}")


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


def request_auth(
    basic: BasicAuthConfig | None, authorization: AuthorizationConfig | None, secrets: SecretResolver
) -> AuthBase | None:
    """The request authentication configured, with secrets resolved (inline or from SSM); the
    forms they travel in are scrubbed from then on."""
    if basic is not None:
        password = secrets.resolve(basic.password, basic.password_ssm_parameter)
        revealed = password.reveal() if password else ""
        secrets.scrubber.add_basic_auth(basic.username, revealed)
        return HTTPBasicAuth(basic.username, revealed)
    if authorization is not None:
        token = secrets.resolve(authorization.credentials, authorization.credentials_ssm_parameter)
        return HeaderAuth(authorization.type, token or Secret(""))
    return None


class TLSConfigError(requests.RequestException):
    """Inline or file TLS material the ``ssl`` module refuses; the message names the key. A
    request error, so a sink's transport reports it as it reports a failed request."""


def tls_arguments(tls: TLSConfig) -> tuple[bool, None]:
    """``verify`` and ``cert`` for requests. A session from ``new_session(tls)`` carries the
    material itself (its adapter's ``SSLContext``), so only whether to verify is passed."""
    return not tls.insecure_skip_verify, None


def ssl_context(tls: TLSConfig, key: Secret | None) -> ssl.SSLContext:
    """The ``SSLContext`` of a ``tls_config`` (``key``: its client key, resolved)."""
    verify = not tls.insecure_skip_verify
    context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED if verify else ssl.CERT_NONE)
    what = "ca"
    try:
        if verify and tls.ca is not None:
            context.load_verify_locations(cadata=tls.ca)
        elif verify:
            what = "ca_file"
            context.load_verify_locations(cafile=tls.ca_file or DEFAULT_CA_BUNDLE_PATH)
        if tls.cert is not None or tls.cert_file is not None:
            what = "cert/key"
            with ExitStack() as files:
                cert_path = tls.cert_file or files.enter_context(_memory_file(tls.cert or ""))
                key_path = tls.key_file or files.enter_context(_memory_file(key.reveal() if key else ""))
                context.load_cert_chain(cert_path, key_path)
    except OSError as exc:  # ssl.SSLError included; its reason names no material
        reason = getattr(exc, "reason", None) or exc.strerror or type(exc).__name__
        raise TLSConfigError(f"tls_config {what}: not usable ({reason})") from None
    return context


@contextmanager
def _memory_file(content: str) -> Iterator[str]:
    """A path the ``ssl`` module can read ``content`` from, gone when the block ends."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("scrape-push-tls", os.MFD_CLOEXEC)
        try:
            _write_all(fd, content.encode())
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    directory = tempfile.mkdtemp(prefix="scrape-push-")  # 0700, this process's user only
    try:
        path = os.path.join(directory, "material.pem")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            _write_all(fd, content.encode())
        finally:
            os.close(fd)
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class SessionAdapter(HTTPAdapter):
    """requests' adapter for one ``tls_config``: its ``SSLContext`` (kept warm, rebuilt when a
    key read from SSM changes), ``server_name`` as SNI and verified name, and the connection
    pools of ``guard`` (a scrape's deadline cuts its connections; redirects are checked)."""

    def __init__(self, tls: TLSConfig, pool_size: int, secrets: SecretResolver) -> None:
        self.tls = tls
        self.secrets = secrets
        self._context_lock = threading.Lock()
        self._context: tuple[str, ssl.SSLContext] | None = None
        super().__init__(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        if self.tls.server_name:
            kwargs["server_hostname"] = self.tls.server_name
            kwargs["assert_hostname"] = self.tls.server_name
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = guard.GUARDED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = guard.GUARDED_POOLS
        return manager

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        scrape = guard.current()
        if scrape is not None:  # every request of a scrape, redirects included, passes here
            left = scrape.sending(request.url or "")
            kwargs["timeout"] = (left, left)  # a redirect's connect cannot outlast the scrape
        return super().send(request, *args, **kwargs)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: str | tuple[str, str] | None = None
    ) -> tuple[_HostParams, _PoolKwargs]:
        host, pool = super().build_connection_pool_key_attributes(request, verify, cert)
        if self.tls.default:
            return host, pool
        return host, {"ssl_context": self.context(), "cert_reqs": self._cert_reqs}

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        if self.tls.default:
            super().cert_verify(conn, url, verify, cert)  # type: ignore[no-untyped-call]
            return
        conn.cert_reqs = self._cert_reqs
        conn.ca_certs = conn.ca_cert_dir = conn.cert_file = conn.key_file = None  # all in the context

    @property
    def _cert_reqs(self) -> Literal["CERT_REQUIRED", "CERT_NONE"]:
        return "CERT_NONE" if self.tls.insecure_skip_verify else "CERT_REQUIRED"

    def context(self) -> ssl.SSLContext:
        key = self.secrets.resolve(self.tls.key, self.tls.key_ssm_parameter)
        digest = hashlib.sha256(key.reveal().encode()).hexdigest() if key else ""
        with self._context_lock:
            if self._context is None or self._context[0] != digest:
                self._context = (digest, ssl_context(self.tls, key))
            return self._context[1]


def new_session(tls: TLSConfig, pool_size: int, secrets: SecretResolver) -> requests.Session:
    """A pooled session that takes nothing from the environment (as Prometheus: no proxy or
    credentials from env vars or .netrc; only ``proxy_url`` and the configured auth); a client
    key named by an SSM parameter is read through ``secrets``."""
    session = requests.Session()
    session.trust_env = False
    adapter = SessionAdapter(tls, pool_size, secrets)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
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
