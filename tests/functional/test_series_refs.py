"""Series refs through real scrapes: stable while a series exists, forgotten by every sink once
the scrape stage no longer has it (gone from its target, or the target gone)."""

from __future__ import annotations

from scrape_push.config.source import parse_config
from scrape_push.deadline import Deadline
from scrape_push.model import SeriesRef, is_stale
from scrape_push.pipeline import Pipeline
from scrape_push.scrape import Scraper
from scrape_push.sinks.cloudwatch.sink import CloudWatchSink
from scrape_push.sinks.graphite.sink import GraphiteSink
from scrape_push.sinks.remote_write.sink import RemoteWriteSink

from tests.support.context import build_context
from tests.support.graphite import receiver
from tests.support.http import Response, serve
from tests.support.remote_write import capture
from tests.unit.scrape.test_series import target


def remembered(pipeline: Pipeline) -> dict[str, set[SeriesRef]]:
    """The refs each sink keeps something for."""
    found: dict[str, set[SeriesRef]] = {}
    for sink, _ in pipeline.sinks:
        if isinstance(sink, RemoteWriteSink):
            found[sink.kind] = set(sink.series.entries)
        elif isinstance(sink, GraphiteSink):
            found[sink.kind] = set(sink.names.entries)
        elif isinstance(sink, CloudWatchSink):
            found[sink.kind] = set(sink.builder.by_ref.entries)
    return found


def test_a_series_gone_from_its_target_leaves_no_entry_in_any_sink() -> None:
    body = [b'a{x="1"} 1\na{x="2"} 1\n']
    with (
        serve(lambda _path: Response(body[0])) as endpoint,
        capture() as remote_write,
        receiver() as carbon,
    ):
        loaded = parse_config(
            "scrape_configs:\n"
            f"  - {{job_name: app, static_configs: [{{targets: ['{endpoint.address}']}}]}}\n"
            f"remote_write: [{{url: '{remote_write.url}', metadata_config: {{send: false}}}}]\n"
            f"graphite: [{{address: '{carbon.address}'}}]\n"
            "cloudwatch: [{namespace: Refs, mode: emf}]\n"
        )
        warm = Pipeline(loaded, None, build_context())
        first = warm.run(Deadline.after(30))
        refs = {s.labels: s.series for s in first.scrapes[0].samples if s.name == "a"}
        kept, gone = (
            refs[(("instance", endpoint.address), ("job", "app"), ("x", "1"))],
            refs[(("instance", endpoint.address), ("job", "app"), ("x", "2"))],
        )
        assert all({kept, gone} <= refs_of for refs_of in remembered(warm).values())
        assert sorted(remembered(warm)) == ["cloudwatch", "graphite", "remote_write"]

        body[0] = b'a{x="1"} 2\n'
        second = warm.run(Deadline.after(30))
        warm.close()
    assert all(report.ok for report in second.sinks), [r.to_dict() for r in second.sinks]
    again, marker = [s for s in second.scrapes[0].samples if s.name == "a"]
    assert again.series == kept
    assert is_stale(marker.value) and marker.series == gone  # sent under its ref, then forgotten
    for kind, refs_of in remembered(warm).items():
        assert kept in refs_of and gone not in refs_of, kind


def test_a_target_that_leaves_drops_all_its_refs() -> None:
    scraper = Scraper(2, build_context().secrets)
    with serve(Response(b"a 1\nb 1\n")) as first, serve(Response(b"c 1\n")) as second:
        staying = target(url=f"http://{first.address}/metrics")
        leaving = target(url=f"http://{second.address}/metrics")
        before = scraper.scrape_all([staying, leaving], Deadline.after(10))
        assert [r.up for r in before] == [True, True] and scraper.forgotten() == []
        after = scraper.scrape_all([staying], Deadline.after(10))
    assert {s.series for s in after[0].samples} == {s.series for s in before[0].samples}
    assert set(scraper.forgotten()) == {s.series for s in before[1].samples}  # its series, up, scrape_*
    assert scraper.forgotten() == []


def test_a_target_moved_off_a_shard_ends_none_of_its_series_leaving_an_unsharded_cycle_does() -> None:
    # Without departures saying it left the fleet, a target gone from a shard moved to another.
    with serve(Response(b"a 1\n")) as first, serve(Response(b"b 1\n")) as second:
        both = parse_config(
            "scrape_configs:\n"
            f"  - {{job_name: app, static_configs: [{{targets: ['{first.address}', '{second.address}']}}]}}\n"
            "cloudwatch: [{namespace: Refs, mode: emf}]\n"
        )
        ended = {}
        for sharded in (False, True):
            pipeline = Pipeline(both, None, build_context(), 3, sharded=sharded)
            found = pipeline.targets()
            pipeline.run(Deadline.after(30), found=found)
            found.targets[:] = found.targets[:1]  # the planner gave the second target elsewhere
            ended[sharded] = pipeline.run(Deadline.after(30), found=found).ended
            pipeline.close()
    assert [e.instance for e in ended[False]] == [second.address]
    assert ended[True] == []
