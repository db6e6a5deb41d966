"""What one ``<http_config>`` adds to each request, as Prometheus's round trippers do: the
``http_headers``, then its authentication (``basic_auth``, ``authorization``, ``oauth2`` or
``sigv4``), and through its ``RequestPolicy`` the proxy each URL takes, the CONNECT headers and
a new signature on every redirect.

A ``ClientAuth`` is built once per configuration and kept warm with the pipeline (the OAuth 2.0
token until it expires, the SigV4 credentials); secrets are resolved at each request, so a value
rotated in SSM is picked up once its cache expires. Every secret, and the forms it travels in,
is added to the scrubber before it is sent.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase, HTTPBasicAuth

from ..credentials import Secret, SecretResolver
from ..sigv4 import SigV4RequestAuth, sigv4_auth
from .oauth2 import TokenSource
from .options import AuthorizationConfig, BasicAuthConfig, HeaderValues, HTTPClientConfig
from .session import mark_policy, new_session

if TYPE_CHECKING:
    from ..plugins import BuildContext

MAX_HEADER_FILE_BYTES = 16 * 1024
"""The most of a ``http_headers`` file read for one value (a token or a key: far less); a larger
file fails the request rather than filling the header."""
_FORBIDDEN_IN_VALUES = ("\r", "\n", "\0")
"""Characters that would end a header line (header injection): a value holding one fails."""


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


class HeaderError(requests.RequestException):
    """An ``http_headers`` value could not be had or is unusable; the message names the header
    and the file, never the value."""


@dataclass(frozen=True)
class ProxyEnvironment:
    """``HTTP_PROXY``, ``HTTPS_PROXY`` and ``NO_PROXY`` of the function, for
    ``proxy_from_environment`` (read once by ``settings.Settings``)."""

    http_proxy: str | None = None
    https_proxy: str | None = None
    no_proxy: str | None = None

    def proxies(self, url: str) -> dict[str, str] | None:
        """What Go's ``httpproxy.FromEnvironment`` picks for ``url``: the scheme's proxy,
        unless ``NO_PROXY`` (or a loopback host) says to go direct."""
        scheme = urlsplit(url).scheme
        proxy = self.https_proxy if scheme == "https" else self.http_proxy
        if not proxy or bypasses(url, self.no_proxy or ""):
            return None
        proxy = proxy if "://" in proxy else f"http://{proxy}"
        return {scheme: proxy}


def plain(http: HTTPClientConfig) -> bool:
    """Whether a request of ``http`` needs nothing but its headers (``http_headers``,
    ``basic_auth``, ``authorization``): no proxy, no OAuth 2.0 token, no SigV4 signature. Such
    scrapes of ``http`` URLs go without requests (``scrapehttp``)."""
    return http.oauth2 is None and http.sigv4 is None and not http.proxy.proxied


class ClientAuth(AuthBase):
    """One configuration's headers, authentication and proxy policy (``session.RequestPolicy``)."""

    def __init__(self, http: HTTPClientConfig, context: BuildContext) -> None:
        self.http = http
        self.plain = plain(http)
        """``plain(http)``, decided once for the configuration's requests."""
        self.fixed = (
            self.plain and not http.http_headers and http.basic_auth is None and http.authorization is None
        )
        """Whether it adds nothing to a request (no header, no authentication): the request is
        the same at every scrape of a URL."""
        self.secrets = context.secrets
        self.clients = context.aws
        settings = context.settings
        self.environment = ProxyEnvironment(settings.http_proxy, settings.https_proxy, settings.no_proxy)
        self._lock = threading.Lock()
        self._signer: SigV4RequestAuth | None = None
        self._tokens: TokenSource | None = None
        if http.oauth2 is not None:
            oauth2 = http.oauth2
            endpoint = HTTPClientConfig(
                tls_config=oauth2.tls_config, proxy=oauth2.proxy, http_headers=oauth2.http_headers
            )
            session = new_session(oauth2.tls_config, 1, self.secrets, own_requests=False)
            self._tokens = TokenSource(oauth2, self.secrets, session, ClientAuth(endpoint, context))

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        mark_policy(request, self)
        for name, value in self._header_values():
            existing = request.headers.get(name)
            request.headers[name] = f"{existing}, {value}" if existing else value
        http = self.http
        auth = request_auth(http.basic_auth, http.authorization, self.secrets)
        if auth is not None:
            return auth(request)
        if self._tokens is not None:
            request.headers["Authorization"] = self._tokens.authorization()
        if http.sigv4 is not None:
            self.resign(request)
        return request

    def resign(self, request: requests.PreparedRequest) -> None:
        """Sign ``request`` (a scrape's first request, or one of its redirects) with SigV4."""
        sigv4 = self.http.sigv4
        if sigv4 is None:
            return
        with self._lock:
            if self._signer is None:
                self._signer = sigv4_auth(sigv4, self.clients, sigv4.service_name or "")
            signer = self._signer
        signer(request)

    def proxies(self, url: str) -> dict[str, str] | None:
        proxy = self.http.proxy
        if proxy.proxy_from_environment:
            return self.environment.proxies(url)
        if proxy.proxy_url is None or (proxy.no_proxy is not None and bypasses(url, proxy.no_proxy)):
            return None
        return {"http": proxy.proxy_url, "https": proxy.proxy_url}

    def connect_headers(self) -> dict[str, str]:
        return {
            name: ", ".join(secret.reveal() for secret in secrets)
            for name, secrets in self.http.proxy.proxy_connect_header.items()
        }

    def _header_values(self) -> Iterator[tuple[str, str]]:
        """Each configured header with its values joined, as one header line carries them."""
        for name, spec in self.http.http_headers.items():
            values = list(self._values(name, spec))
            if not values:
                continue
            if any(c in value for value in values for c in _FORBIDDEN_IN_VALUES):
                raise HeaderError(f"http_headers {name}: a value holds a line break or NUL")
            yield name, ", ".join(values)

    def _values(self, name: str, spec: HeaderValues) -> Iterator[str]:
        yield from spec.values
        for secret in spec.secrets:
            yield secret.reveal()
        for parameter in spec.secrets_ssm_parameters:
            found = self.secrets.resolve(None, parameter)
            yield found.reveal() if found is not None else ""
        for path in spec.files:
            value = _read_value(name, path)
            self.secrets.scrubber.add(value)
            yield value


