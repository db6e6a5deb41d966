"""Sinks: where samples go. Each kind is a plugin package ``<section>/`` (``plugins.py``), with
its translation apart from its transport.

A kind's package is imported only when the configuration uses it, and its sink modules only when
one is built, so a cold start pays only for the sinks it needs. Each kind is wrapped for
delivery: with a durable backlog in S3 when ``BACKLOG_BUCKET`` is set and the sink's
``backlog.enabled`` is true, else sending directly.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..plugins import SINKS, BuildContext
from .base import Prepared, Request, Result, Sink, SinkReport

if TYPE_CHECKING:
    from ..backlog.config import BacklogConfig
    from ..config.model import Config
    from ..delivery import Delivery


def build_sinks(config: Config) -> list[tuple[Sink, BacklogConfig]]:
    """One sink per configured destination, in configuration order, with its backlog settings."""
    context = BuildContext.of(config)
    sinks: list[tuple[Sink, BacklogConfig]] = []
    for section, entries in config.sinks.items():
        build = SINKS.get(section).build
        sinks.extend((build(entry, context), entry.backlog) for entry in entries)
    return sinks


def job_group(jobs: Sequence[str] | None) -> str:
    """The job selection an invocation serves: its own lease and backlog per sink."""
    return "*" if jobs is None else ",".join(sorted(jobs))


def build_deliveries(
    config: Config,
    jobs: Sequence[str] | None = None,
    cycle_ms: int | None = None,
    sinks: Sequence[tuple[Sink, BacklogConfig]] | None = None,
) -> list[Delivery]:
    """The configured sinks (``sinks``, as ``build_sinks`` made them, else new ones) in their
    deliveries, ready for one cycle of the job selection ``jobs`` (all if ``None``) that started
    at ``cycle_ms`` (its backlog items are ordered by it)."""
    from ..backlog.store import BACKLOG_BUCKET_ENV  # noqa: PLC0415 (no boto3 import for a direct sink)
    from ..delivery import DirectDelivery  # noqa: PLC0415

    bucket = os.environ.get(BACKLOG_BUCKET_ENV)
    deliveries: list[Delivery] = []
    for sink, backlog in build_sinks(config) if sinks is None else sinks:
        if bucket and backlog.enabled:
            deliveries.append(_durable(sink, backlog, bucket, job_group(jobs), cycle_ms))
        else:
            deliveries.append(DirectDelivery(sink))
    return deliveries


def _durable(sink: Sink, backlog: BacklogConfig, bucket: str, group: str, cycle_ms: int | None) -> Delivery:
    from .. import aws  # noqa: PLC0415
    from ..backlog.durable import DurableDelivery  # noqa: PLC0415
    from ..backlog.lease import Leases  # noqa: PLC0415
    from ..backlog.store import BacklogStore, sink_id  # noqa: PLC0415
    from ..statetable import STATE_TABLE_ENV  # noqa: PLC0415

    table = os.environ.get(STATE_TABLE_ENV)
    leases = Leases(aws.bounded("dynamodb"), table) if table else None
    store = BacklogStore(bucket, sink_id(sink.name, group))
    return DurableDelivery(sink, store, leases, backlog, cycle_ms or int(time.time() * 1000))


__all__ = [
    "Prepared",
    "Request",
    "Result",
    "Sink",
    "SinkReport",
    "build_deliveries",
    "build_sinks",
    "job_group",
]
