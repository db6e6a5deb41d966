"""The CloudWatch sink: PutMetricData (or EMF on stdout) with every documented limit enforced.

A cycle: ``Grouper.group`` sorts the samples (translate.py); tracked series (deltas, rates,
distributions) get their previous points from the state table, which is written back
conditionally *before* anything is sent so overlapping invocations never both send the same
interval; ``to_datums`` builds the datums (convert.py); transport.py or emf.py delivers them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...plugins import SinkPlugin, register_sink
from .config import CloudWatchConfig

if TYPE_CHECKING:
    from ...plugins import BuildContext
    from ..base import Sink


def _build(config: CloudWatchConfig, context: BuildContext) -> Sink:
    from .sink import CloudWatchSink  # noqa: PLC0415 (the sink's modules load only when one is built)

    return CloudWatchSink(
        config,
        context.aws.bounded("cloudwatch", config.region),
        max_concurrency=context.max_concurrent_requests,
        state_clients=context.aws.bounded("dynamodb", config.region),
        state_table=context.settings.state_table,
    )


register_sink(SinkPlugin("cloudwatch", CloudWatchConfig, _build))
