"""The Graphite sink: carbon's plaintext, pickle or UDP protocol, path or tagged names.

Each series is named once and its name kept by ``SeriesRef`` until the scrape stage says the
series is gone (``forget``). A native histogram goes as ``_count`` and ``_sum`` series
(``histograms.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ...deadline import Deadline
from ...model import Sample, SeriesRef
from ..base import Prepared, Request, Result, SeriesMemory, SinkReport, histograms_apart, without_markers
from .config import GraphiteConfig
from .convert import (
    DEFAULT_TEMPLATE,
    Batch,
    Named,
    NameRules,
    datagram_batches,
    parse_template,
    pickle_batches,
    plaintext_batches,
    to_points,
)
from .histograms import histogram_pairs, pair_batches
from .limits import DEFAULT_MAX_AGE
from .transport import (
    Connect,
    Endpoint,
    OpenDatagram,
    open_datagram,
    open_stream,
    send_datagrams,
    send_stream,
)

MAX_COLLISION_WARNINGS = 3
"""Series named in collision warnings per invocation (the dropped count is always complete)."""


class GraphiteSink:
    """Pushes samples to one carbon receiver (carbon-cache, carbon-relay, go-carbon ...)."""

    kind = "graphite"
    default_max_age = DEFAULT_MAX_AGE

    def __init__(
        self,
        config: GraphiteConfig,
        connect: Connect = open_stream,
        open_socket: OpenDatagram = open_datagram,
    ) -> None:
        self.config = config
        self.name = config.sink_name
        self.rules = NameRules(
            config.mode, config.prefix, parse_template(config.template or DEFAULT_TEMPLATE)
        )
        host, port = config.host_port
        self.endpoint = Endpoint(host, port, config.protocol, config.connect_timeout, config.write_timeout)
        self.names: SeriesMemory[Named] = SeriesMemory()
        """Each series' carbon name under ``rules``."""
        self.histogram_names: SeriesMemory[tuple[Named, Named]] = SeriesMemory()
        """Each native histogram series' ``_count`` and ``_sum`` names (``histograms.py``)."""
        self._connect = connect
        self._open_socket = open_socket

    def encode(self, samples: Sequence[Sample], report: SinkReport) -> list[Batch]:
        """Name and encode ``samples`` for this sink's protocol, counting what is dropped."""
        self.names.bound(len(samples))
        samples = without_markers(samples, report)  # carbon has no staleness, not even a histogram's
        samples, histograms = histograms_apart(samples)
        extra: list[Batch] = []
        if histograms:
            self.histogram_names.bound(len(histograms))
            pairs, dropped, adjusted = histogram_pairs(histograms, self.rules, self.histogram_names.entries)
            report.dropped.update(dropped)
            report.adjusted.update(adjusted)
            extra = pair_batches(pairs, self.config.protocol, self.config.batch_size)
        return self._float_batches(samples, report) + extra

    def _float_batches(self, samples: Sequence[Sample], report: SinkReport) -> list[Batch]:
        result = to_points(samples, self.rules, self.names.entries)
        report.dropped.update(result.dropped)
        report.adjusted.update(result.adjusted)
        for name, count in result.collisions.most_common(MAX_COLLISION_WARNINGS):
            report.warn(
                f"{count} other series were also named {name} once sanitised and were dropped; "
                "tell them apart with the template or labels"
            )
        if self.config.protocol == "pickle":
            return pickle_batches(result.points, self.config.batch_size)
        if self.config.protocol == "udp":
            return datagram_batches(result.points)
        return plaintext_batches(result.points, self.config.batch_size)

    def prepare(self, samples: Sequence[Sample], report: SinkReport) -> Prepared:
        """One request per batch; carbon keeps one value per series and time slot, so order
        between requests does not matter."""
        return Prepared([Request(batch.count, body=batch.payload) for batch in self.encode(samples, report)])

    def load(self, body: bytes, samples: int, chain: int) -> Request:
        return Request(samples, body=body, chain=chain)

    def forget(self, refs: Iterable[SeriesRef]) -> None:
        refs = list(refs)
        self.names.forget(refs)
        self.histogram_names.forget(refs)

    def close(self) -> None:
        """Nothing held across invocations but the names (a connection lives for one send)."""

    def deliver(self, requests: Sequence[Request], deadline: Deadline, report: SinkReport) -> list[Result]:
        payloads = [request.body() for request in requests]
        if self.config.protocol == "udp":
            return send_datagrams(self.endpoint, payloads, deadline=deadline, open_socket=self._open_socket)
        return send_stream(
            self.endpoint, payloads, deadline=deadline, warn=report.warn, connect=self._connect
        )
