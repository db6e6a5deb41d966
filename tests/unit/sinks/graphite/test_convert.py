"""Naming, sanitising and encoding for carbon, without the network."""

from __future__ import annotations

import math
import pickle
import struct

import pytest
from scrape_push.model import Sample
from scrape_push.sinks.graphite.convert import (
    Datapoint,
    NameRules,
    datagram_batches,
    format_value,
    parse_template,
    pickle_batches,
    plaintext_batches,
    series_name,
    to_points,
)
from scrape_push.sinks.graphite.limits import (
    MAX_NAME_BYTES,
    MAX_PATH_COMPONENT_BYTES,
    PICKLE_MAX_FRAME_BYTES,
)

from tests.support.samples import sample as make_sample

NOW_MS = 1_700_000_000_000
BASE = (("instance", "10.0.0.1:9100"), ("job", "api"))

PATH = NameRules("path", "", parse_template("{__name__}"))
JOB_FIRST = NameRules("path", "prom", parse_template("{job}.{instance}.{__name__}"))
TAGS = NameRules("tags", "", parse_template("{__name__}"))
TAGS_PREFIXED = NameRules("tags", "prom.k8s", parse_template("{__name__}"))


def sample(
    name: str = "up",
    labels: tuple[tuple[str, str], ...] = BASE,
    value: float = 1.0,
    timestamp_ms: int = NOW_MS,
) -> Sample:
    return make_sample(name, tuple(sorted(labels)), value, timestamp_ms)


def name_of(rules: NameRules, name: str, labels: tuple[tuple[str, str], ...]) -> tuple[str, set[str]]:
    reasons: set[str] = set()
    return series_name(name, tuple(sorted(labels)), rules, reasons), reasons


@pytest.mark.parametrize(
    ("rules", "metric", "labels", "expected", "reasons"),
    [
        pytest.param(PATH, "up", BASE, "up.instance.10_0_0_1:9100.job.api", {"path_sanitised"}, id="default"),
        pytest.param(JOB_FIRST, "up", BASE, "prom.api.10_0_0_1:9100.up", {"path_sanitised"}, id="template"),
        pytest.param(
            JOB_FIRST,
            "http_seconds_bucket",
            (*BASE, ("le", "0.5"), ("code", "200")),
            "prom.api.10_0_0_1:9100.http_seconds_bucket.code.200.le.0_5",
            {"path_sanitised"},
            id="remaining-labels-sorted",
        ),
        pytest.param(
            JOB_FIRST,
            "h_bucket",
            (*BASE, ("le", "+Inf")),
            "prom.api.10_0_0_1:9100.h_bucket.le.inf",
            {"path_sanitised"},
            id="le-inf",
        ),
        pytest.param(
            JOB_FIRST,
            "rpc",
            (*BASE, ("quantile", "0.99")),
            "prom.api.10_0_0_1:9100.rpc.quantile.0_99",
            {"path_sanitised"},
            id="quantile",
        ),
        pytest.param(JOB_FIRST, "up", (("job", "api"),), "prom.api._.up", set(), id="missing-label"),
        pytest.param(
            NameRules("path", "", parse_template("host-{instance}.{__name__}")),
            "up",
            (("instance", "web1"),),
            "host-web1.up",
            set(),
            id="mixed-component",
        ),
        pytest.param(
            PATH, "up", (("job", "café bar"),), "up.job.caf__bar", {"path_sanitised"}, id="non-ascii"
        ),
        pytest.param(
            PATH, "up", (("job", "a*b?[c]{d}"),), "up.job.a_b__c__d_", {"path_sanitised"}, id="globs"
        ),
        pytest.param(TAGS, "up", BASE, "up;instance=10.0.0.1:9100;job=api", set(), id="tags"),
        pytest.param(
            TAGS_PREFIXED,
            "h_bucket",
            (*BASE, ("le", "+Inf")),
            "prom.k8s.h_bucket;instance=10.0.0.1:9100;job=api;le=+Inf",
            set(),
            id="tags-prefix-le",
        ),
        pytest.param(TAGS, "up", (("job", "~api"),), "up;job=_api", {"tag_value_sanitised"}, id="tag-tilde"),
        pytest.param(TAGS, "up", (("job", "a~b=c!d^e"),), "up;job=a~b=c!d^e", set(), id="tag-value-allowed"),
        pytest.param(
            TAGS, "up", (("name", "x"),), "up;exported_name=x", {"tag_name_reserved"}, id="tag-name"
        ),
        pytest.param(TAGS, "up", (("a=b!c^d", "x"),), "up;a_b_c_d=x", {"tag_name_sanitised"}, id="tag-key"),
        pytest.param(
            TAGS,
            "up",
            (("a!b", "x"), ("a=b", "y")),
            "up;a_b=x",
            {"tag_name_sanitised", "tag_name_merged"},
            id="tag-names-merged",
        ),
        pytest.param(
            TAGS, "up", (("job", "a b\tc"),), "up;job=a_b_c", {"tag_value_sanitised"}, id="tag-space"
        ),
    ],
)
def test_series_names(
    rules: NameRules, metric: str, labels: tuple[tuple[str, str], ...], expected: str, reasons: set[str]
) -> None:
    assert name_of(rules, metric, labels) == (expected, reasons)


