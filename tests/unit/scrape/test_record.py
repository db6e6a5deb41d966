"""The staleness record: a new process marks stale what the one before it tracked."""

from __future__ import annotations

import gc
import random
import tracemalloc
from collections.abc import Iterator
from typing import Any

import cramjam
import pytest
from scrape_push.deadline import Deadline
from scrape_push.model import is_stale
from scrape_push.scrape import Scraper, SeriesCache
from scrape_push.scrape import record as record_module
from scrape_push.scrape.record import (
    Adoption,
    RecordReport,
    StalenessRecord,
    decode,
    encode_target,
    pack,
    record_key,
    target_key,
    unpack,
)
from scrape_push.statetable import Items, WriteBatch
from scrape_push.targets import FailedTarget, Target

from tests.support.context import build_context
from tests.support.otlp import MemoryTable
from tests.unit.scrape.test_series import target
from tests.unit.scrape.test_stale import scrape

GROUP = "*"


def scraper_over(table: MemoryTable) -> Scraper:
    record = StalenessRecord(Items(table, "state"), record_key(GROUP))
    return Scraper(2, build_context().secrets, record=record)


def scraped(scraper: Scraper, each: Target, body: bytes, at: int) -> list[object]:
    """What the scrape stage does for one successful scrape of ``each`` (without HTTP)."""
    cache = scraper.series_cache(each)
    found = scrape(cache, body, at)
    cache.tracker.last = (each, at)
    return found  # type: ignore[return-value]


def test_a_target_line_round_trips_any_label_text() -> None:
    odd = (("a", 'quo"te\\n\nnew line'), ("b", "ünï ☃"), ("instance", "h:1"))
    line = encode_target(target_key(target()), [(("m", odd), None), (("n", ()), None)])
    (found,) = decode(line).values()
    assert (found.job, dict(found.labels)["instance"]) == ("api", "127.0.0.1:1")
    assert found.series == {("m", odd): None, ("n", ()): None}
    assert found.external_labels == (("region", "eu"),)


def test_record_keys_name_the_group_and_leave_room_for_a_shard() -> None:
    assert record_key("a,b") != record_key("a,c")
    assert record_key("a,b", "3") == record_key("a,b") + "#3"
    assert "a,b" not in record_key("a,b")


def test_pack_keeps_the_first_targets_that_fit() -> None:
    lines = [
        encode_target(f"t{i}", [((f"m{i}_{j}", (("x", str(i * j)),)), None) for j in range(200)])
        for i in range(50)
    ]
    packed, raw_bytes, kept = pack(lines, limit=4000)
    assert 0 < kept < 50 and len(packed) <= 4000
    assert unpack(packed, raw_bytes) == b"\n".join(lines[:kept])
    assert pack(lines, record_module.MAX_RECORD_BYTES)[2] == 50


def test_the_record_makes_no_line_past_its_raw_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    scraper = scraper_over(table := MemoryTable())
    first, *_ = fleet_of(scraper, 6, 3)
    line = encode_target(target_key(first), scraper.series_cache(first).tracker.series())
    monkeypatch.setattr(record_module, "MAX_RAW_BYTES", 2 * len(line) + 10)  # two lines fit
    made: list[bytes] = []
    encode = record_module.encode_target

    def counted(*args: Any) -> bytes:
        made.append(encode(*args))
        return made[-1]

    monkeypatch.setattr(record_module, "encode_target", counted)
    report = scraper.keep_record(Deadline.after(30))
    assert report is not None and (report.targets, report.targets_left_out) == (2, 4)
    assert len(made) == 3  # the line past the bound is the last one made
    item = table.items[record_key(GROUP)]
    assert unpack(item["record"]["B"], int(item["raw_bytes"]["N"])) == b"\n".join(made[:2])


