"""``oauth2``: an access token from the OAuth 2.0 client credentials grant (RFC 6749 section
4.4), kept until it expires, as Prometheus gets it (golang.org/x/oauth2's ``clientcredentials``).

The token endpoint is one more server that may answer anything, slowly or never. Its request
runs on the connections of the scrape (or the HTTP SD refresh) that needs the token, so it is
cut at that scrape's deadline; its answer is read up to ``MAX_TOKEN_RESPONSE_BYTES`` and must be
a 2xx holding a token of printable characters. It follows no redirect. The client secret, the
token and the forms they travel in (``Basic base64(id:secret)``, ``Bearer <token>``) are added
to the scrubber before they are sent, so no log line, error or summary can show them.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, quote_plus

import requests
import urllib3.exceptions
from requests.auth import AuthBase, HTTPBasicAuth

from .. import guard
from ..credentials import SecretResolver
from .options import CLIENT_CREDENTIALS, OAuth2Config
from .session import root_cause

EXPIRY_DELTA_SECONDS = 10.0
"""A token is renewed this long before it expires (x/oauth2 ``token.go``, ``expiryDelta``)."""
MAX_TOKEN_RESPONSE_BYTES = 1 << 20
"""The most of a token endpoint's answer that is read (x/oauth2 ``internal/token.go`` reads
``io.LimitReader(r.Body, 1<<20)``); more fails the request."""
MAX_EXPIRES_IN_SECONDS = 2**31 - 1
"""x/oauth2 reads ``expires_in`` as an int32 and caps larger values at its maximum."""
UNGUARDED_TIMEOUT_SECONDS = 10.0
"""Connect and read timeouts of a token request made outside any scrape or discovery (none is:
every caller runs on a guard, which bounds the request to its deadline instead)."""
_PRINTABLE = re.compile(r"^[\x21-\x7e]+$")
"""An access token's characters: printable ASCII, no space (RFC 6750 ``b64token`` is a subset),
so it can never break the header it goes in."""
_ERROR_CODE = re.compile(r"^[\x20\x21\x23-\x5b\x5d-\x7e]{1,64}$")
"""An RFC 6749 section 5.2 ``error`` code, short enough to quote."""
_TOKEN_TYPES = {"bearer": "Bearer", "mac": "MAC", "basic": "Basic"}
"""x/oauth2 ``Token.Type()``: these are written in their canonical case; others as given."""


class OAuth2Error(requests.RequestException):
    """No token could be had; the message names the token endpoint and why, never a secret. A
    request exception, so the scrape fails as for any failed request."""


@dataclass(frozen=True)
class Token:
    """What the ``Authorization`` header carries, and when (monotonic) it must be renewed."""

    authorization: str
    renew_at: float | None
    """``None``: the endpoint gave no ``expires_in``; the token is kept (x/oauth2 does too)."""

    def valid(self, now: float) -> bool:
        return self.renew_at is None or now < self.renew_at


def _left() -> tuple[float, float]:
    """The time the current scrape (or discovery) has left, and the connect/read timeout."""
    current = guard.current()
    if current is None:
        return UNGUARDED_TIMEOUT_SECONDS, UNGUARDED_TIMEOUT_SECONDS
    left = current.due - current.clock()
    if current.aborted or left <= 0:
        raise guard.Aborted
    return left, left


class TokenSource:
    """The token of one ``oauth2`` block, shared by every request of its configuration."""

    def __init__(
        self,
        config: OAuth2Config,
        secrets: SecretResolver,
        session: requests.Session,
        endpoint_auth: AuthBase,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.secrets = secrets
        self.session = session
        """A session of the block's own ``tls_config`` (``own_requests=False``)."""
        self.endpoint_auth = endpoint_auth
        """The block's ``http_headers`` and proxy (an ``httpclient.ClientAuth``)."""
        self.clock = clock
        self._lock = threading.Lock()
        self._token: Token | None = None
        self._style: str | None = None
        """How the endpoint takes the client's credentials, once known: ``header`` (HTTP Basic)
        or ``params`` (in the form); x/oauth2 tries the header first, then the form."""

    def authorization(self) -> str:
        """``<type> <token>``: the cached token while it is valid, else a new one."""
        token = self._token
        if token is not None and token.valid(self.clock()):
            return token.authorization
        wait, _ = _left()
        if not self._lock.acquire(timeout=wait):  # another scrape is asking for it
            raise OAuth2Error(f"oauth2: no token from {self.config.token_url} in time")
        try:
            token = self._token
            if token is None or not token.valid(self.clock()):
                token = self._token = self._fetch()
            return token.authorization
        finally:
            self._lock.release()

    def _fetch(self) -> Token:
        config = self.config
        secret = self.secrets.resolve(config.client_secret, config.client_secret_ssm_parameter)
        revealed = secret.reveal() if secret is not None else ""
        client = (quote_plus(config.client_id), quote_plus(revealed))
        self.secrets.scrubber.add(client[1])
        self.secrets.scrubber.add_basic_auth(*client)
        form = {"grant_type": CLIENT_CREDENTIALS}
        if config.scopes:
            form["scope"] = " ".join(config.scopes)
        form.update(config.endpoint_params)
        styles = [self._style] if self._style is not None else ["header", "params"]
        for style in styles:
            if style == "header":
                status, answer = self._post(form, HTTPBasicAuth(*client))
            else:
                status, answer = self._post(
                    {**form, "client_id": config.client_id, "client_secret": revealed}
                )
            if 200 <= status <= 299 or style == styles[-1]:
                break
        token = self._token_of(status, answer)
        self._style = style
        return token

    def _post(
        self, form: dict[str, str], client_auth: AuthBase | None = None
    ) -> tuple[int, tuple[str, bytes]]:
        """The endpoint's status, ``Content-Type`` and body (bounded), for one token request."""
        failure = None
        try:
            with self.session.post(
                self.config.token_url,
                data=form,
                headers={"Accept": "application/json", "Accept-Encoding": "identity"},
                auth=_Both(self.endpoint_auth, client_auth),
                timeout=_left(),
                allow_redirects=False,
                stream=True,
            ) as response:
                body = _read(response)
                return response.status_code, (response.headers.get("Content-Type", ""), body)
        except guard.Aborted:
            raise
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            failure = root_cause(exc)
        raise OAuth2Error(f"oauth2: token request to {self.config.token_url} failed: {failure}")

    def _token_of(self, status: int, answer: tuple[str, bytes]) -> Token:
        url = self.config.token_url
        content_type, body = answer
        fields = _fields(content_type, body)
        if not 200 <= status <= 299:
            code = fields.get("error")
            reason = f" ({code})" if isinstance(code, str) and _ERROR_CODE.match(code) else ""
            raise OAuth2Error(f"oauth2: token endpoint {url} answered HTTP {status}{reason}")
        access = fields.get("access_token")
        if not isinstance(access, str) or not access:
            raise OAuth2Error(f"oauth2: token endpoint {url} answered without an access_token")
        if not _PRINTABLE.match(access):
            raise OAuth2Error(f"oauth2: token endpoint {url} answered an access_token that is not printable")
        kind = fields.get("token_type")
        kind = kind if isinstance(kind, str) and _PRINTABLE.match(kind) else ""
        authorization = f"{_TOKEN_TYPES.get(kind.lower(), kind) or 'Bearer'} {access}"
        self.secrets.scrubber.add(access)
        self.secrets.scrubber.add(authorization)
        seconds = _expires_in(fields.get("expires_in"))
        renew_at = self.clock() + seconds - EXPIRY_DELTA_SECONDS if seconds else None
        return Token(authorization, renew_at)


