"""The real handler with Graphite sinks: a working receiver, a down one, and a hostile label."""

from __future__ import annotations

import pickle
import struct
import time
from typing import Any

from tests.functional.conftest import Emulated
from tests.support.graphite import Receiver, receiver
from tests.support.http import Response, refused_address, serve
from tests.support.tcp import silent

EXPOSITION = b"""# TYPE temperature_celsius gauge
temperature_celsius{room="lab"} 21.5
temperature_celsius{room="evil\\nhacked.metric 666 0;x=y ~"} 99
# TYPE requests_total counter
requests_total{code="200"} 7
ratio NaN
"""


def config(target: str, *sinks: str) -> str:
    return (
        "scrape_configs:\n"
        "  - job_name: app\n"
        f"    static_configs: [{{targets: ['{target}']}}]\n"
        "graphite:\n" + "".join(f"  - {sink}\n" for sink in sinks)
    )


def test_graphite_sinks_through_the_handler(emulated: Emulated) -> None:
    down = refused_address()
    template = "{job}.{__name__}"
    with serve(Response(EXPOSITION)) as endpoint, receiver() as carbon, receiver() as tagged:
        emulated.put_config(
            config(
                endpoint.address,
                f"{{name: paths, address: '{carbon.address}', prefix: prom, template: '{template}'}}",
                f"{{name: tags, address: '{tagged.address}', mode: tags, protocol: pickle}}",
                f"{{name: down, address: '{down}'}}",
            )
        )
        before = int(time.time())
        summary = emulated.invoke()
        after = int(time.time())

    sinks = {s["name"]: s for s in summary["sinks"]}
    assert summary["ok"] is False and summary["targets_up"] == 1

    paths = sinks["graphite/paths"]
    assert (paths["ok"], paths["errors"], paths["dropped"]) == (True, [], {"nan_or_inf": 1})
    assert paths["offered"] == paths["sent"] + 1
    instance = endpoint.address.replace(".", "_")
    by_name = {line.split(" ")[0]: line.split(" ") for line in carbon.lines}
    assert len(by_name) == len(carbon.lines) == paths["sent"]
    assert by_name[f"prom.app.temperature_celsius.instance.{instance}.room.lab"][1] == "21.5"
    evil = [name for name in by_name if ".room.evil" in name]
    assert evil == [f"prom.app.temperature_celsius.instance.{instance}.room.evil_hacked_metric_666_0_x_y__"]
    assert by_name[evil[0]][1] == "99"
    assert by_name[f"prom.app.requests_total.code.200.instance.{instance}"][1] == "7"
    assert by_name[f"prom.app.up.instance.{instance}"][1] == "1"
    assert all(before <= int(fields[2]) <= after for fields in by_name.values())
    assert paths["adjusted"] == {"path_sanitised": paths["sent"]}  # every instance has dots

    assert sinks["graphite/tags"]["ok"] is True and sinks["graphite/tags"]["sent"] == paths["sent"]
    (stream,) = tagged.received
    (length,) = struct.unpack("!L", stream[:4])
    assert len(stream) == 4 + length  # one frame
    points = dict(pickle.loads(stream[4:]))
    assert len(points) == paths["sent"]
    evil_tagged = [name for name in points if "room=evil" in name]
    assert evil_tagged == [
        f"temperature_celsius;instance={endpoint.address};job=app;room=evil_hacked.metric_666_0_x=y_~"
    ]
    assert points[evil_tagged[0]][1] == 99.0

    failed = sinks["graphite/down"]
    assert (failed["ok"], failed["sent"], failed["failed"], failed["failed_requests"]) == (
        False,
        0,
        paths["sent"],
        1,
    )
    assert failed["errors"] == [f"{down} (plaintext): cannot connect: Connection refused"]


MANY = b"".join(b'requests_total{path="/p%d"} %d\n' % (i, i) for i in range(3000))
"""3,000 series (3,005 samples with up and scrape_*): four writes of 1,000 lines."""


def delivered(report: dict[str, object], carbon: Receiver) -> set[str]:
    """The names carbon read, checked against the report: everything reported sent was read."""
    names = {line.split(" ")[0] for line in carbon.lines}
    assert report["sent"] in (0, len(names)), (report, len(names))
    return names


def push_many(emulated: Emulated, address: str, extra: str = "") -> dict[str, Any]:
    """One invocation with one plaintext Graphite sink at ``address``; its report."""
    with serve(Response(MANY)) as endpoint:
        emulated.put_config(config(endpoint.address, f"{{name: c, address: '{address}'{extra}}}"))
        return dict(emulated.invoke()["sinks"][0])


def test_a_carbon_that_resets_every_connection_mid_stream_gets_nothing_counted_sent(
    emulated: Emulated,
) -> None:
    with receiver(resets=2, reset_after=50_000) as carbon:
        report = push_many(emulated, carbon.address)
    assert (report["sent"], report["failed"]) == (0, report["offered"])
    assert len(delivered(report, carbon)) < report["offered"]  # the resets lost lines
    # the reset reaches the sink as a reset, or (when it lands while the sink half-closes to
    # confirm the batch) as a socket the kernel already took down: both mean not delivered
    error = report["errors"][0]
    assert "after reconnecting: " in error, error
    assert error.endswith(("Connection reset by peer", "Transport endpoint is not connected")), error


def test_a_carbon_that_resets_the_first_connection_gets_everything_on_the_second(
    emulated: Emulated,
) -> None:
    with receiver(resets=1, reset_after=50_000) as carbon:
        report = push_many(emulated, carbon.address)
    assert (report["sent"], report["failed"], report["ok"]) == (report["offered"], 0, True)
    assert len(delivered(report, carbon)) == report["sent"]
    assert "reconnected and wrote again" in report["warnings"][0]


def test_a_carbon_that_never_reads_gets_nothing_counted_sent(emulated: Emulated) -> None:
    with silent() as carbon:
        report = push_many(emulated, carbon.address, ", write_timeout: 1s")
    assert (report["sent"], report["failed"]) == (0, report["offered"])
    assert report["errors"] == [f"{carbon.address} (plaintext): not confirmed by a clean close: timed out"]
    assert carbon.accepted == 1