def test_pack_stops_making_lines_once_they_cannot_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(record_module, "ESTIMATE_FROM", 40_000)
    made: list[int] = []

    def lines() -> Iterator[bytes]:
        for index in range(1000):
            made.append(index)
            yield random.Random(index).randbytes(1500).hex().encode()  # compresses to about half

    packed, raw_bytes, kept = pack(lines(), 20_000)
    assert 0 < kept < 20 and len(packed) <= 20_000 and raw_bytes == kept * 3001 - 1
    assert len(made) < 200  # made up to 256 KiB of text past ESTIMATE_FROM, not 3 MB


def fleet_of(scraper: Scraper, targets: int, series: int) -> list[Target]:
    each = [
        target(url=f"http://127.0.0.1:{i + 1}/metrics", labels=(("instance", f"h{i}:9100"), ("job", "api")))
        for i in range(targets)
    ]
    for i, one in enumerate(each):
        body = "".join(f'node_thing_{j % 40}{{device="dev{j}",slot="{i}-{j}"}} 1\n' for j in range(series))
        scraped(scraper, one, body.encode(), 1000)
    return each


def test_the_record_is_the_compressed_lines_of_its_targets_byte_for_byte() -> None:
    table = MemoryTable()
    scraper = scraper_over(table)
    each = fleet_of(scraper, 5, 30)
    scraper.keep_record(Deadline.after(30))
    lines = [encode_target(target_key(one), scraper.series_cache(one).tracker.series()) for one in each]
    item = table.items[record_key(GROUP)]
    raw = b"\n".join(lines)
    assert item["record"]["B"] == bytes(cramjam.zstd.compress(raw, record_module.ZSTD_LEVEL))
    assert item["raw_bytes"]["N"] == str(len(raw))


def test_a_written_record_leaves_no_copy_of_its_text_in_memory() -> None:
    scraper = scraper_over(table := MemoryTable())
    fleet_of(scraper, 20, 300)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        scraper.keep_record(Deadline.after(30))
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    raw_bytes = int(table.items[record_key(GROUP)]["raw_bytes"]["N"])
    assert raw_bytes > 400_000
    assert kept < raw_bytes // 10  # the item itself (compressed) and the report


def test_unpack_refuses_a_record_bigger_than_it_says_or_too_big() -> None:
    packed, raw_bytes, _ = pack([b"x" * 1000], 1000)
    with pytest.raises(Exception, match="buffer"):
        unpack(packed, raw_bytes - 1)
    with pytest.raises(ValueError, match="bytes"):
        unpack(packed, record_module.MAX_RAW_BYTES + 1)


def test_a_cold_process_marks_what_the_record_had_and_its_first_scrape_lacks() -> None:
    table = MemoryTable()
    first = scraper_over(table)
    scraped(first, target(), b"a 1\nb 1\nc 1\n", 1000)
    report = first.keep_record(Deadline.after(30))
    assert report is not None and report.targets == 1 and report.written_bytes > 0
    assert table.calls == ["put_item"]

    second = scraper_over(table)  # a new execution environment
    second.start_from_record([target()], Deadline.after(30), 2000)
    found = scraped(second, target(), b"a 1\n", 2000)
    stale = sorted(s.name for s in found if is_stale(s.value))  # type: ignore[attr-defined]
    assert stale == ["b", "c"]
    assert table.calls == ["put_item", "batch_get_item"]


def test_a_cold_process_whose_first_scrape_fails_marks_every_recorded_series() -> None:
    table = MemoryTable()
    first = scraper_over(table)
    scraped(first, target(), b"a 1\nb 1\n", 1000)
    first.keep_record(Deadline.after(30))
    (down,) = scraper_over(table).scrape_all([], Deadline.after(30), refused=[FailedTarget(target(), "no")])
    assert down.stale == 2 and sorted(s.name for s in down.samples[:2]) == ["a", "b"]
    assert not down.up


