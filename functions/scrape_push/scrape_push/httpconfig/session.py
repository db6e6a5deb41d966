"""Pooled sessions for scrapes, sinks and HTTP SD, and what each request of a configuration
carries through them.

A session's adapter holds its ``tls_config`` as an ``SSLContext`` built once (and again when a
key read from SSM changes) and uses ``guard``'s connection pools, so a scrape's deadline cuts
its connections and its redirects are checked. A request may carry its configuration's
``RequestPolicy`` (``httpclient``'s ``ClientAuth``): the proxy a URL takes, the CONNECT headers,
and the signature a redirect needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from http.cookiejar import DefaultCookiePolicy
from typing import TYPE_CHECKING, Any, Literal, Protocol

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from requests.cookies import RequestsCookieJar
from requests.structures import CaseInsensitiveDict
from requests.utils import select_proxy
from urllib3.connectionpool import ConnectionPool

from .. import guard
from ..credentials import SecretResolver
from .options import TLSConfig
from .tls import KeptContext

if TYPE_CHECKING:
    from requests.adapters import _HostParams, _PoolKwargs


class RequestPolicy(Protocol):
    """What one configuration does to each of its requests beyond its auth hook (``httpclient``):
    which proxy a URL takes, what the proxy is told on CONNECT, and how a redirect is signed."""

    def proxies(self, url: str) -> dict[str, str] | None:
        """The proxies for ``url`` (``None``: reach it directly)."""
        ...

    def connect_headers(self) -> dict[str, str]:
        """Headers sent to the proxy on CONNECT (``proxy_connect_header``)."""
        ...

    def resign(self, request: requests.PreparedRequest) -> None:
        """Sign a redirected request again (SigV4 signs every request)."""
        ...


class _PolicyMark:
    """A response hook that does nothing but carry a request's policy: requests hands a
    request's hooks (and only those) on to every redirect it follows, so the adapter and the
    session find the policy on each request of the chain."""

    def __init__(self, policy: RequestPolicy) -> None:
        self.policy = policy

    def __call__(self, response: requests.Response, **_: Any) -> None:
        return None


def mark_policy(request: requests.PreparedRequest, policy: RequestPolicy) -> None:
    """Attach ``policy`` to ``request`` and the redirects that follow it."""
    if policy_of(request) is None:
        request.hooks.setdefault("response", []).append(_PolicyMark(policy))


def policy_of(request: requests.PreparedRequest) -> RequestPolicy | None:
    for hook in request.hooks.get("response", ()):
        if isinstance(hook, _PolicyMark):
            return hook.policy
    return None


class SessionAdapter(HTTPAdapter):
    """requests' adapter for one ``tls_config``: its ``SSLContext`` (kept warm, rebuilt when a
    key read from SSM changes), ``server_name`` as SNI and verified name, the connection pools
    of ``guard`` (a scrape's deadline cuts its connections; redirects are checked) and each
    request's policy (its proxy and CONNECT headers)."""

    def __init__(
        self, tls: TLSConfig, pool_size: int, secrets: SecretResolver, own_requests: bool, hosts: int
    ) -> None:
        self.tls = tls
        self.secrets = secrets
        self.own_requests = own_requests
        """Whether the requests sent are the current scrape's own (counted, so redirects are
        checked), or made on its behalf (an OAuth 2.0 token: cut at its deadline all the same)."""
        self._context = KeptContext(tls, secrets)
        super().__init__(pool_connections=hosts, pool_maxsize=pool_size, max_retries=0)

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
        url = request.url or ""
        policy = policy_of(request)
        if policy is not None:
            kwargs["proxies"] = policy.proxies(url)
        scrape = guard.current()
        if scrape is not None:
            if self.own_requests:  # every request of a scrape, redirects included, passes here
                if policy is not None:
                    proxies = kwargs["proxies"]
                    scrape.proxied = bool(proxies) and select_proxy(url, proxies) is not None
                left = scrape.sending(url)
            else:
                left = scrape.due - scrape.clock()
                if scrape.aborted or left <= 0:
                    raise guard.Aborted
            kwargs["timeout"] = (left, left)  # a redirect's connect cannot outlast the scrape
        return super().send(request, *args, **kwargs)

    # Without proxies, requests' own two methods below parse the URL only to find none (a third
    # of the adapter's per-request work); with proxies they are requests' own.

    def get_connection_with_tls_context(
        self,
        request: requests.PreparedRequest,
        verify: bool | str | None,
        proxies: Mapping[str, str] | None = None,
        cert: tuple[str, str] | str | None = None,
    ) -> ConnectionPool:
        if proxies:
            return super().get_connection_with_tls_context(request, verify, proxies, cert)
        try:
            host, pool = self.build_connection_pool_key_attributes(
                request, True if verify is None else verify, cert
            )
        except ValueError as exc:
            raise requests.exceptions.InvalidURL(exc, request=request) from exc
        return self.poolmanager.connection_from_host(**host, pool_kwargs=pool)  # type: ignore[no-any-return]

    def request_url(self, request: requests.PreparedRequest, proxies: Mapping[str, str] | None) -> str:
        return super().request_url(request, proxies) if proxies else request.path_url

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: str | tuple[str, str] | None = None
    ) -> tuple[_HostParams, _PoolKwargs]:
        host, pool = super().build_connection_pool_key_attributes(request, verify, cert)
        if not self.tls.default:
            pool = {**pool, "ssl_context": self._context.get(), "cert_reqs": self._cert_reqs}
        policy = policy_of(request)
        connect = policy.connect_headers() if policy is not None else {}
        proxy = (
            select_proxy(request.url or "", policy.proxies(request.url or "")) if policy and connect else None
        )
        if proxy:  # a pool of its own per set of CONNECT headers (they are part of urllib3's pool key)
            pool = {**pool, "_proxy_headers": {**self.proxy_headers(proxy), **connect}}  # type: ignore[typeddict-unknown-key]
        return host, pool

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        if self.tls.default:
            super().cert_verify(conn, url, verify, cert)  # type: ignore[no-untyped-call]
            return
        conn.cert_reqs = self._cert_reqs
        conn.ca_certs = conn.ca_cert_dir = conn.cert_file = conn.key_file = None  # all in the context

    @property
    def _cert_reqs(self) -> Literal["CERT_REQUIRED", "CERT_NONE"]:
        return "CERT_NONE" if self.tls.insecure_skip_verify else "CERT_REQUIRED"


