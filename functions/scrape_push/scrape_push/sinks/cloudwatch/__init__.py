"""The CloudWatch sink: PutMetricData with every documented limit enforced before sending."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ... import aws
from ...config.model import CloudWatchConfig
from ...deadline import Deadline
from ...model import Sample
from ..base import SinkReport
from .convert import DatumRules, partition, to_datums
from .transport import put_all

MAX_COLLISION_WARNINGS = 3
"""Metrics named in collision warnings per invocation (the dropped count is always complete)."""


class CloudWatchSink:
    """Pushes samples to one CloudWatch namespace."""

    kind = "cloudwatch"

    def __init__(self, config: CloudWatchConfig, max_concurrency: int = 4, client: Any = None) -> None:
        self.config = config
        self.name = f"cloudwatch/{config.name or config.namespace}"
        self.rules = DatumRules(config.dimensions, config.storage_resolution)
        self.max_concurrency = max_concurrency
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("cloudwatch", self.config.region)
        return self._client

    def push(self, samples: Sequence[Sample], deadline: Deadline) -> SinkReport:
        report = SinkReport(self.name, self.kind, offered=len(samples))
        result = to_datums(samples, self.rules, int(time.time() * 1000))
        report.dropped.update(result.dropped)
        report.adjusted.update(result.adjusted)
        for metric, count in result.collisions.most_common(MAX_COLLISION_WARNINGS):
            report.warn(
                f"{count} series of {metric} collide on dimensions {list(self.rules.dimensions)}; "
                "add the labels that tell them apart to 'dimensions'"
            )
        batches = partition(result.datums, self.config.namespace)
        put_all(
            self.client,
            self.config.namespace,
            batches,
            deadline=deadline,
            report=report,
            max_concurrency=self.max_concurrency,
        )
        return report