MALICIOUS = [
    "evil\nattack.metric 666 0",
    "evil attack.metric 666",
    "a;b=c",
    "x.y.z",
    "~tilde",
    "\r\n;~. \x00",
]


@pytest.mark.parametrize(
    "rules", [PATH, JOB_FIRST, TAGS, TAGS_PREFIXED], ids=["path", "template", "tags", "tags2"]
)
@pytest.mark.parametrize("value", MALICIOUS)
def test_a_label_value_never_injects_a_series_a_tag_or_a_component(rules: NameRules, value: str) -> None:
    clean, _ = name_of(rules, "up", BASE)
    labels = (("instance", "10.0.0.1:9100"), ("job", value))
    result = to_points([sample(labels=labels)], rules, {})
    lines = b"".join(b.payload for b in plaintext_batches(result.points, 100)).decode()

    assert lines.count("\n") == 1 and lines.endswith("\n")
    name, value_text, timestamp = lines.split(" ")  # exactly three fields
    assert (value_text, timestamp) == ("1", "1700000000\n")
    path, *tags = name.split(";")
    assert path.count(".") == clean.split(";")[0].count(".")  # no path component added
    assert len(tags) == clean.count(";")  # no tag added
    assert not any(c in name for c in "\r\n\t\x00 ")
    if rules.mode == "tags":
        pairs = dict(part.split("=", 1) for part in tags)
        assert set(pairs) == {"instance", "job"}
        assert not pairs["job"].startswith("~")
    assert len(result.points) == 1
    assert sum(result.adjusted.values()) == (0 if rules.mode == "tags" and value == "x.y.z" else 1)


@pytest.mark.parametrize("rules", [PATH, TAGS], ids=["path", "tags"])
def test_series_that_sanitising_makes_equal_are_counted_once_each(rules: NameRules) -> None:
    values = ["a.b", "a;b", "a_b", "other"] if rules.mode == "path" else ["a;b", "a b", "a_b", "other"]
    samples = [sample(labels=(("job", v),), value=i) for i, v in enumerate(values, 1)]
    result = to_points(samples, rules, {})
    assert [p[2] for p in result.points] == [1, 4]
    assert result.dropped == {"name_collision": 2}
    assert sum(result.collisions.values()) == 2


@pytest.mark.parametrize(
    ("value", "dropped"),
    [(math.nan, "nan_or_inf"), (math.inf, "nan_or_inf"), (-math.inf, "nan_or_inf")],
)
def test_nan_and_inf_are_dropped_and_counted(value: float, dropped: str) -> None:
    result = to_points([sample(value=value), sample("kept")], PATH, {})
    assert [p[0].split(".")[0] for p in result.points] == ["kept"]
    assert result.dropped == {dropped: 1}


@pytest.mark.parametrize(
    ("timestamp_ms", "expected"),
    [(1_700_000_000_999, 1_700_000_000), (1_700_000_001_000, 1_700_000_001)],
)
def test_timestamps_are_whole_seconds_of_the_scrape_time(timestamp_ms: int, expected: int) -> None:
    (point,) = to_points([sample(timestamp_ms=timestamp_ms)], TAGS, {}).points
    assert point[1] == expected


def test_a_long_component_is_cut_to_a_file_name_keeping_it_distinct() -> None:
    a, reasons = name_of(TAGS, "x" * 300, ())
    b, _ = name_of(TAGS, "x" * 299 + "y", ())
    assert len(a) == MAX_PATH_COMPONENT_BYTES and a != b
    assert reasons == {"path_component_truncated"}


def test_a_name_too_long_for_carbon_is_dropped() -> None:
    labels = tuple((f"l{i:03}", "v" * 200) for i in range(30))
    result = to_points([sample(labels=labels), sample()], TAGS, {})
    assert len(result.points) == 1 and result.dropped == {"name_too_long": 1}
    assert all(len(p[0]) <= MAX_NAME_BYTES for p in result.points)


