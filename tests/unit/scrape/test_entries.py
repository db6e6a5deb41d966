"""New series' final labels (``scrape.entries``): one pick of shared pairs per plain series."""

from __future__ import annotations

import itertools
from unittest.mock import patch

import pytest
from scrape_push.labels import finisher, merge_labels
from scrape_push.scrape import SeriesCache, labelsets
from scrape_push.scrape.entries import CommonValues
from scrape_push.targets import Target

from tests.support.parsing import parse_exposition

TEXT = "text/plain; version=0.0.4"
BODY = (
    b"# TYPE node_cpu_seconds_total counter\n"
    + b"".join(f'node_cpu_seconds_total{{cpu="{n}",mode="idle"}} {n}\n'.encode() for n in range(50))
    + b'node_filesystem_avail_bytes{device="/dev/sda1",fstype="",mountpoint="/"} 1\n'
    + b'node_load1{a=""} 1\nnode_load5 2\nnode_uname_info{sysname="Linux"} 1\n'
)


def target(port: int, **overrides: object) -> Target:
    fields: dict[str, object] = {
        "job": "node",
        "url": f"http://127.0.0.1:{port}/metrics",
        "labels": (("instance", f"127.0.0.1:{port}"), ("job", "node")),
        "external_labels": (("region", "eu"),),
        "timeout": 1.0,
        "interval": 60.0,
        "honor_labels": False,
        "honor_timestamps": True,
        "body_size_limit": 0,
    }
    fields.update(overrides)
    return Target(**fields)  # type: ignore[arg-type]


def expected(body: bytes, of: Target) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """Each series' final name and labels as ``merge_labels`` makes them from its pairs."""
    found = []
    for line in body.decode().splitlines():
        if line.startswith("#"):
            continue
        name, _, rest = line.rpartition(" ")[0].partition("{")
        pairs = [tuple(item.split("=", 1)) for item in rest.rstrip("}").split(",") if item]
        exposed = tuple(sorted((label, value.strip('"')) for label, value in pairs if value != '""'))
        found.append((name, merge_labels(exposed, of.labels, of.honor_labels, of.external_labels)))
    return found


def test_targets_with_the_same_label_sets_take_the_first_one_s_pairs_without_building_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(labelsets, "_KERNEL", None)  # the reference, whose building is counted
    common, refs = CommonValues(), itertools.count()
    caches = [SeriesCache(finisher(target(port)), refs=refs, common=common) for port in (1, 2, 3)]
    first = parse_exposition(BODY, TEXT, caches[0])
    with patch.object(labelsets, "exposed_pairs", side_effect=labelsets.exposed_pairs) as built:
        others = [parse_exposition(BODY, TEXT, cache) for cache in caches[1:]]
    assert built.call_count == 0  # each label set's pairs were built once, by the first target
    for port, samples in zip((1, 2, 3), [first, *others], strict=True):
        assert [(s.name, s.labels) for s in samples] == expected(BODY, target(port))
    assert others[0][0].labels[0] is first[0].labels[0]  # ("cpu", "0"): one object for all targets


@pytest.mark.parametrize(
    "of",
    [
        target(1),
        target(1, honor_labels=True),
        target(1, labels=(), external_labels=()),  # one label: a pick of one
        target(1, labels=(("cpu", "x"), ("job", "node"))),  # exported_cpu: the plan renames
        target(1, labels=(("cpu", "x"),), honor_labels=True),
        target(1, external_labels=(("mode", "ext"), ("region", "eu"))),  # the exposed value wins
    ],
    ids=["target", "honor", "no-target", "exported", "honor-clash", "external-clash"],
)
def test_final_labels_are_the_merged_labels_for_every_kind_of_plan(of: Target) -> None:
    cache = SeriesCache(finisher(of), common=CommonValues())
    body = BODY + b'node_cpu_seconds_total{cpu="",mode="x"} 1\nnode_x{cpu="1"} 1\nnode_y{} 1\n'
    assert [(s.name, s.labels) for s in parse_exposition(body, TEXT, cache)] == expected(body, of)


def test_the_shared_label_sets_are_bounded_and_let_go_after_each_cycle() -> None:
    common = CommonValues()
    with patch.object(labelsets, "LABEL_SETS_MAX", 10):
        parse_exposition(BODY, TEXT, SeriesCache(finisher(target(1)), common=common))
    assert common.values.label_sets == {}  # the chunk's 54 label sets do not fit
    parse_exposition(BODY, TEXT, SeriesCache(finisher(target(2)), common=common))
    assert len(common.values.label_sets) == 54
    common.bound(1000)
    assert common.values.label_sets == {}


def test_plans_are_made_again_once_the_interned_values_they_hold_are_let_go() -> None:
    common = CommonValues()
    cache = SeriesCache(finisher(target(1)), common=common)
    parse_exposition(b'a{x="1"} 1\n', TEXT, cache)
    common.values.clear()  # what CommonValues.bound does past its bound
    later = parse_exposition(b'a{x="1"} 1\na{x="2"} 1\n', TEXT, cache)
    assert later[1].labels == (("instance", "127.0.0.1:1"), ("job", "node"), ("region", "eu"), ("x", "2"))
    assert all(common.values[pair] is pair for pair in later[1].labels)  # the new table's pairs
