"""Sending PutMetricData requests: concurrent, isolated, bounded by the deadline."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ...deadline import Deadline
from ..base import SinkReport
from .convert import Datum

MIN_SECONDS_TO_SEND = 1.0
"""A request is not started with less time than this left before the deadline."""

MAX_ERROR_CHARS = 256


def put_all(
    client: Any,
    batches: Sequence[tuple[str, Sequence[Datum]]],
    *,
    deadline: Deadline,
    report: SinkReport,
    max_concurrency: int,
) -> None:
    """Send every ``(namespace, batch)``; a failed request is counted in ``report`` and never
    stops the others. Each datum accounts for ``weight`` samples (sent or failed)."""
    if not batches:
        return

    def send(request: tuple[str, Sequence[Datum]]) -> str | None:
        namespace, batch = request
        if deadline.remaining() < MIN_SECONDS_TO_SEND:
            return "not sent: invocation deadline reached"
        try:
            client.put_metric_data(Namespace=namespace, MetricData=[d.payload for d in batch])
        except ClientError as exc:
            err = exc.response.get("Error", {})
            message = f"{err.get('Code', 'Error')}: {err.get('Message', '')}"[:MAX_ERROR_CHARS]
            return f"PutMetricData rejected: {message}"
        except BotoCoreError as exc:
            return f"PutMetricData failed: {str(exc)[:MAX_ERROR_CHARS]}"
        except Exception as exc:  # whatever goes wrong with one request must not stop the others
            return f"PutMetricData failed: {type(exc).__name__}: {str(exc)[:MAX_ERROR_CHARS]}"
        return None

    workers = max(1, min(max_concurrency, len(batches)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cloudwatch") as pool:
        outcomes = list(pool.map(send, batches))
    for (_, batch), error in zip(batches, outcomes, strict=True):
        report.requests += 1
        weight = sum(d.weight for d in batch)
        if error is None:
            report.sent += weight
        else:
            report.failed += weight
            report.failed_requests += 1
            report.error(error)
