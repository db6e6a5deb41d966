"""Sending PutMetricData requests: concurrent, isolated, bounded by the deadline.

A request CloudWatch refuses for good (an HTTP 4xx answer other than throttling, e.g.
``InvalidParameterValue``) is *rejected*: sending it again cannot succeed. Throttling, 5xx
answers and network failures that outlast botocore's own retries are *failed*: the request can
be sent again later. Once one request has failed, requests not yet started are skipped.
"""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from ... import aws
from ...aws import ClientFor
from ...deadline import Deadline
from ..base import Result

MIN_SECONDS_TO_SEND = 1.0
"""A request is not started with less time than this left before the deadline."""

MAX_ERROR_CHARS = 256

BODY_COMPRESSION_LEVEL = 1
"""zlib level of requests kept in the backlog: the fastest level already gains most of the size."""

RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestTimeout",
    }
)
"""Error codes that say "later", whatever their HTTP status."""

Put = tuple[str, Sequence[dict[str, Any]]]
"""One PutMetricData request: namespace and the MetricData list (boto3 shapes)."""


def encode_request(namespace: str, metric_data: Sequence[dict[str, Any]]) -> bytes:
    """A request for the backlog: JSON (timestamps as epoch seconds, which boto3 accepts),
    zlib-compressed (repeated metric and dimension names shrink about tenfold)."""
    text = json.dumps(
        {"Namespace": namespace, "MetricData": metric_data}, separators=(",", ":"), default=_plain
    )
    return zlib.compress(text.encode(), BODY_COMPRESSION_LEVEL)


def _plain(value: object) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"{type(value).__name__} in a MetricDatum")


def decode_request(body: bytes) -> Put:
    request = json.loads(zlib.decompress(body))
    return request["Namespace"], request["MetricData"]


def classify(exc: Exception) -> Result:
    """A failed call as ``rejected`` (permanent) or ``failed`` (worth sending again)."""
    if isinstance(exc, aws.answer_errors()):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", "Error"))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        message = f"{code}: {err.get('Message', '')}"[:MAX_ERROR_CHARS]
        if 400 <= status < 500 and code not in RETRYABLE_CODES:
            return Result("rejected", f"PutMetricData rejected: {message}")
        return Result("failed", f"PutMetricData failed: {message}")
    if isinstance(exc, aws.unanswered_errors()):
        return Result("failed", f"PutMetricData failed: {str(exc)[:MAX_ERROR_CHARS]}")
    return Result("failed", f"PutMetricData failed: {type(exc).__name__}: {str(exc)[:MAX_ERROR_CHARS]}")


def put_all(
    clients: ClientFor, puts: Sequence[Put], *, deadline: Deadline, max_concurrency: int
) -> list[Result]:
    """Send every request, one ``Result`` each, in order; one failing never stops the others
    already started. Each request's client is chosen when it starts, so its timeouts and
    retries fit the time left."""
    if not puts:
        return []
    down = threading.Event()

    def send(put: Put) -> Result:
        if down.is_set():
            return Result("skipped", "not sent: an earlier request failed")
        if deadline.remaining() < MIN_SECONDS_TO_SEND:
            return Result("failed", "not sent: invocation deadline reached")
        namespace, metric_data = put
        try:
            clients(deadline).put_metric_data(Namespace=namespace, MetricData=list(metric_data))
        except Exception as exc:  # whatever goes wrong with one request must not stop the others
            result = classify(exc)
            if result.status == "failed":
                down.set()
            return result
        return Result("sent")

    workers = max(1, min(max_concurrency, len(puts)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cloudwatch") as pool:
        return list(pool.map(send, puts))