def test_each_series_is_named_once_and_its_name_kept_by_ref() -> None:
    first = sample("up", (("job", "a.b"),))
    path_names: dict[int, tuple[str, tuple[str, ...]]] = {}
    tag_names: dict[int, tuple[str, tuple[str, ...]]] = {}
    to_points([first], PATH, path_names)
    to_points([first], TAGS, tag_names)
    assert path_names == {first.series: ("up.job.a_b", ("path_sanitised",))}
    assert tag_names == {first.series: ("up;job=a.b", ())}
    path_names[first.series] = ("from.memory", ("path_sanitised",))
    result = to_points([first._replace(value=2.0)], PATH, path_names)
    assert result.points == [("from.memory", NOW_MS // 1000, 2.0)]
    assert result.adjusted == {"path_sanitised": 1}


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{job}.{instance}", "must place the metric name with {__name__}"),
        ("{job}..{__name__}", "has an empty path component (a leading, trailing or doubled '.')"),
        (".{__name__}", "has an empty path component (a leading, trailing or doubled '.')"),
        ("{__name__}.", "has an empty path component (a leading, trailing or doubled '.')"),
        ("{1job}.{__name__}", "invalid label name '1job' in {...}"),
        (
            "a b.{__name__}",
            "literal text 'a b' may only hold letters, digits and _ - : (labels go in braces, e.g. {job})",
        ),
        (
            "{job.{__name__}",
            "literal text '{job' may only hold letters, digits and _ - : (labels go in braces, e.g. {job})",
        ),
    ],
)
def test_bad_templates_are_explained(template: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_template(template)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (-3.0, "-3"),
        (0.5, "0.5"),
        (1e22, "1e+22"),
        (2.0**53, "9007199254740992.0"),
        (1e-7, "1e-07"),
    ],
)
def test_values_are_written_exactly(value: float, text: str) -> None:
    assert format_value(value) == text
    assert float(text) == value


POINTS: list[Datapoint] = [(f"metric.number_{i:05}", 1_700_000_000 + i, i * 0.5) for i in range(2500)]


def test_plaintext_batches_hold_batch_size_lines() -> None:
    batches = plaintext_batches(POINTS, 1000)
    assert [b.count for b in batches] == [1000, 1000, 500]
    lines = b"".join(b.payload for b in batches).decode().splitlines()
    assert lines[3] == "metric.number_00003 1.5 1700000003"
    assert len(lines) == 2500


def test_datagrams_hold_whole_lines_within_the_size() -> None:
    batches = datagram_batches(POINTS, 1452)
    assert sum(b.count for b in batches) == 2500
    assert all(len(b.payload) <= 1452 and b.payload.endswith(b"\n") for b in batches)
    assert all(b.payload.count(b"\n") == b.count for b in batches)
    (alone,) = datagram_batches([("x" * 2000, 1, 1.0)], 1452)
    assert alone.count == 1


def unframe(payload: bytes) -> list[tuple[str, tuple[int, float]]]:
    (length,) = struct.unpack("!L", payload[:4])
    assert length == len(payload) - 4
    return pickle.loads(payload[4:])


@pytest.mark.parametrize(("batch_size", "counts"), [(1000, [1000, 1000, 500]), (5000, [2500])])
def test_pickle_frames_hold_batch_size_points_in_carbon_shape(batch_size: int, counts: list[int]) -> None:
    frames = pickle_batches(POINTS, batch_size)
    assert [f.count for f in frames] == counts
    items = [item for f in frames for item in unframe(f.payload)]
    assert items[3] == ("metric.number_00003", (1_700_000_003, 1.5))
    assert len(items) == 2500
    assert frames[0].payload[4:6] == b"\x80\x02"  # pickle protocol 2


def test_pickle_frames_stay_under_carbons_frame_limit() -> None:
    big = [("p." + "n" * 3900 + f".{i:05}", 1_700_000_000, float(i)) for i in range(600)]
    frames = pickle_batches(big, 100_000)
    assert len(frames) > 2
    assert all(len(f.payload) - 4 <= PICKLE_MAX_FRAME_BYTES for f in frames)
    assert [item[0] for f in frames for item in unframe(f.payload)] == [p[0] for p in big]


def test_pickle_frames_split_when_the_estimate_is_short() -> None:
    frames = pickle_batches(POINTS[:100], 1000, max_frame_bytes=1000)
    assert all(len(f.payload) - 4 <= 1000 for f in frames)
    assert sum(f.count for f in frames) == 100
