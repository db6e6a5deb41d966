"""The CloudWatch sink: PutMetricData (or EMF on stdout) with every documented limit enforced.

A cycle: ``Grouper.group`` sorts the samples (translate.py); tracked series (deltas, rates,
distributions) get their previous points from the state table, which is written back
conditionally *before* anything is sent so overlapping invocations never both send the same
interval; ``to_datums`` builds the datums (convert.py); transport.py or emf.py delivers them.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from ... import aws
from ...deadline import Deadline
from ...model import Sample, SeriesRef
from ...settings import STATE_TABLE_ENV
from ..base import Prepared, Request, Result, SinkReport, without_markers
from . import emf
from .config import CloudWatchConfig
from .convert import by_namespace, to_datums
from .counters import CumulativePoint
from .limits import DEFAULT_MAX_AGE
from .outputs import Out, Tracked
from .rules import Rules
from .series import SeriesBuilder
from .state import StateError, StateStore, target_key
from .translate import Grouper
from .transport import Put, decode_request, encode_request, put_all

MAX_NAMED_WARNINGS = 3
"""Metrics named in collision / cap warnings per invocation (the dropped count is always complete)."""
COLLISION_SHARE_NOT_OK = 0.05
"""Above this share of the samples offered dropped as ``dimension_collision``, the report is an
error (``ok: false``): the dimensions do not fit the data and much of it never reaches
CloudWatch. Below, a few stray series: the warning names them."""


def translators(config: CloudWatchConfig) -> tuple[Grouper, SeriesBuilder]:
    """The grouper and series builder of a configuration: new, with empty memories that fill as
    they work (a sink keeps its pair for as long as it lives)."""
    return Grouper(Rules(config)), SeriesBuilder(config.namespace, config.namespace_per_job)


class CloudWatchSink:
    """Pushes samples to one CloudWatch namespace (or namespace per job)."""

    kind = "cloudwatch"
    default_max_age = DEFAULT_MAX_AGE

    def __init__(
        self,
        config: CloudWatchConfig,
        clients: aws.ClientFor,
        *,
        max_concurrency: int = 4,
        state_clients: aws.ClientFor | None = None,
        state_table: str | None = None,
        emf_writer: Callable[[str], None] = emf.write_stdout,
    ) -> None:
        self.config = config
        self.name = f"cloudwatch/{config.name or config.namespace}"
        self.max_concurrency = max_concurrency
        self.clients = clients
        self.state_clients = state_clients
        self.state_table = state_table
        """The DynamoDB table of counter state (``STATE_TABLE``), needed by tracked series."""
        self.emf_writer = emf_writer
        self.grouper, self.builder = translators(config)
        """How samples are sorted and what each series becomes in CloudWatch; what they
        remember lasts as long as the sink (across warm invocations)."""
        self.state_requests = 0
        """DynamoDB requests made by the last ``push``."""

    def prepare(self, samples: Sequence[Sample], report: SinkReport) -> Prepared:
        """One request per PutMetricData call (or one per EMF document), counting drops. With
        tracked series (deltas, rates, distributions) the requests are built by the state step
        (``settle``), once their previous points were read from the state table and this
        invocation's were written."""
        now_ms = int(time.time() * 1000)
        offered = len(samples)
        grouper = self.grouper
        self.builder.new_cycle(len(samples))
        offered = len(samples)
        samples = without_markers(samples, report)  # CloudWatch has no staleness
        grouped = grouper.group(samples)
        report.dropped.update(grouped.dropped)
        if not grouped.tracked:
            return Prepared(self._requests(grouped.outs, offered, now_ms, report))

        def settle(deadline: Deadline, settling: SinkReport) -> list[Request]:
            increases = self._increases(grouper, grouped.tracked, settling, deadline)
            return self._requests(grouped.outs + increases, offered, now_ms, settling)

        return Prepared(settle=settle)

    def _requests(self, outs: list[Out], offered: int, now_ms: int, report: SinkReport) -> list[Request]:
        """The requests carrying ``outs`` (what ``offered`` samples became)."""
        builder = self.builder
        result = to_datums(outs, builder, now_ms, self.config.max_series_per_metric)
        report.dropped.update(result.dropped)
        report.adjusted.update(result.adjusted)
        for metric, count in result.collisions.most_common(MAX_NAMED_WARNINGS):
            apart = (
                ", ".join(sorted(result.collision_labels.get(metric, ()))) or "labels that are not dimensions"
            )
            report.warn(
                f"{count} series of {metric} collide on their dimensions: they differ only in {apart}; "
                "add those labels to 'dimensions' (or to a 'metrics' rule for this metric)"
            )
        collided = result.dropped["dimension_collision"]
        if collided > COLLISION_SHARE_NOT_OK * offered:
            report.error(
                f"{collided} of {offered} samples ({collided / offered:.0%}) dropped as "
                "dimension_collision: the dimensions do not tell the series apart (see the warnings)"
            )
        for metric, count in result.capped.most_common(MAX_NAMED_WARNINGS):
            report.warn(
                f"{count} series of {metric} dropped: over max_series_per_metric "
                f"({self.config.max_series_per_metric})"
            )
        if self.config.mode == "emf":
            written = emf.documents(result.datums)
            report.dropped.update(written.dropped)
            report.adjusted.update(written.adjusted)
            # Writing to the log cannot fail, so EMF documents never reach the backlog.
            return [
                Request(written.sent if i == 0 else 0, make=partial(emf_line, doc), live=EmfDocument(doc))
                for i, doc in enumerate(written.documents)
            ]
        return [
            Request(
                sum(d.weight for d in batch),
                make=partial(encode_request, namespace, [d.payload for d in batch]),
                live=(namespace, [d.payload for d in batch]),
            )
            for namespace, batches in by_namespace(result.datums)
            for batch in batches
        ]

    def load(self, body: bytes, samples: int, chain: int) -> Request:
        return Request(samples, body=body, chain=chain)

    def forget(self, refs: Iterable[SeriesRef]) -> None:
        self.builder.forget(refs)

    def close(self) -> None:
        """Nothing to release (botocore's clients belong to the process)."""

    def deliver(self, requests: Sequence[Request], deadline: Deadline, report: SinkReport) -> list[Result]:
        documents = [r.live.document for r in requests if isinstance(r.live, EmfDocument)]
        if documents:
            emf.write(documents, self.emf_writer)
            if len(documents) == len(requests):
                return [Result("sent")] * len(requests)
        puts: list[Put] = [
            r.live if isinstance(r.live, tuple) else decode_request(r.body())
            for r in requests
            if not isinstance(r.live, EmfDocument)
        ]
        sent = iter(put_all(self.clients, puts, deadline=deadline, max_concurrency=self.max_concurrency))
        return [Result("sent") if isinstance(r.live, EmfDocument) else next(sent) for r in requests]

    def _increases(
        self, grouper: Grouper, tracked: list[Tracked], report: SinkReport, deadline: Deadline
    ) -> list[Out]:
        """Outputs of the tracked series whose state this invocation won; the rest is counted."""
        weight = sum(t.weight for t in tracked)
        table = self.state_table
        if not table or self.state_clients is None:
            report.drop("no_state_table", weight)
            report.error(
                f"counter_mode delta/rate and histograms: distribution need the DynamoDB table "
                f"named by the {STATE_TABLE_ENV} environment variable"
            )
            return []
        store = StateStore(self.state_clients, table)
        by_target: dict[str, list[Tracked]] = {}
        for series in tracked:
            job, instance = series.target
            key = target_key(self.name, self.config.namespace, job, instance)
            by_target.setdefault(key, []).append(series)
        previous: dict[str, CumulativePoint] = {}
        owned: list[Tracked] = []
        lost: Counter[str] = Counter()
        settled: set[int] = set()
        try:
            stored = store.load(by_target, deadline)
            for key, series_list in by_target.items():
                won = store.save(key, stored[key], {s.state_id: s.point for s in series_list}, deadline)
                previous.update(
                    (state_id, p) for state_id, p in stored[key].points.items() if state_id in won
                )
                for s in series_list:
                    if s.state_id in won:
                        owned.append(s)
                    else:
                        lost["state_conflict"] += s.weight
                settled.update(id(s) for s in series_list)
        except StateError as exc:
            report.error(f"state table {table}: {exc}")
            report.failed += sum(s.weight for s in tracked if id(s) not in settled)
        self.state_requests = store.requests
        report.dropped.update(lost)
        resolved = grouper.resolve(owned, previous, self.config.histogram_sum_count)
        report.dropped.update(resolved.dropped)
        report.adjusted.update(resolved.adjusted)
        return resolved.outs


@dataclass(frozen=True)
class EmfDocument:
    """An EMF document waiting to be written to the log."""

    document: dict[str, Any]


def emf_line(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()