def test_a_recorded_target_gone_by_the_cold_start_is_ended_at_the_cycle_time() -> None:
    table = MemoryTable()
    first = scraper_over(table)
    scraped(first, target(), b"a 1\n", 1000)
    first.keep_record(Deadline.after(30))
    second = scraper_over(table)
    second.start_from_record([], Deadline.after(30), 5000)
    (ended,) = second.take_ended()
    assert (ended.job, ended.instance, ended.url) == ("api", "127.0.0.1:1", "")
    assert [s.name for s in ended.samples][:2] == ["a", "up"]
    assert len(ended.samples) == 6 and all(is_stale(s.value) for s in ended.samples)
    assert {s.timestamp_ms for s in ended.samples} == {5000}
    assert dict(ended.samples[1].labels) == {"instance": "127.0.0.1:1", "job": "api", "region": "eu"}
    forgotten = second.forgotten()
    assert {s.series for s in ended.samples} <= set(forgotten)  # fresh refs, forgotten after the push


def test_a_warm_process_reads_once_and_writes_only_on_change() -> None:
    table = MemoryTable()
    scraper = scraper_over(table)
    scraper.start_from_record([target()], Deadline.after(30), 1000)
    scraped(scraper, target(), b"a 1\n", 1000)
    scraper.keep_record(Deadline.after(30))
    scraper.start_from_record([target()], Deadline.after(30), 2000)  # read once per process
    scraped(scraper, target(), b"a 2\n", 2000)
    scraper.keep_record(Deadline.after(30))  # unchanged: nothing written
    assert table.calls == ["batch_get_item", "put_item"]
    scraped(scraper, target(), b"a 2\nb 1\n", 3000)
    scraper.keep_record(Deadline.after(30))
    scraped(scraper, target(), b"a 2\n", 4000)
    scraper.keep_record(Deadline.after(30))
    assert table.calls == ["batch_get_item", "put_item", "put_item", "put_item"]


def recorded(body: bytes) -> MemoryTable:
    """A table holding the record of one scrape of ``target()`` that read ``body`` (calls cleared)."""
    table = MemoryTable()
    first = scraper_over(table)
    scraped(first, target(), body, 1000)
    first.keep_record(Deadline.after(30))
    table.calls.clear()
    return table


def test_at_most_one_request_a_cycle_and_none_when_the_record_holds() -> None:
    table = recorded(b"a 1\nb 1\n")
    second = scraper_over(table)  # cold, its target unchanged: the record holds
    for at in (2000, 3000, 4000):
        second.start_from_record([target()], Deadline.after(30), at)
        scraped(second, target(), b"a 1\nb 2\n", at)
        second.keep_record(Deadline.after(30))
    assert table.calls == ["batch_get_item"]
    third = scraper_over(table)  # cold, a series gone: read now, written next cycle
    third.start_from_record([target()], Deadline.after(30), 5000)
    scraped(third, target(), b"a 1\n", 5000)
    third.keep_record(Deadline.after(30))
    assert table.calls == ["batch_get_item", "batch_get_item"]
    scraped(third, target(), b"a 1\n", 6000)
    third.keep_record(Deadline.after(30))
    assert table.calls == ["batch_get_item", "batch_get_item", "put_item"]


def test_a_record_read_this_cycle_joins_the_callers_write_in_the_same_cycle() -> None:
    table = recorded(b"a 1\nb 1\n")
    shard = scraper_over(table)  # cold, as a shard's pipeline mostly is
    shard.start_from_record([target()], Deadline.after(30), 2000)
    scraped(shard, target(), b"a 1\n", 2000)
    joined = WriteBatch()
    report = shard.keep_record(Deadline.after(30), joined)
    assert table.calls == ["batch_get_item"] and report is not None and report.written_bytes == 0
    counts = {"pk": {"S": "shards#g#0"}, "series": {"B": b"x"}}
    Items(table, "state").put_all([counts, *joined.items()], Deadline.after(30))
    joined.settle(None)
    assert table.calls == ["batch_get_item", "batch_write_item"]  # one request each: the counts' own
    assert report.written_bytes > 0 and report.targets == 1 and set(table.items) >= {"shards#g#0"}
    scraped(shard, target(), b"a 1\n", 3000)
    later = WriteBatch()
    shard.keep_record(Deadline.after(30), later)
    assert later.items() == []  # written: not due again
    again = scraper_over(table)  # the next environment reads what this cycle left
    again.start_from_record([target()], Deadline.after(30), 3000)
    assert not [s for s in scraped(again, target(), b"a 1\n", 3000) if is_stale(s.value)]  # type: ignore[attr-defined]