class _Both(AuthBase):
    """The block's headers and proxy, then the client's credentials (if in the header)."""

    def __init__(self, first: AuthBase, second: AuthBase | None) -> None:
        self.first = first
        self.second = second

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request = self.first(request)
        return self.second(request) if self.second is not None else request


def _read(response: requests.Response) -> bytes:
    pieces: list[bytes] = []
    size = 0
    for piece in response.raw.stream(64 * 1024, decode_content=False):
        size += len(piece)
        if size > MAX_TOKEN_RESPONSE_BYTES:
            raise OAuth2Error(f"oauth2: token endpoint answered more than {MAX_TOKEN_RESPONSE_BYTES} bytes")
        pieces.append(piece)
    return b"".join(pieces)


def _fields(content_type: str, body: bytes) -> dict[str, object]:
    """The answer's fields: a form (``application/x-www-form-urlencoded`` or ``text/plain``,
    as x/oauth2 reads them) or JSON; ``{}`` when it is neither."""
    media = content_type.split(";", 1)[0].strip().lower()
    try:
        text = body.decode("utf-8")
        if media in ("application/x-www-form-urlencoded", "text/plain"):
            return {key: values[0] for key, values in parse_qs(text).items()}
        found = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return {}
    return found if isinstance(found, dict) else {}


def _expires_in(raw: object) -> int:
    """``expires_in`` in seconds (a number, or a string holding one); 0 when absent or invalid."""
    if isinstance(raw, str) and raw.isdigit() and len(raw) <= 12:
        raw = int(raw)
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if not isinstance(raw, int) or isinstance(raw, bool) or raw <= 0:
        return 0
    return min(raw, MAX_EXPIRES_IN_SECONDS)
