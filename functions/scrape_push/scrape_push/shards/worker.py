"""A shard's invocation: the queue's event source mapping hands it a standard SQS event (batch
size 1) and it runs that shard of that cycle.

For each record: decode the message (``message``), drop it if it came too late for its cycle
(``late``: counted as ``shards_late``), load the configuration, rebuild the planned targets with
their jobs' settings (``handoff``), and run the cycle as that shard, with the cycle's scrape time
and the earlier of its deadline and this invocation's. A record that fails — not a shard
message, the configuration unreadable, an internal error — is made visible again at once, so the
event source mapping retries it within its cycle; the queue's ``maxReceiveCount`` of
``MAX_RECEIVES`` sends it to the dead-letter queue after the retry. A late retry (the first try
failed, or was killed) is a failure too, so it reaches the dead-letter queue instead of being
dropped.

A configuration that changed after the cycle was planned (its digest is not the message's) is
not a failure: the planned targets are scraped with the configuration this invocation reads,
for the jobs it still has, and the summary says so. The planner of the next cycle plans with the
new one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..budget import memory_of
from ..config.errors import ConfigError, ConfigLoadError
from ..config.source import LoadedConfig
from ..deadline import SEND_RESERVE, Deadline
from ..pipeline import CycleResult
from ..runtime import Runtime
from ..settings import CONFIG_PARAMETER_ENV
from ..statetable import WriteBatch
from . import state
from .assign import identity_key
from .departures import Departures
from .handoff import rebuild
from .message import MessageError, ShardMessage, decode
from .queue import ShardQueue
from .state import seen_series

MAX_RECEIVES = 2
"""The shard queue's ``maxReceiveCount`` (template.yaml): a first try and one retry."""


@dataclass
class ShardRun:
    """How one record went."""

    message_id: str
    attempt: int
    """The message's receive count: 1 for the first try."""
    status: str = "done"
    """``done``, ``late`` (dropped) or ``failed`` (to be retried, then dead-lettered)."""
    message: ShardMessage | None = None
    loaded: LoadedConfig | None = None
    cycle: CycleResult | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    def fail(self, error: str) -> ShardRun:
        self.status, self.error = "failed", error
        return self

    def to_dict(self) -> dict[str, object]:
        """The summary's ``shard``."""
        message = self.message
        return {
            "shard": None if message is None else message.shard,
            "shards": None if message is None else message.shards,
            "cycle_ms": None if message is None else message.cycle_ms,
            "status": self.status,
            "attempt": self.attempt,
            "message_id": self.message_id,
            "planned_digest": None if message is None else message.digest,
            "error": self.error,
            "warnings": self.warnings,
        }


def shard_records(event: object) -> list[Mapping[str, Any]] | None:
    """The records of an event an SQS event source mapping sends (``Records`` from ``aws:sqs``);
    ``None`` for any other event."""
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list) or not records:
        return None
    if not all(isinstance(r, Mapping) and r.get("eventSource") == "aws:sqs" for r in records):
        return None
    return records


def late(message: ShardMessage, now_ms: int) -> bool:
    """Too late to scrape this shard within its cycle: less time left than its longest scrape
    timeout and the send reserve need (half the cycle's window, in a very short one)."""
    longest = max((target.timeout for target in message.targets), default=0.0)
    needs_ms = min((message.deadline_ms - message.cycle_ms) / 2, (longest + SEND_RESERVE[0]) * 1000)
    return message.deadline_ms - now_ms < needs_ms


def run(record: Mapping[str, Any], context: object, runtime: Runtime, now_ms: int) -> ShardRun:
    """Run the shard of one record (the module docstring); a failed one is made visible again."""
    attributes = record.get("attributes")
    count = str(attributes.get("ApproximateReceiveCount")) if isinstance(attributes, Mapping) else ""
    shard_run = ShardRun(str(record.get("messageId", "")), int(count) if count.isdigit() else 1)
    _run(shard_run, record, context, runtime, now_ms)
    if shard_run.status == "failed":
        _retry_now(shard_run, record, runtime, Deadline.from_context(context))
    return shard_run


def _run(
    shard_run: ShardRun, record: Mapping[str, Any], context: object, runtime: Runtime, now_ms: int
) -> None:
    try:
        message = shard_run.message = decode(record.get("body"))
    except MessageError as exc:
        shard_run.fail(f"not a shard message: {exc}")
        return
    if late(message, now_ms):
        if shard_run.attempt < MAX_RECEIVES:
            shard_run.status = "late"
        else:
            shard_run.fail(f"{message.name} retried after its cycle's deadline: the first try failed")
        return
    parameter = runtime.settings.config_parameter
    try:
        if not parameter:
            raise ConfigLoadError(f"environment variable {CONFIG_PARAMETER_ENV} is not set")
        loaded = shard_run.loaded = runtime.config.load(parameter)
    except (ConfigError, ConfigLoadError) as exc:
        shard_run.fail(str(exc))
        return
    if loaded.digest != message.digest:
        shard_run.warnings.append(
            f"the configuration changed after this cycle was planned (digest {message.digest}, now "
            f"{loaded.digest}): its planned targets are scraped with the jobs and sinks of the one "
            "read now"
        )
    try:
        _cycle(shard_run, message, loaded, context, runtime, now_ms)
    except Exception as exc:  # a bug: retried once, then dead-lettered, never half-reported
        shard_run.fail(f"internal error: {type(exc).__name__}: {str(exc)[:200]}")


def _cycle(  # noqa: PLR0917 (a shard's inputs, each once)
    shard_run: ShardRun,
    message: ShardMessage,
    loaded: LoadedConfig,
    context: object,
    runtime: Runtime,
    now_ms: int,
) -> None:
    pipeline = runtime.pipeline(loaded, message.jobs, message.shard, sharded=True)
    found = rebuild(loaded.config, message.targets, pipeline.discoveries)
    own = Deadline.from_context(context)
    deadline = Deadline(min(own.at, own.clock() + (message.deadline_ms - now_ms) / 1000), own.clock)
    shard_state = state.of_group(runtime.aws, runtime.settings.state_table, message.jobs)
    joined = WriteBatch() if shard_state is not None else None  # the record joins the counts
    shard_run.cycle = pipeline.run(
        deadline,
        memory_of(context),
        found=found,
        cycle_ms=message.cycle_ms,
        lineage=message.lineage,
        departures=Departures(message.shard, message.shards, message.left, message.adopt),
        joined=joined,
    )
    before = {identity_key(target.job, target.labels): target.series for target in message.targets}
    seen = seen_series(shard_run.cycle.scrapes, before)
    unsaved = state.write_seen(shard_state, message.shard, seen, message.cycle_ms, own, joined)
    shard_run.warnings.extend([unsaved] if unsaved else [])


def _retry_now(shard_run: ShardRun, record: Mapping[str, Any], runtime: Runtime, deadline: Deadline) -> None:
    """Make the failed message visible at once: the retry comes within its cycle."""
    url = runtime.settings.shard_queue_url
    receipt = record.get("receiptHandle")
    if not url or not isinstance(receipt, str):
        shard_run.warnings.append(
            "not made visible again (no SHARD_QUEUE_URL or receipt handle): retried later"
        )
        return
    problem = ShardQueue(runtime.aws.bounded("sqs"), url).retry_now(receipt, deadline)
    if problem:
        shard_run.warnings.append(f"not made visible again ({problem}): retried after the visibility timeout")