def test_a_planners_own_cycle_that_read_the_record_leaves_its_write_to_the_next_cycle() -> None:
    table = recorded(b"a 1\nb 1\n")
    planner = scraper_over(table)  # a planner runs its next cycle in the same environment
    planner.start_from_record([target()], Deadline.after(30), 2000)
    scraped(planner, target(), b"a 1\n", 2000)
    joined = WriteBatch()
    planner.keep_record(Deadline.after(30), joined, eager=False)
    assert joined.items() == [] and table.calls == ["batch_get_item"]  # no record made while cold
    scraped(planner, target(), b"a 1\n", 3000)
    later = WriteBatch()
    planner.keep_record(Deadline.after(30), later, eager=False)
    assert len(later.items()) == 1 and table.calls == ["batch_get_item"]  # in the next cycle's write


def test_a_joined_write_that_fails_leaves_the_record_due() -> None:
    table = recorded(b"a 1\nb 1\n")
    shard = scraper_over(table)
    shard.start_from_record([target()], Deadline.after(30), 2000)
    scraped(shard, target(), b"a 1\n", 2000)
    joined = WriteBatch()
    report = shard.keep_record(Deadline.after(30), joined)
    joined.settle("ProvisionedThroughputExceededException: slow down")
    assert report is not None and report.errors == [
        "staleness record not written: ProvisionedThroughputExceededException: slow down"
    ]
    retry = WriteBatch()
    shard.keep_record(Deadline.after(30), retry)
    assert len(retry.items()) == 1  # still due: written with the next cycle's counts


def _removed_shard(table: MemoryTable) -> None:
    """Shard 5's record, of targets a:1 and b:1."""
    removed = Scraper(2, build_context().secrets, record=StalenessRecord(Items(table, "state"), "stale1#x#5"))
    for instance in ("a:1", "b:1"):
        each = target(labels=(("instance", instance), ("job", "api")))
        scraped(removed, each, b"m 1\n", 1000)
    removed.keep_record(Deadline.after(30))
    table.calls.clear()


def _b_left(job: str, labels: object) -> bool:
    return dict(labels)["instance"] == "b:1"  # type: ignore[call-overload,no-any-return]


def test_a_removed_shards_record_ends_only_the_targets_listed_as_gone() -> None:
    table = MemoryTable()
    _removed_shard(table)
    adopting = scraper_over(table)
    adopting.keeper.loaded = True  # type: ignore[union-attr] (warm: its own record read before)
    adopting.start_from_record([], Deadline.after(30), 9000, Adoption(["stale1#x#5"], _b_left, 7000))
    (ended,) = adopting.take_ended()
    assert (ended.instance, len(ended.samples), {s.timestamp_ms for s in ended.samples}) == ("b:1", 6, {7000})
    assert {s.series for s in ended.samples} <= set(adopting.forgotten())
    assert table.calls == ["batch_get_item"]


def test_a_cold_adopting_cycle_reads_its_record_and_the_removed_ones_in_one_request() -> None:
    table = recorded(b"a 1\nb 1\n")
    _removed_shard(table)
    adopting = scraper_over(table)
    adopting.start_from_record([target()], Deadline.after(30), 9000, Adoption(["stale1#x#5"], _b_left, 7000))
    assert table.calls == ["batch_get_item"]
    assert [ended.instance for ended in adopting.take_ended()] == ["b:1"]
    assert [s.name for s in scraped(adopting, target(), b"a 1\n", 9000) if is_stale(s.value)] == ["b"]  # type: ignore[attr-defined]
    adopting.keep_record(Deadline.after(30))  # read this cycle, no caller's write: waits
    assert table.calls == ["batch_get_item"]


