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
from .base import Kind, Request, Result, Sink, SinkReport

if TYPE_CHECKING:
    from ..backlog.config import BacklogConfig
    from ..config.model import Config


def build_kinds(config: Config) -> list[tuple[Kind, BacklogConfig]]:
    """One kind object per configured destination, in configuration order, with its backlog."""
    context = BuildContext.of(config)
    kinds: list[tuple[Kind, BacklogConfig]] = []
    for section, entries in config.sinks.items():
        build = SINKS.get(section).build
        kinds.extend((build(entry, context), entry.backlog) for entry in entries)
    return kinds


def job_group(jobs: Sequence[str] | None) -> str:
    """The job selection an invocation serves: its own lease and backlog per sink."""
    return "*" if jobs is None else ",".join(sorted(jobs))


def build_sinks(config: Config, jobs: Sequence[str] | None = None, cycle_ms: int | None = None) -> list[Sink]:
    """The configured sinks, ready for one cycle of the job selection ``jobs`` (all if ``None``)
    that started at ``cycle_ms`` (its backlog items are ordered by it)."""
    from ..backlog.store import BACKLOG_BUCKET_ENV  # noqa: PLC0415 (no boto3 import for a direct sink)
    from ..delivery import DirectSink  # noqa: PLC0415

    bucket = os.environ.get(BACKLOG_BUCKET_ENV)
    sinks: list[Sink] = []
    for kind, backlog in build_kinds(config):
        if bucket and backlog.enabled:
            sinks.append(_durable(kind, backlog, bucket, job_group(jobs), cycle_ms))
        else:
            sinks.append(DirectSink(kind))
    return sinks


def _durable(kind: Kind, backlog: BacklogConfig, bucket: str, group: str, cycle_ms: int | None) -> Sink:
    from .. import aws  # noqa: PLC0415
    from ..backlog.durable import DurableSink  # noqa: PLC0415
    from ..backlog.lease import Leases  # noqa: PLC0415
    from ..backlog.store import BacklogStore, sink_id  # noqa: PLC0415
    from ..statetable import STATE_TABLE_ENV  # noqa: PLC0415

    table = os.environ.get(STATE_TABLE_ENV)
    leases = Leases(aws.bounded("dynamodb"), table) if table else None
    store = BacklogStore(bucket, sink_id(kind.name, group))
    return DurableSink(kind, store, leases, backlog, cycle_ms or int(time.time() * 1000))


__all__ = ["Kind", "Request", "Result", "Sink", "SinkReport", "build_kinds", "build_sinks", "job_group"]
