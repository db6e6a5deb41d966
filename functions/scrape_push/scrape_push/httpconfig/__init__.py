"""Prometheus's HTTP client settings (``<http_config>``), shared by ``scrape_configs``,
``http_sd_configs`` and ``remote_write``, and what honours them.

``basic_auth``, ``authorization``, ``oauth2``, ``tls_config``, the proxy keys,
``follow_redirects``, ``enable_http2`` and ``http_headers`` mean what they mean in Prometheus;
``sigv4`` (Prometheus has it for remote write only) signs requests with the function's IAM
credentials.

* ``options``: the keys, as the configuration decoder fills them;
* ``tls``: a ``tls_config`` as an ``SSLContext`` (inline material never touches the disk);
* ``session``: pooled sessions whose connections a scrape's deadline cuts, and the policy a
  request carries through them (its proxy, CONNECT headers, a signature for each redirect);
* ``client``: what one configuration adds to each request (``ClientAuth``);
* ``oauth2``: the OAuth 2.0 client credentials token, kept until it expires;
* ``answers``: a sink's answer read within a size and a time bound.
"""

from __future__ import annotations

from .client import ClientAuth, HeaderAuth, plain, request_auth
from .options import (
    AuthorizationConfig,
    BasicAuthConfig,
    HeaderValues,
    HTTPClientConfig,
    OAuth2Config,
    ProxyConfig,
    TLSConfig,
    check_headers,
    parse_parameter_name,
    parse_secret,
    parse_sink_url,
)
from .session import PooledSession, SessionAdapter, new_session, root_cause
from .tls import KeptContext, TLSConfigError, ssl_context, tls_arguments

__all__ = [
    "AuthorizationConfig",
    "BasicAuthConfig",
    "ClientAuth",
    "HTTPClientConfig",
    "HeaderAuth",
    "HeaderValues",
    "KeptContext",
    "OAuth2Config",
    "PooledSession",
    "ProxyConfig",
    "SessionAdapter",
    "TLSConfig",
    "TLSConfigError",
    "check_headers",
    "new_session",
    "parse_parameter_name",
    "parse_secret",
    "parse_sink_url",
    "plain",
    "request_auth",
    "root_cause",
    "ssl_context",
    "tls_arguments",
]
