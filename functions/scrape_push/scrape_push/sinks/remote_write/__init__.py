"""The Remote Write sink: Prometheus Remote Write 1.0 with metadata, to any receiver.

Per invocation: group the samples by series and encode them (``convert``/``encode``, pure),
pack them into batches of at most ``max_samples_per_send``, and send the batches concurrently
(``transport``), keeping each series' samples in order; metric metadata goes in requests of its
own, as Prometheus sends it. Secrets are resolved (inline or from SSM) at each push, so a
rotated password is picked up once the parameter cache expires.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...lazy import forward

if TYPE_CHECKING:
    from .sink import RemoteWriteSink as RemoteWriteSink
    from .sink import pooled_session as pooled_session
    from .sink import reset as reset

# The sink itself (``sink.py``) is loaded on first use: the configuration model imports this
# package's ``config`` module, and a function whose configuration does not use this sink
# should not pay for importing it at cold start.
__getattr__ = forward(
    __name__,
    dict.fromkeys(
        (
            "RemoteWriteSink",
            "pooled_session",
            "reset",
        ),
        "sink",
    ),
)
