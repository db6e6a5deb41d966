"""The Remote Write sink: Prometheus Remote Write 1.0 with metadata, to any receiver.

Per invocation: group the samples by series and encode them (``convert``/``encode``, pure),
pack them into batches of at most ``max_samples_per_send``, and send the batches concurrently
(``transport``), keeping each series' samples in order; metric metadata goes in requests of its
own, as Prometheus sends it. Secrets are resolved (inline or from SSM) at each push, so a
rotated password is picked up once the parameter cache expires.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...plugins import SinkPlugin, register_sink
from .config import RemoteWriteConfig

if TYPE_CHECKING:
    from ...plugins import BuildContext
    from ..base import Sink


def _build(config: RemoteWriteConfig, context: BuildContext) -> Sink:
    from .sink import RemoteWriteSink  # noqa: PLC0415 (the sink's modules load only when one is built)

    return RemoteWriteSink(config, context.max_concurrent_requests, name_escaping=context.name_escaping)


register_sink(SinkPlugin("remote_write", RemoteWriteConfig, _build))
