"""Sinks: where samples go. Each kind is a plugin package ``<section>/`` (``plugins.py``), with
its translation apart from its transport.

A kind's package is imported only when the configuration uses it, and its sink modules only when
one is built, so a cold start pays only for the sinks it needs. Each kind is wrapped for
delivery: with a durable backlog in S3 when ``BACKLOG_BUCKET`` is set and the sink's
``backlog.enabled`` is true, else sending directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..plugins import SINKS, BuildContext
from .base import Prepared, Request, Result, Sink, SinkReport

if TYPE_CHECKING:
    from ..backlog.config import BacklogConfig
    from ..config.model import Config
    from ..delivery import Delivery


def build_sinks(config: Config, context: BuildContext) -> list[tuple[Sink, BacklogConfig]]:
    """One sink per configured destination, in configuration order, with its backlog settings."""
    sinks: list[tuple[Sink, BacklogConfig]] = []
    for section, entries in config.sinks.items():
        build = SINKS.get(section).build
        sinks.extend((build(entry, context), entry.backlog) for entry in entries)
    return sinks


def job_group(jobs: Sequence[str] | None) -> str:
    """The job selection an invocation serves: its own lease and backlog per sink."""
    return "*" if jobs is None else ",".join(sorted(jobs))


def wrap_deliveries(
    sinks: Sequence[tuple[Sink, BacklogConfig]], context: BuildContext, group: str, cycle_ms: int
) -> list[Delivery]:
    """Each sink in its delivery for one cycle of job group ``group`` that started at
    ``cycle_ms``: durable when the function has a backlog bucket and the sink's backlog is on."""
    from ..delivery import DirectDelivery  # noqa: PLC0415 (no boto3 S3 model for a direct sink)

    bucket = context.settings.backlog_bucket
    deliveries: list[Delivery] = []
    for sink, backlog in sinks:
        if bucket and backlog.enabled:
            deliveries.append(_durable(sink, backlog, context, bucket=bucket, group=group, cycle_ms=cycle_ms))
        else:
            deliveries.append(DirectDelivery(sink))
    return deliveries


def _durable(
    sink: Sink, backlog: BacklogConfig, context: BuildContext, *, bucket: str, group: str, cycle_ms: int
) -> Delivery:
    from ..backlog.durable import DurableDelivery  # noqa: PLC0415
    from ..backlog.lease import Leases  # noqa: PLC0415
    from ..backlog.store import BacklogStore, sink_id  # noqa: PLC0415

    table = context.settings.state_table
    leases = Leases(context.aws.bounded("dynamodb"), table) if table else None
    store = BacklogStore(bucket, sink_id(sink.name, group), context.aws.bounded("s3"))
    scrub = context.secrets.scrubber.scrub
    return DurableDelivery(sink, store, leases, backlog, cycle_ms, scrub=scrub)


__all__ = [
    "Prepared",
    "Request",
    "Result",
    "Sink",
    "SinkReport",
    "build_sinks",
    "job_group",
    "wrap_deliveries",
]