_NO_COOKIES = DefaultCookiePolicy(allowed_domains=[])
"""A session keeps no cookie a server sets, so it sends none back: Prometheus's HTTP client has no
cookie jar (a target or receiver setting one, e.g. a load balancer's stickiness cookie, gets
each request as if it were the first)."""


class PooledSession(requests.Session):
    """A session whose redirected requests are signed again by their policy (SigV4), after
    requests has removed what must not follow a redirect to another host; it keeps each URL's
    GET prepared (``prepared_get``) for up to ``hosts`` URLs."""

    def __init__(self, hosts: int) -> None:
        super().__init__()
        self.hosts = hosts
        self._prepared: dict[tuple[str, tuple[tuple[str, str], ...]], requests.PreparedRequest] = {}

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        super().rebuild_auth(prepared_request, response)  # type: ignore[no-untyped-call]
        policy = policy_of(prepared_request)
        if policy is not None:
            policy.resign(prepared_request)

    def prepared_get(
        self, url: str, headers: dict[str, str], auth: AuthBase | None
    ) -> requests.PreparedRequest:
        """The request ``self.get(url, headers=headers, auth=auth)`` sends, for ``self.send``.

        Only ``auth`` is applied anew (credentials are resolved at each request). The rest, the
        URL and headers checked and normalised, is prepared once per URL and headers and copied:
        ``Session.request`` would merge the session's settings (params, cookies, hooks, auth,
        the environment: all empty here) and prepare it all on every call: 274 Python calls a GET
        against 34 (docs/performance.md, "One scrape's GET")."""
        key = (url, tuple(headers.items()))
        template = self._prepared.get(key)
        if template is None:
            if len(self._prepared) >= self.hosts:
                self._prepared.clear()  # URLs come and go with discovery: bounded, rebuilt on use
            template = self._prepared[key] = self._template(url, headers)
        request = template.copy()
        request.hooks = {"response": []}  # the copy's own: ``auth`` may add to them
        request.prepare_auth(auth)
        return request

    def _template(self, url: str, headers: dict[str, str]) -> requests.PreparedRequest:
        """The session's default headers under ``headers``, a cookie jar of the request's own
        (the session keeps none), no auth and no hooks."""
        merged = CaseInsensitiveDict(self.headers)
        merged.update(headers)
        request = requests.PreparedRequest()
        request.prepare(
            method="GET", url=url, headers=merged, cookies=RequestsCookieJar(), hooks={"response": []}
        )
        return request


def new_session(
    tls: TLSConfig,
    pool_size: int,
    secrets: SecretResolver,
    *,
    own_requests: bool = True,
    hosts: int | None = None,
) -> PooledSession:
    """A pooled session that takes nothing from the environment (as Prometheus: no proxy or
    credentials from env vars or .netrc; only the configured proxy keys and auth); a client
    key named by an SSM parameter is read through ``secrets``. ``own_requests``: see
    ``SessionAdapter.own_requests``. It keeps the connections of up to ``hosts`` hosts (one
    pool of ``pool_size`` each, the least recently used let go beyond; ``pool_size`` hosts
    unless given)."""
    session = PooledSession(hosts or pool_size)
    session.trust_env = False
    session.cookies.set_policy(_NO_COOKIES)
    adapter = SessionAdapter(tls, pool_size, secrets, own_requests, session.hosts)
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
