"""Sending Remote Write requests: headers, authentication, TLS, retries within the deadline.

Retry policy (Remote Write 1.0): a 5xx answer, a 429 (unless ``retry_on_http_429: false``) and
a connection failure or timeout are retried with exponential backoff and jitter, starting at
``min_backoff`` and doubling up to ``max_backoff``; a ``Retry-After`` header sets the wait
instead. Any other 4xx is permanent: never retried, its status and at most 256 bytes of its
body are logged and the samples counted as rejected. No attempt starts, and no wait runs, past
the invocation's deadline; an answer is read within the attempt's time and at most
``MAX_ANSWER_BYTES`` of it (a receiver's endless or trickling body cannot hold the sender).
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple

import requests
from aws_lambda_powertools import Logger
from requests.cookies import RequestsCookieJar
from requests.structures import CaseInsensitiveDict
from requests.utils import default_headers

from ... import __version__
from ...deadline import Deadline
from ...httpconfig import root_cause
from ...scrapehttp.posts import Bounds, Poster, PostFailure
from .config import QueueConfig, RemoteWriteConfig
from .limits import (
    CONNECT_SHARE,
    CONTENT_ENCODING,
    CONTENT_TYPE,
    MAX_ANSWER_BYTES,
    MAX_ERROR_BODY_BYTES,
    MAX_RETRY_AFTER,
    MIN_SECONDS_TO_SEND,
    PROTOCOL_VERSION,
    PROTOCOL_VERSION_HEADER,
)

USER_AGENT = f"scrape-push/{__version__}"

logger = Logger(service="scrape-push", child=True)


def protocol_headers() -> dict[str, str]:
    """The headers Remote Write requires; configured ``headers`` never override them."""
    return {
        "Content-Encoding": CONTENT_ENCODING,
        "Content-Type": CONTENT_TYPE,
        PROTOCOL_VERSION_HEADER: PROTOCOL_VERSION,
        "User-Agent": USER_AGENT,
    }


def request_headers(user_headers: dict[str, str]) -> CaseInsensitiveDict[str]:
    """The configured headers, then the protocol's (so a clash, in any case, is ours)."""
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(user_headers)
    headers.update(protocol_headers())
    return headers


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max(0.0, when.timestamp() - now), MAX_RETRY_AFTER)


def backoff(attempt: int, queue: QueueConfig, rng: Callable[[], float]) -> float:
    """Wait before retry ``attempt`` (1-based): ``min_backoff * 2**(attempt-1)`` capped at
    ``max_backoff``, with jitter drawing it from the upper half of that range."""
    ceiling = min(queue.max_backoff, queue.min_backoff * 2.0 ** (attempt - 1))
    return ceiling / 2 + rng() * ceiling / 2


def retryable(status: int, queue: QueueConfig) -> bool:
    return status >= 500 or (status == 429 and queue.retry_on_http_429)


class AttemptFailed(Exception):
    """No answer came to one attempt; the text says why, as requests names it."""


class Answer(NamedTuple):
    """A receiver's answer to one attempt: at most ``MAX_ANSWER_BYTES`` of its body."""

    status: int
    reason: str | None
    retry_after: str | None
    body: bytes


@dataclass(frozen=True)
class Outcome:
    """How one request ended: ``sent``, ``rejected`` (permanent 4xx) or ``failed`` (not delivered)."""

    status: Literal["sent", "rejected", "failed"]
    attempts: int
    error: str | None = None


