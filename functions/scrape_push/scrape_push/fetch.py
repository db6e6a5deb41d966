"""The HTTP part of a scrape: one GET within the target's deadline, size limit and memory budget.

A plain ``http`` target's GET goes without requests (``scrapehttp``: no proxy, no OAuth 2.0 or
SigV4, no redirect to follow); every other one through the scrape's requests session. Both read
the answer the same way (``_answered``), with the same errors.

The body is read as sent and gunzipped here, a bounded piece at a time, so a gzip bomb is
stopped by the same size limit and budget as a plain body (the decompressed size counts). The
inflater is zlib-ng's (the ``zlib-ng`` package: zlib's API and its checks, about three times
faster on scrape bodies than the standard library's zlib; docs/performance.md, round 11).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from functools import partial
from typing import cast

import requests
import urllib3.exceptions
from zlib_ng import zlib_ng

from . import __version__
from .budget import BODY_BYTES_PER_BYTE, Account, BudgetExceeded
from .credentials import SecretError, SecretResolver
from .guard import Aborted, Guard
from .httpconfig import PooledSession, TLSConfigError, root_cause, tls_arguments
from .negotiation import FormatError
from .reach import ReachRefused
from .scrapehttp import Failure, ScrapeTransport
from .targets import Target
from .turns import Turn, free

USER_AGENT = f"scrape-push/{__version__}"
READ_CHUNK_BYTES = 64 * 1024
"""Bytes read, and at most decompressed, at a time."""
GZIP_ENCODING = "gzip"
"""The one ``Content-Encoding`` whose body is inflated, exactly (its value trimmed of spaces and
tabs, as Go's header parser trims it): Prometheus compares the field with "gzip", so a body
marked ``x-gzip`` or ``GZIP`` is parsed as it came, and fails, as Prometheus's scrape of it does."""

GZIP_WBITS = 16 + zlib_ng.MAX_WBITS
InflateError = cast("type[Exception]", zlib_ng.error)
"""What the inflater raises on a broken stream (zlib-ng's stub types it as an instance)."""

MAX_CAUSES = 8
"""How deep a failed request's chain of causes is searched (requests wraps urllib3's errors,
which wrap http.client's)."""


class ScrapeError(Exception):
    """The target could not be scraped; the message says why, without secrets."""


class Response:
    """What a target answered: its body (decompressed) and the media type its ``Content-Type``
    selects (``Negotiation.media_type``)."""

    def __init__(self, body: bytes, content_type: str | None) -> None:
        self.body = body
        self.content_type = content_type


def fetch(
    session: PooledSession,
    target: Target,
    guard: Guard,
    account: Account,
    *,
    timeout: float,
    secrets: SecretResolver,
    transport: ScrapeTransport | None = None,
    turn: Turn | None = None,
) -> Response:
    """GET the target's URL (its credentials resolved through ``secrets``); the guard cuts the
    connection at ``guard.due``. The request goes through ``transport`` when it takes the
    target, which holds the scrape's ``turn`` (``turns``) but while it waits; through requests
    otherwise (and when ``transport`` hands back a redirect), off the turn."""
    turn = free() if turn is None else turn
    headers = {
        **target.negotiation.headers,
        "User-Agent": USER_AGENT,
        "X-Prometheus-Scrape-Timeout-Seconds": f"{timeout:g}",
    }
    try:
        if transport is not None and transport.takes(target):
            answer = transport.get(target, headers, session.prepared_get, guard, turn)
            if answer is not None:
                with answer:
                    return _answered(
                        target,
                        guard,
                        account,
                        status=answer.status,
                        reason=answer.reason,
                        header=answer.header,
                        pieces=answer.pieces(),
                        share=turn.share,
                    )
            guard.again()  # the redirect is followed by requests, from the target's own URL
        with turn.away():
            request = session.prepared_get(target.url, headers, target.auth)
            return _through_requests(session, request, target, guard, account, timeout=timeout)
    except (ScrapeError, BudgetExceeded):
        raise
    except ReachRefused as exc:
        raise ScrapeError(str(exc)) from None
    except (SecretError, TLSConfigError, FormatError) as exc:
        raise ScrapeError(str(exc)) from None
    except Exception as exc:
        if guard.aborted or isinstance(exc, Aborted) or _timed_out(exc):
            # the watch cut the connection (whatever it raised then), or an operation's own
            # timeout, the time left to the scrape, ran out first: the same fault, one message
            raise ScrapeError(f"timed out after {timeout:g}s") from None
        if isinstance(exc, Failure):
            raise ScrapeError(str(exc)) from None
        raise ScrapeError(_request_failure(exc)) from None


def _through_requests(
    session: PooledSession,
    request: requests.PreparedRequest,
    target: Target,
    guard: Guard,
    account: Account,
    *,
    timeout: float,
) -> Response:
    """The GET through requests: its proxies, TLS, redirects and their checks."""
    http = target.http
    proxies = {"http": http.proxy_url, "https": http.proxy_url} if http.proxy_url else {}
    verify, cert = tls_arguments(http.tls_config)
    get = partial(
        session.send,
        request,
        timeout=(timeout, timeout),
        stream=True,
        allow_redirects=http.follow_redirects,
        proxies=proxies,
        verify=verify,
        cert=cert,
    )
    with _sent(get, guard) as response:
        return _answered(
            target,
            guard,
            account,
            status=response.status_code,
            reason=response.reason,
            header=response.headers.get,
            pieces=response.raw.stream(READ_CHUNK_BYTES, decode_content=False),
        )


def _answered(
    target: Target,
    guard: Guard,
    account: Account,
    *,
    status: int,
    reason: str,
    header: Callable[[str], str | None],
    pieces: Iterator[bytes],
    share: Callable[[], None] = lambda: None,
) -> Response:
    """The target's answer, as either path read it: a 200's body within the target's size limit
    and the scrape's budget, and the media type its ``Content-Type`` selects; ``share`` is
    called between two pieces of the body (the scrape's ``Turn.share``)."""
    if status != 200:
        raise ScrapeError(f"server returned HTTP status {status} {reason}")
    gzip = (header("Content-Encoding") or "").strip(" \t") == GZIP_ENCODING
    body = read_body(pieces, gzip, target.body_size_limit, account, share)
    guard.check()
    return Response(body, target.negotiation.media_type(header("Content-Type")))


def _sent(get: Callable[[], requests.Response], guard: Guard) -> requests.Response:
    """``get()``'s response; sent once more when the connection kept from the target's last
    scrape turned out closed by the target as the request went out (its idle timeout ran out
    then), before any answer. A GET may be sent again, and Go's HTTP client (Prometheus's)
    sends it again in that case."""
    try:
        return get()
    except requests.ConnectionError as exc:
        if not guard.reused or guard.aborted or not _closed_by_peer(exc):
            raise
    guard.again()
    return get()


def _closed_by_peer(exc: BaseException) -> bool:
    """Whether a failed request's cause is the peer having closed or reset the connection."""
    seen: BaseException | None = exc
    for _ in range(MAX_CAUSES):
        if seen is None:
            return False
        if isinstance(seen, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
            return True  # http.client.RemoteDisconnected is a ConnectionResetError
        seen = (
            seen.__cause__
            or seen.__context__
            or (seen.args[-1] if seen.args and isinstance(seen.args[-1], BaseException) else None)
        )
    return False


def _timed_out(exc: Exception) -> bool:
    if isinstance(exc, Failure):
        return exc.timed_out
    return isinstance(exc, requests.Timeout | urllib3.exceptions.ReadTimeoutError)


def _request_failure(exc: Exception) -> str:
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS handshake failed: {root_cause(exc)}"
    if isinstance(exc, requests.ConnectionError):
        return f"connection failed: {root_cause(exc)}"
    if isinstance(exc, InflateError):
        return "response body could not be decompressed"
    if isinstance(exc, requests.RequestException | urllib3.exceptions.HTTPError | OSError):
        return f"request failed: {root_cause(exc)}"
    raise exc


def read_body(
    raw: Iterator[bytes],
    gzip: bool,
    limit: int,
    account: Account,
    share: Callable[[], None] = lambda: None,
) -> bytes:
    """The body from its ``raw`` pieces, decompressed when ``gzip``, within ``limit`` bytes (the
    decompressed size counts) and the scrape's budget; ``share()`` after each piece, so that a
    body that inflates a thousandfold from one read (a gzip bomb) shares the scrape's turn
    (``turns``) as a body read piece by piece from its socket does."""
    out = io.BytesIO()  # its getvalue() hands over the buffer without a copy
    size = 0
    for piece in _gunzip(raw) if gzip else raw:
        size += len(piece)
        if size > limit:
            raise ScrapeError(f"body size limit of {limit} bytes exceeded")
        account.charge(len(piece) * BODY_BYTES_PER_BYTE, "reading the body")
        out.write(piece)
        share()
    return out.getvalue()


def _gunzip(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Decompressed pieces of at most ``READ_CHUNK_BYTES``; concatenated members are read on,
    as Prometheus's (Go's) gzip reader does. A truncated stream is an error, and so is an empty
    one (Go's reader fails on the missing header, and the scrape with it)."""
    decoder = zlib_ng.decompressobj(GZIP_WBITS)
    pending = False
    members = 0
    for chunk in chunks:
        data = chunk
        while True:
            pending = pending or bool(data)
            piece = decoder.decompress(data, READ_CHUNK_BYTES)
            if piece:
                yield piece
            if decoder.eof:
                data, decoder, pending = decoder.unused_data, zlib_ng.decompressobj(GZIP_WBITS), False
                members += 1
                if data:
                    continue
                break
            data = decoder.unconsumed_tail
            if not data and len(piece) < READ_CHUNK_BYTES:
                break
    if pending:
        raise InflateError("truncated gzip stream")
    if not members:
        raise InflateError("empty gzip stream")
