"""GraphiteSink end to end with a scripted socket: every sample offered is accounted for."""

from __future__ import annotations

import math
import pickle
import struct

import pytest
from scrape_push.config.source import parse_config
from scrape_push.deadline import Deadline
from scrape_push.delivery import DirectDelivery
from scrape_push.sinks import build_sinks
from scrape_push.sinks.graphite.sink import GraphiteSink

from tests.support.context import build_context
from tests.support.samples import sample
from tests.unit.sinks.graphite.test_transport import Connector, FakeSocket

NOW_MS = 1_700_000_000_000
SAMPLES = [
    sample("up", (("instance", "h:1"), ("job", "api")), 1.0, NOW_MS),
    sample("temp", (("instance", "h:1"), ("job", "api.v2")), 21.5, NOW_MS),
    sample("temp", (("instance", "h:1"), ("job", "api_v2")), 22.5, NOW_MS),
    sample("ratio", (("instance", "h:1"), ("job", "api")), math.nan, NOW_MS),
]


def sink_for(
    yaml_item: str, connect: Connector | None = None, sock: FakeSocket | None = None
) -> GraphiteSink:
    ((sink, _),) = build_sinks(parse_config(f"graphite:\n  - {yaml_item}\n").config, build_context())
    assert isinstance(sink, GraphiteSink)
    if connect is not None:
        sink._connect = connect
    if sock is not None:
        sink._open_socket = lambda _address: sock  # type: ignore[assignment,return-value]
    return sink


def test_plaintext_push_accounts_for_every_sample() -> None:
    sock = FakeSocket()
    sink = sink_for("{address: 'carbon:2003', prefix: p, template: '{job}.{__name__}'}", Connector([sock]))
    report = DirectDelivery(sink).push(SAMPLES, Deadline.after(30))
    assert b"".join(sock.written).decode().splitlines() == [
        "p.api.up.instance.h:1 1 1700000000",
        "p.api_v2.temp.instance.h:1 21.5 1700000000",
    ]
    assert report.to_dict() | {"warnings": []} == {
        "name": "graphite/carbon:2003",
        "kind": "graphite",
        "ok": True,
        "offered": 4,
        "sent": 2,
        "dropped": {"name_collision": 1, "nan_or_inf": 1},
        "failed": 0,
        "spilled": 0,
        "rejected": 0,
        "adjusted": {"path_sanitised": 1},
        "requests": 1,
        "failed_requests": 0,
        "errors": [],
        "warnings": [],
        "backlog": None,
    }
    assert report.warnings == [
        "1 other series were also named p.api_v2.temp.instance.h:1 once sanitised and were dropped; "
        "tell them apart with the template or labels"
    ]


def test_pickle_push_sends_carbon_frames() -> None:
    sock = FakeSocket()
    sink = sink_for("{address: carbon, protocol: pickle, mode: tags, batch_size: 1}", Connector([sock]))
    report = DirectDelivery(sink).push(SAMPLES, Deadline.after(30))
    items = []
    for frame in sock.written:
        (length,) = struct.unpack("!L", frame[:4])
        items += pickle.loads(frame[4 : 4 + length])
    assert items == [
        ("up;instance=h:1;job=api", (1_700_000_000, 1.0)),
        ("temp;instance=h:1;job=api.v2", (1_700_000_000, 21.5)),
        ("temp;instance=h:1;job=api_v2", (1_700_000_000, 22.5)),
    ]
    assert (report.sent, report.requests, dict(report.dropped)) == (3, 3, {"nan_or_inf": 1})
    assert sink.endpoint.port == 2004


def test_udp_push() -> None:
    sock = FakeSocket()
    report = DirectDelivery(sink_for("{address: 'carbon:2003', protocol: udp, mode: tags}", sock=sock)).push(
        SAMPLES, Deadline.after(30)
    )
    assert len(sock.written) == 1 and sock.written[0].count(b"\n") == 3
    assert (report.sent, report.requests) == (3, 1)


@pytest.mark.parametrize("protocol", ["plaintext", "pickle"])
def test_nothing_to_send_opens_no_connection(protocol: str) -> None:
    connector = Connector([])
    report = DirectDelivery(sink_for(f"{{address: carbon, protocol: {protocol}}}", connector)).push(
        SAMPLES[3:], Deadline.after(30)
    )
    assert (report.offered, report.sent, dict(report.dropped), connector.calls) == (
        1,
        0,
        {"nan_or_inf": 1},
        [],
    )


def test_a_down_receiver_fails_the_sink_with_the_reason() -> None:
    connector = Connector([ConnectionRefusedError(111, "Connection refused")])
    report = DirectDelivery(sink_for("{address: 'carbon:2003', name: main}", connector)).push(
        SAMPLES, Deadline.after(30)
    )
    assert (report.ok, report.failed, report.sent) == (False, 2, 0)
    assert report.errors == ["carbon:2003 (plaintext): cannot connect: Connection refused"]
