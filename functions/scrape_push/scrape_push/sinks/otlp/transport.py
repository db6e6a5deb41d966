"""Sending OTLP/HTTP export requests: headers, authentication, answers, retries within the deadline.

As the OTLP/HTTP specification says: a 2xx answer is success, and its
``ExportMetricsServiceResponse.partial_success`` (when set) names how many data points the
receiver refused and why: those are counted as rejected and never retried. 429, 502, 503 and
504 are retried, waiting as ``Retry-After`` asks (seconds or a date, at most
``MAX_RETRY_AFTER``) or with exponential backoff and jitter; so are connection failures and
timeouts. Every other status is permanent: the request is rejected with the status and the
receiver's ``google.rpc.Status`` message (or the start of its body). No attempt starts, and no
wait runs, past the deadline. At most ``MAX_RESPONSE_BYTES`` of an answer are read, and not past
the attempt's time.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import requests
from aws_lambda_powertools import Logger
from requests.structures import CaseInsensitiveDict

from ... import __version__
from ...deadline import Deadline
from ...httpconfig import root_cause, tls_arguments
from ...httpconfig.answers import read_answer
from ...retry import backoff, retry_after
from . import encode
from .config import OTLPConfig
from .limits import (
    CONNECT_SHARE,
    CONTENT_TYPE,
    MAX_ERROR_CHARS,
    MAX_RESPONSE_BYTES,
    MAX_RETRY_AFTER,
    MIN_SECONDS_TO_SEND,
    RETRYABLE_STATUSES,
)

USER_AGENT = f"scrape-push/{__version__}"

logger = Logger(service="scrape-push", child=True)


def request_headers(config: OTLPConfig) -> CaseInsensitiveDict[str]:
    """The configured headers, then the protocol's (a clash, in any case, is ours)."""
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(config.headers)
    headers["Content-Type"] = CONTENT_TYPE
    headers["User-Agent"] = USER_AGENT
    headers["Accept-Encoding"] = "identity"  # answers are tiny; a compressed one is read bounded all the same
    if config.compression == "gzip":
        headers["Content-Encoding"] = "gzip"
    return headers


@dataclass(frozen=True)
class Outcome:
    """How one request ended: ``sent`` (perhaps partly refused: ``refused`` data points, with
    the receiver's ``message``), ``rejected`` (permanent) or ``failed`` (not delivered)."""

    status: Literal["sent", "rejected", "failed"]
    attempts: int
    error: str | None = None
    refused: int = 0
    message: str = ""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str
    retry_after: str | None


class Sender:
    """Posts encoded export requests to one receiver over a pooled session."""

    def __init__(
        self,
        config: OTLPConfig,
        endpoint: str,
        auth: requests.auth.AuthBase | None,
        session: requests.Session,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] | None = None,
        wall_clock: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.endpoint = endpoint
        self.auth = auth
        self.session = session
        self.headers = request_headers(config)
        self.verify, _ = tls_arguments(config.tls_config)
        self.sleep = sleep
        self.rng = rng or random.random
        self.wall_clock = wall_clock
        self.clock = clock

    def send(self, body: bytes, deadline: Deadline) -> Outcome:
        """Deliver one export request, retrying as the protocol allows."""
        config = self.config
        attempt = 0
        last = "not sent: invocation deadline reached"
        while True:
            timeout = deadline.bound(config.timeout)
            if timeout < MIN_SECONDS_TO_SEND:
                return Outcome("failed", attempt, _gave_up(attempt, last))
            attempt += 1
            wait: float | None = None
            try:
                answer = self._post(body, timeout)
            except requests.RequestException as exc:
                last = f"{type(exc).__name__}: {root_cause(exc, MAX_ERROR_CHARS)}"
            else:
                if 200 <= answer.status < 300:
                    return _success(answer, attempt)
                last = f"HTTP {answer.status}: {_message(answer)}"
                if answer.status not in RETRYABLE_STATUSES:
                    logger.warning(
                        "otlp export rejected",
                        extra={"endpoint": self.endpoint, "status": answer.status, "error": last},
                    )
                    return Outcome("rejected", attempt, f"export rejected with {last}")
                wait = retry_after(answer.retry_after, self.wall_clock(), MAX_RETRY_AFTER)
            if wait is None:
                wait = backoff(attempt, config.min_backoff, config.max_backoff, self.rng)
            if deadline.remaining() - wait < MIN_SECONDS_TO_SEND:
                return Outcome("failed", attempt, _gave_up(attempt, last))
            self.sleep(wait)

    def _post(self, body: bytes, timeout: float) -> Answer:
        """One attempt: the answer's status and at most ``MAX_RESPONSE_BYTES`` of its body, read
        within ``timeout``."""
        until = self.clock() + timeout
        response = self.session.post(
            self.endpoint,
            data=body,
            headers=self.headers,
            auth=self.auth,
            timeout=(timeout * CONNECT_SHARE, timeout * (1 - CONNECT_SHARE)),
            verify=self.verify,
            allow_redirects=False,
            stream=True,
        )
        content = read_answer(response, MAX_RESPONSE_BYTES, until, self.clock)
        return Answer(
            response.status_code,
            content,
            response.headers.get("Content-Type", ""),
            response.headers.get("Retry-After"),
        )


def _success(answer: Answer, attempts: int) -> Outcome:
    """A 2xx answer: full success, or partial (counted, never retried), or one we cannot read
    (the status says the data was taken: success, with a note)."""
    if not answer.body or not _protobuf(answer.content_type):
        return Outcome("sent", attempts)
    try:
        refused, message = encode.partial_success(answer.body)
    except ValueError:
        return Outcome(
            "sent", attempts, message="the receiver's answer is not an ExportMetricsServiceResponse"
        )
    return Outcome("sent", attempts, refused=refused, message=_clean(message))


def _protobuf(content_type: str) -> bool:
    kind = content_type.split(";", maxsplit=1)[0].strip().lower()
    return kind in ("", CONTENT_TYPE, "application/protobuf")


def _message(answer: Answer) -> str:
    """The receiver's reason: its ``google.rpc.Status`` message, else the start of its body."""
    if answer.body and _protobuf(answer.content_type):
        try:
            found = encode.status_message(answer.body)
        except ValueError:
            found = ""
        if found:
            return _clean(found)
    return _clean(answer.body.decode("utf-8", "replace"))


def _clean(text: str) -> str:
    """One line, printable, at most ``MAX_ERROR_CHARS``."""
    printable = "".join(c if c.isprintable() else " " for c in text[: MAX_ERROR_CHARS * 4])
    return " ".join(printable.split())[:MAX_ERROR_CHARS]


def _gave_up(attempts: int, last: str) -> str:
    if attempts == 0:
        return last
    return f"not delivered after {attempts} attempt(s) before the invocation deadline; last: {last}"