def _read_value(name: str, path: str) -> str:
    """A header value from ``path`` (re-read for each request, trimmed, as Prometheus does)."""
    failure = None
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_HEADER_FILE_BYTES + 1)
    except OSError as exc:
        failure = exc.strerror or type(exc).__name__
    if failure is not None:
        raise HeaderError(f"http_headers {name}: cannot read {path}: {failure}")
    if len(data) > MAX_HEADER_FILE_BYTES:
        raise HeaderError(f"http_headers {name}: {path} holds more than {MAX_HEADER_FILE_BYTES} bytes")
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise HeaderError(f"http_headers {name}: {path} is not UTF-8 text") from None


def bypasses(url: str, no_proxy: str) -> bool:
    """Whether ``url`` is reached directly under ``no_proxy``, as Go's ``httpproxy`` decides:
    loopback hosts always; ``*``; an IP, CIDR or domain (``example.com`` matches it and its
    subdomains, ``.example.com`` its subdomains), each with an optional port."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = str(parts.port or (443 if parts.scheme == "https" else 80))
    except ValueError:
        return False
    ip = _ip(host)
    if host == "localhost" or (ip is not None and ip.is_loopback):
        return True
    return any(_matches(entry, host, port, ip) for entry in _entries(no_proxy))


def _entries(no_proxy: str) -> Iterator[str]:
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if entry:
            yield entry


def _matches(
    entry: str, host: str, port: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None
) -> bool:
    if entry == "*":
        return True
    if "/" in entry:
        try:
            return ip is not None and ip in ipaddress.ip_network(entry, strict=False)
        except ValueError:
            return False
    name, wanted = _split_port(entry)
    if ip is not None or _ip(name) is not None:
        return ip is not None and ip == _ip(name) and wanted in ("", port)
    if name.startswith("*."):
        name = name[1:]
    suffix = name if name.startswith(".") else f".{name}"
    matched = host.endswith(suffix) or (not name.startswith(".") and host == name)
    return matched and wanted in ("", port)


def _split_port(entry: str) -> tuple[str, str]:
    """``host:port``, ``[v6]:port`` or a bare host (an IPv6 literal without brackets included)."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, rest[1:] if rest.startswith(":") else ""
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, port
    return entry, ""


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None