def test_the_record_follows_the_last_write() -> None:
    table = MemoryTable()
    scraper = scraper_over(table)
    scraped(scraper, target(), b"a 1\nb 1\n", 1000)
    scraper.keep_record(Deadline.after(30))
    scraped(scraper, target(), b"a 1\n", 2000)
    scraper.keep_record(Deadline.after(30))
    item = table.items[record_key(GROUP)]
    (found,) = decode(unpack(item["record"]["B"], int(item["raw_bytes"]["N"]))).values()
    assert {name for name, _ in found.series} == {"a"}


def test_a_record_over_the_item_limit_keeps_what_fits_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(record_module, "MAX_RECORD_BYTES", 600)
    table = MemoryTable()
    scraper = scraper_over(table)
    for index in range(20):
        each = target(
            url=f"http://127.0.0.1:{index + 1}/metrics", labels=(("instance", f"h{index}"), ("job", "api"))
        )
        scraped(scraper, each, "".join(f"m{index}_{j} 1\n" for j in range(50)).encode(), 1000)
    report = scraper.keep_record(Deadline.after(30))
    assert report is not None and 0 < report.targets < 20
    assert report.targets + report.targets_left_out == 20
    assert "item limit" in report.warnings[0]
    assert len(table.items[record_key(GROUP)]["record"]["B"]) <= 600


def test_a_table_down_or_a_corrupt_record_costs_the_markers_only() -> None:
    table = MemoryTable(down=True)
    scraper = scraper_over(table)
    scraper.start_from_record([target()], Deadline.after(30), 1000)
    scraped(scraper, target(), b"a 1\n", 1000)
    first = scraper.keep_record(Deadline.after(30))
    scraped(scraper, target(), b"a 1\n", 2000)
    second = scraper.keep_record(Deadline.after(30))
    assert first is not None and second is not None
    assert [error.split(":")[0] for error in first.errors + second.errors] == [
        "staleness record not read",
        "staleness record not written",
    ]
    corrupt = MemoryTable(items={record_key(GROUP): {"pk": {"S": record_key(GROUP)}, "record": {"B": b"zz"}}})
    other = scraper_over(corrupt)
    other.start_from_record([target()], Deadline.after(30), 1000)
    assert other.series_cache(target()).tracker.seed is None
    assert isinstance(other.keeper, record_module.RecordKeeper)
    assert other.keeper.report.errors == ["staleness record ignored: unreadable (KeyError)"]


def test_no_record_without_a_table_or_when_turned_off() -> None:
    from scrape_push.config.source import parse_config
    from scrape_push.pipeline import staleness_record
    from scrape_push.settings import Settings

    with_table = build_context(settings=Settings(config_parameter="p", state_table="t"))
    on = parse_config("scrape_configs: []\n").config
    off = parse_config("runtime: {staleness_record: false}\nscrape_configs: []\n").config
    assert isinstance(staleness_record(on, None, with_table), StalenessRecord)
    assert staleness_record(off, None, with_table) is None
    assert staleness_record(on, None, build_context()) is None
    assert SeriesCache().tracker.seed is None and RecordReport().to_dict()["read"] is False


def test_a_full_record_and_full_series_counts_fit_one_batch_write() -> None:
    from scrape_push.shards.state import MAX_COUNTED_TARGETS, ShardState

    table, rng = MemoryTable(), random.Random(15)
    scraper = scraper_over(table)
    for index in range(40):  # incompressible label values: far more than one item holds
        each = target(
            url=f"http://127.0.0.1:{index + 1}/metrics", labels=(("instance", f"h{index}"), ("job", "api"))
        )
        body = "".join(f'm{{v="{rng.randbytes(200).hex()}"}} 1\n' for _ in range(50))
        scraped(scraper, each, body.encode(), 1000)
    joined = WriteBatch()
    report = scraper.keep_record(Deadline.after(30), joined)
    counts = dict.fromkeys(range(MAX_COUNTED_TARGETS), 1)
    ShardState(table, "state", "*").save_series(0, counts, 1000, Deadline.after(30), joined)
    assert table.calls == ["batch_write_item"]  # the fake checks DynamoDB's limits, as moto does not
    assert report is not None and report.written_bytes > record_module.MAX_RECORD_BYTES * 0.9
    assert report.targets_left_out > 0 and not report.errors
