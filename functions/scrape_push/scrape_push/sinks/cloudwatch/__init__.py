"""The CloudWatch sink: PutMetricData (or EMF on stdout) with every documented limit enforced.

A cycle: ``Grouper.group`` sorts the samples (translate.py); tracked series (deltas, rates,
distributions) get their previous points from the state table, which is written back
conditionally *before* anything is sent so overlapping invocations never both send the same
interval; ``to_datums`` builds the datums (convert.py); transport.py or emf.py delivers them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...lazy import forward

if TYPE_CHECKING:
    from .sink import CloudWatchSink as CloudWatchSink
    from .sink import _translators as _translators
    from .sink import identity as identity
    from .sink import translators as translators

# The sink itself (``sink.py``) is loaded on first use: the configuration model imports this
# package's ``config`` module, and a function whose configuration does not use this sink
# should not pay for importing it at cold start.
__getattr__ = forward(
    __name__,
    dict.fromkeys(
        (
            "CloudWatchSink",
            "_translators",
            "identity",
            "translators",
        ),
        "sink",
    ),
)
