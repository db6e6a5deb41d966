"""Staleness markers through the real handler: a real HTTP target, Remote Write captured, the
staleness record in the emulated state table."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

from scrape_push.model import STALE_BITS
from scrape_push.runtime import RUNTIME

from tests.functional.conftest import Emulated
from tests.support.http import Response, serve
from tests.support.remote_write import Capture, capture
from tests.unit.scrape.test_stale import REPORT_SERIES


def config(address: str, remote_write: str, *, extra: str = "") -> str:
    return (
        "scrape_configs:\n"
        f"  - {{job_name: app, static_configs: [{{targets: ['{address}']}}]{extra}}}\n"
        f"remote_write: [{{url: '{remote_write}', metadata_config: {{send: false}}}}]\n"
    )


def received(sink: Capture) -> Iterator[tuple[str, int, int]]:
    """(name, timestamp, value bits) of every sample the receiver got, then forget them."""
    for sent in sink.requests:
        for series in sent.request.timeseries:
            name = {label.name: label.value for label in series.labels}["__name__"]
            for point in series.samples:
                yield name, point.timestamp, int.from_bytes(struct.pack("<d", point.value), "little")
    sink.requests.clear()


def stale_names(sink: Capture) -> tuple[list[str], dict[str, int]]:
    """The names marked stale, and the timestamp of each sample by name."""
    samples = list(received(sink))
    return sorted(name for name, _, bits in samples if bits == STALE_BITS), {n: t for n, t, _ in samples}


def test_markers_for_a_series_gone_and_for_a_target_failing_sent_once(emulated: Emulated) -> None:
    body = [Response(b"# TYPE a gauge\na 1\nb 2\nc 3\n")]
    with serve(lambda _path: body[0]) as target, capture() as sink:
        emulated.put_config(config(target.address, sink.url))
        first = emulated.invoke()
        assert first["stale_markers"] == 0 and stale_names(sink)[0] == []

        body[0] = Response(b"# TYPE a gauge\na 1\n")
        second = emulated.invoke()
        names, stamps = stale_names(sink)
        assert names == ["b", "c"] and stamps["b"] == stamps["up"]
        assert second["stale_markers"] == 2 and second["targets"][0]["stale_markers"] == 2
        assert second["sinks"][0]["ok"] and second["sinks"][0]["sent"] == second["samples"]

        body[0] = Response(b"oops", status=500)
        third = emulated.invoke()
        assert stale_names(sink)[0] == ["a"] and third["targets"][0]["up"] == 0  # up 0 is never marked
        assert third["stale_markers"] == 1

        assert emulated.invoke()["stale_markers"] == 0  # still failing: sent once
        assert stale_names(sink)[0] == []


def test_a_parse_error_marks_only_the_series_after_it(emulated: Emulated) -> None:
    body = [Response(b"pf_a 1\npf_b 2\npf_c 3\n")]
    with serve(lambda _path: body[0]) as target, capture() as sink:
        emulated.put_config(config(target.address, sink.url))
        emulated.invoke()
        stale_names(sink)
        body[0] = Response(b"pf_a 1\npf_b 2\npf_c x\n")
        summary = emulated.invoke()
    assert summary["targets"][0]["up"] == 0
    assert stale_names(sink)[0] == ["pf_c"]  # as Prometheus: pf_a and pf_b were appended


def test_explicit_timestamps_follow_track_timestamps_staleness(emulated: Emulated) -> None:
    body = [Response(b"ets_a 1 1000\nets_b 2\n")]
    with serve(lambda _path: body[0]) as target, capture() as sink:
        for tracked, expected in ((False, ["ets_b"]), (True, ["ets_a", "ets_b"])):
            body[0] = Response(b"ets_a 1 1000\nets_b 2\n")
            extra = ", track_timestamps_staleness: true" if tracked else ""
            emulated.put_config(config(target.address, sink.url, extra=extra))
            emulated.invoke()
            stale_names(sink)
            body[0] = Response(b"other 1\n")
            emulated.invoke()
            assert stale_names(sink)[0] == expected, tracked


def _item_count(emulated: Emulated, table: str) -> int:
    items: list[dict[str, Any]] = emulated.client("dynamodb").scan(TableName=table)["Items"]
    return sum(1 for item in items if item["pk"]["S"].startswith("stale1#"))


def test_a_new_execution_environment_marks_what_the_last_one_tracked(
    emulated: Emulated, state_table: str
) -> None:
    body = [Response(b"a 1\nb 2\n")]
    with serve(lambda _path: body[0]) as target, serve(Response(b"z 1\n")) as other, capture() as sink:
        emulated.put_config(config(target.address, sink.url))
        first = emulated.invoke()  # reads the record (none yet): its write waits a cycle
        assert first["staleness_record"]["read"] and first["staleness_record"]["written_bytes"] == 0
        second = emulated.invoke()
        assert second["staleness_record"]["targets"] == 1 and _item_count(emulated, state_table) == 1
        stale_names(sink)

        RUNTIME.reset()  # a cold start: nothing warm survives
        body[0] = Response(b"a 1\n")
        cold = emulated.invoke()
        assert cold["staleness_record"]["read"] and not cold["staleness_record"]["errors"]
        assert stale_names(sink)[0] == ["b"]
        emulated.invoke()  # writes what changed

        RUNTIME.reset()  # a cold start, and the target left the configuration meanwhile
        emulated.put_config(config(other.address, sink.url))
        third = emulated.invoke()
        assert stale_names(sink)[0] == sorted(["a", *REPORT_SERIES])
        (ended,) = third["targets_ended"]
        assert (ended["instance"], ended["url"], ended["stale_markers"]) == (target.address, "", 6)
        assert third["stale_markers"] == 6
        assert third["sinks"][0]["ok"]


def test_without_the_record_a_cold_start_marks_nothing(emulated: Emulated, state_table: str) -> None:
    body = [Response(b"a 1\nb 2\n")]
    with serve(lambda _path: body[0]) as target, capture() as sink:
        emulated.put_config(config(target.address, sink.url) + "runtime: {staleness_record: false}\n")
        assert emulated.invoke()["staleness_record"] is None
        RUNTIME.reset()
        body[0] = Response(b"a 1\n")
        emulated.invoke()
    assert stale_names(sink)[0] == [] and _item_count(emulated, state_table) == 0