class Sender:
    """Posts encoded, compressed WriteRequests to one receiver on the sink's own connections
    (``scrapehttp.posts``)."""

    def __init__(
        self,
        config: RemoteWriteConfig,
        auth: requests.auth.AuthBase | Callable[[requests.PreparedRequest], requests.PreparedRequest] | None,
        *,
        poster: Poster,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.auth = auth
        self.headers = request_headers(config.headers)
        self.poster = poster
        self.sleep = sleep
        self.rng = rng or random.random
        self.wall_clock = wall_clock
        self._template: requests.PreparedRequest | None = None
        """The request's URL and headers, prepared at the first send (``_request``)."""

    def send(self, body: bytes, deadline: Deadline, what: str = "request") -> Outcome:
        """Deliver one compressed WriteRequest, retrying as the policy allows."""
        queue = self.config.queue_config
        attempt = 0
        last = "not sent: invocation deadline reached"
        while True:
            timeout = deadline.bound(self.config.remote_timeout)
            if timeout < MIN_SECONDS_TO_SEND:
                return Outcome("failed", attempt, self._gave_up(attempt, last))
            attempt += 1
            retry_after: float | None = None
            try:
                answer = self._attempt(body, timeout, deadline.clock)
            except AttemptFailed as exc:
                last = str(exc)
            else:
                if 200 <= answer.status < 300:
                    return Outcome("sent", attempt)
                excerpt = _excerpt(answer.body, answer.reason)
                last = f"HTTP {answer.status}: {excerpt}"
                if not retryable(answer.status, queue):
                    logger.warning(
                        "remote write rejected",
                        extra={
                            "url": self.config.url,
                            "status": answer.status,
                            "body": excerpt,
                            "what": what,
                        },
                    )
                    return Outcome(
                        "rejected", attempt, f"{what} rejected with HTTP {answer.status}: {excerpt}"
                    )
                retry_after = parse_retry_after(answer.retry_after, self.wall_clock())
            wait = retry_after if retry_after is not None else backoff(attempt, queue, self.rng)
            if deadline.remaining() - wait < MIN_SECONDS_TO_SEND:
                return Outcome("failed", attempt, self._gave_up(attempt, last))
            self.sleep(wait)

    def _attempt(self, body: bytes, timeout: float, clock: Callable[[], float]) -> Answer:
        """One POST of ``body`` within ``timeout`` seconds. ``AttemptFailed`` when no answer
        came."""
        try:
            request = self._request(body)  # a SigV4 signature may fail (a request error)
        except requests.RequestException as exc:
            raise AttemptFailed(f"{type(exc).__name__}: {root_cause(exc, MAX_ERROR_BODY_BYTES)}") from None
        bounds = Bounds(
            timeout * CONNECT_SHARE, timeout * (1 - CONNECT_SHARE), clock() + timeout, clock, MAX_ANSWER_BYTES
        )
        try:
            posted = self.poster.post(request, bounds)
        except PostFailure as exc:
            raise AttemptFailed(str(exc)) from None
        return Answer(posted.status, posted.reason, posted.header("Retry-After"), posted.body)

    def _request(self, body: bytes) -> requests.PreparedRequest:
        """What ``requests.post(url, data=body, headers=..., auth=...)`` sends: the URL and
        headers merged with requests' defaults and checked once per sender, the body and ``auth``
        (a SigV4 signature covers the body) applied to each request. ``Session.request`` would
        build and merge all of it on every request (a third of a request's CPU, about 95 µs:
        docs/remote-write.md#performance)."""
        template = self._template
        if template is None:
            headers = default_headers()
            headers.update(self.headers)
            template = requests.PreparedRequest()
            template.prepare(
                method="POST", url=self.config.url, headers=headers, cookies=RequestsCookieJar(), hooks={}
            )
            self._template = template
        request = template.copy()
        request.hooks = {"response": []}  # the copy's own: ``auth`` may add to them
        request.prepare_body(body, None)
        request.prepare_auth(self.auth)
        return request

    def _rejected(self, status: int, excerpt: str, attempt: int, what: str) -> Outcome:
        logger.warning(
            "remote write rejected",
            extra={"url": self.config.url, "status": status, "body": excerpt, "what": what},
        )
        return Outcome("rejected", attempt, f"{what} rejected with HTTP {status}: {excerpt}")

    @staticmethod
    def _gave_up(attempts: int, last: str) -> str:
        if attempts == 0:
            return last
        return f"not delivered after {attempts} attempt(s) before the invocation deadline; last: {last}"


def _excerpt(answer: bytes, reason: str | None) -> str:
    text = answer[:MAX_ERROR_BODY_BYTES].decode("utf-8", "replace").strip()
    return " ".join(text.split()) or (reason or "")
