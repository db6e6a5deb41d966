"""The Graphite sink: carbon's plaintext, pickle or UDP protocol, path or tagged names."""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence

from ...deadline import Deadline
from ...model import Sample
from ..base import SinkReport
from .config import GraphiteConfig
from .convert import (
    DEFAULT_TEMPLATE,
    Batch,
    NameRules,
    datagram_batches,
    parse_template,
    pickle_batches,
    plaintext_batches,
    to_points,
)
from .transport import Connect, Endpoint, OpenDatagram, open_datagram, send_datagrams, send_stream

MAX_COLLISION_WARNINGS = 3
"""Series named in collision warnings per invocation (the dropped count is always complete)."""


class GraphiteSink:
    """Pushes samples to one carbon receiver (carbon-cache, carbon-relay, go-carbon ...)."""

    kind = "graphite"

    def __init__(
        self,
        config: GraphiteConfig,
        connect: Connect = socket.create_connection,
        open_socket: OpenDatagram = open_datagram,
    ) -> None:
        self.config = config
        self.name = config.sink_name
        self.rules = NameRules(
            config.mode, config.prefix, parse_template(config.template or DEFAULT_TEMPLATE)
        )
        host, port = config.host_port
        self.endpoint = Endpoint(host, port, config.protocol, config.connect_timeout, config.write_timeout)
        self._connect = connect
        self._open_socket = open_socket

    def encode(self, samples: Sequence[Sample], report: SinkReport) -> list[Batch]:
        """Name and encode ``samples`` for this sink's protocol, counting what is dropped."""
        result = to_points(samples, self.rules, int(time.time() * 1000))
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

    def push(self, samples: Sequence[Sample], deadline: Deadline) -> SinkReport:
        report = SinkReport(self.name, self.kind, offered=len(samples))
        batches = self.encode(samples, report)
        if not batches:
            return report
        if self.config.protocol == "udp":
            send_datagrams(
                self.endpoint, batches, deadline=deadline, report=report, open_socket=self._open_socket
            )
        else:
            send_stream(self.endpoint, batches, deadline=deadline, report=report, connect=self._connect)
        return report
