"""Sinks: where samples go. Each kind is a plugin package ``<section>/`` (``plugins.py``), with
its translation apart from its transport.

A kind's package is imported only when the configuration uses it, and its sink modules only when
one is built, so a cold start pays only for the sinks it needs. Each kind is wrapped for
delivery: with a durable backlog in S3 when ``BACKLOG_BUCKET`` is set and the sink's
``backlog.enabled`` is true, else sending directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..plugins import SINKS, BuildContext
from ..shards.lineage import NONE as NO_LINEAGE
from ..shards.lineage import Lineage
from .base import Prepared, Request, Result, Sink, SinkReport

if TYPE_CHECKING:
    from ..backlog.config import BacklogConfig
    from ..backlog.store import BacklogStore
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
    """The job selection an invocation serves: its own lease and backlog per sink (and shard)."""
    return "*" if jobs is None else ",".join(sorted(jobs))


@dataclass(frozen=True)
class Folders:
    """Whose leases and backlogs a cycle's deliveries use: its job selection and shard, and the
    other shards' backlogs it owes after the shard count changed (``shards.lineage``)."""

    jobs: Sequence[str] | None = None
    shard: int = 0
    lineage: Lineage = NO_LINEAGE

    def store(self, bucket: str, sink: Sink, context: BuildContext, shard: int) -> BacklogStore:
        """The backlog folder of ``sink`` for shard ``shard`` of this job selection."""
        from ..backlog.store import BacklogStore, sink_id  # noqa: PLC0415

        folder = sink_id(sink.name, job_group(self.jobs), shard)
        return BacklogStore(bucket, folder, context.aws.bounded("s3"))


def wrap_deliveries(
    sinks: Sequence[tuple[Sink, BacklogConfig]], context: BuildContext, folders: Folders, cycle_ms: int
) -> list[Delivery]:
    """Each sink in its delivery for one cycle of ``folders`` that started at ``cycle_ms``:
    durable when the function has a backlog bucket and the sink's backlog is on."""
    from ..delivery import DirectDelivery  # noqa: PLC0415 (no boto3 S3 model for a direct sink)

    bucket = context.settings.backlog_bucket
    deliveries: list[Delivery] = []
    for sink, backlog in sinks:
        if bucket and backlog.enabled:
            deliveries.append(_durable(sink, backlog, context, bucket, folders, cycle_ms))
        else:
            deliveries.append(DirectDelivery(sink))
    return deliveries


def _durable(  # noqa: PLR0917 (a durable delivery's collaborators, each once)
    sink: Sink, backlog: BacklogConfig, context: BuildContext, bucket: str, folders: Folders, cycle_ms: int
) -> Delivery:
    from ..backlog.durable import DurableDelivery, Owed  # noqa: PLC0415
    from ..backlog.lease import Leases  # noqa: PLC0415

    table = context.settings.state_table
    leases = Leases(context.aws.bounded("dynamodb"), table) if table else None
    store = folders.store(bucket, sink, context, folders.shard)
    owed = Owed(
        waits_for=tuple((folders.store(bucket, sink, context, s), ms) for s, ms in folders.lineage.waits_for),
        inherits=tuple((folders.store(bucket, sink, context, s), ms) for s, ms in folders.lineage.inherits),
    )
    scrub = context.secrets.scrubber.scrub
    return DurableDelivery(sink, store, leases, backlog, cycle_ms, scrub=scrub, owed=owed)


__all__ = [
    "Folders",
    "Prepared",
    "Request",
    "Result",
    "Sink",
    "SinkReport",
    "build_sinks",
    "job_group",
    "wrap_deliveries",
]
