"""The HTTP part of a scrape: one GET within the target's deadline, size limit and memory budget.

The body is read as sent and gunzipped here, a bounded piece at a time, so a gzip bomb is
stopped by the same size limit and budget as a plain body (the decompressed size counts).
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator

import requests
import urllib3.exceptions

from . import __version__, credentials
from .budget import BODY_BYTES_PER_BYTE, Account, BudgetExceeded
from .credentials import SecretError
from .guard import Aborted, Guard
from .httpconfig import TLSConfigError, request_auth, root_cause, tls_arguments
from .reach import ReachRefused
from .targets import Target

ACCEPT = (
    "application/openmetrics-text;version=1.0.0;escaping={escaping},"
    "application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
"""The Accept header Prometheus sends: OpenMetrics first, then text 0.0.4; the OpenMetrics 1.0.0
entry asks for the job's ``metric_name_escaping_scheme``, as Prometheus 3.x asks it."""

USER_AGENT = f"scrape-push/{__version__}"
READ_CHUNK_BYTES = 64 * 1024
"""Bytes read, and at most decompressed, at a time."""

GZIP_WBITS = 16 + zlib.MAX_WBITS


def quiet_insecure_warnings() -> None:
    """Silence urllib3's warning on requests made without certificate checks, for the process:
    ``tls_config.insecure_skip_verify`` is the user's explicit choice (as in Prometheus), and
    urllib3 would print a warning to the function's log on every such request (scrape or
    Remote Write). Called when the scrape stage is built, never on import."""
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


class ScrapeError(Exception):
    """The target could not be scraped; the message says why, without secrets."""


class Response:
    """What a target answered: its body (decompressed) and its ``Content-Type``."""

    def __init__(self, body: bytes, content_type: str | None) -> None:
        self.body = body
        self.content_type = content_type


def fetch(
    session: requests.Session, target: Target, guard: Guard, account: Account, timeout: float
) -> Response:
    """GET the target's URL; the guard cuts the connection at ``guard.due``."""
    headers = {
        "Accept": ACCEPT.format(escaping=target.name_escaping),
        "Accept-Encoding": "gzip",
        "User-Agent": USER_AGENT,
        "X-Prometheus-Scrape-Timeout-Seconds": f"{timeout:g}",
    }
    http = target.http
    try:
        proxies = None
        if http.proxy_url:
            credentials.remember_url_password(http.proxy_url)
            proxies = {"http": http.proxy_url, "https": http.proxy_url}
        verify, cert = tls_arguments(http.tls_config)
        with session.get(
            target.url,
            headers=headers,
            timeout=(timeout, timeout),
            stream=True,
            allow_redirects=http.follow_redirects,
            proxies=proxies,
            auth=request_auth(http.basic_auth, http.authorization),
            verify=verify,
            cert=cert,
        ) as response:
            if response.status_code != 200:
                raise ScrapeError(f"server returned HTTP status {response.status_code} {response.reason}")
            body = read_body(response, target.body_size_limit, account)
            guard.check()
            return Response(body, response.headers.get("Content-Type"))
    except (ScrapeError, BudgetExceeded):
        raise
    except ReachRefused as exc:
        raise ScrapeError(str(exc)) from None
    except (SecretError, TLSConfigError) as exc:
        raise ScrapeError(str(exc)) from None
    except Exception as exc:
        if guard.aborted or isinstance(exc, Aborted):  # whatever the cut connection raised
            raise ScrapeError(f"timed out after {timeout:g}s") from None
        raise ScrapeError(_request_failure(exc)) from None


def _request_failure(exc: Exception) -> str:
    if isinstance(exc, requests.Timeout | urllib3.exceptions.ReadTimeoutError):
        return "timed out"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS handshake failed: {root_cause(exc)}"
    if isinstance(exc, requests.ConnectionError):
        return f"connection failed: {root_cause(exc)}"
    if isinstance(exc, zlib.error):
        return "response body could not be decompressed"
    if isinstance(exc, requests.RequestException | urllib3.exceptions.HTTPError | OSError):
        return f"request failed: {root_cause(exc)}"
    raise exc


def read_body(response: requests.Response, limit: int, account: Account) -> bytes:
    """The body, decompressed when gzip, within ``limit`` bytes and the scrape's budget."""
    gzip = response.headers.get("Content-Encoding", "").strip().lower() in ("gzip", "x-gzip")
    out = io.BytesIO()  # its getvalue() hands over the buffer without a copy
    size = 0
    raw = response.raw.stream(READ_CHUNK_BYTES, decode_content=False)
    for piece in _gunzip(raw) if gzip else raw:
        size += len(piece)
        if size > limit:
            raise ScrapeError(f"body size limit of {limit} bytes exceeded")
        account.charge(len(piece) * BODY_BYTES_PER_BYTE, "reading the body")
        out.write(piece)
    return out.getvalue()


def _gunzip(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Decompressed pieces of at most ``READ_CHUNK_BYTES``; concatenated members are read on,
    as Prometheus's (Go's) gzip reader does. A truncated stream is an error."""
    decoder = zlib.decompressobj(GZIP_WBITS)
    pending = False
    for chunk in chunks:
        data = chunk
        while True:
            pending = pending or bool(data)
            piece = decoder.decompress(data, READ_CHUNK_BYTES)
            if piece:
                yield piece
            if decoder.eof:
                data, decoder, pending = decoder.unused_data, zlib.decompressobj(GZIP_WBITS), False
                if data:
                    continue
                break
            data = decoder.unconsumed_tail
            if not data and len(piece) < READ_CHUNK_BYTES:
                break
    if pending:
        raise zlib.error("truncated gzip stream")
