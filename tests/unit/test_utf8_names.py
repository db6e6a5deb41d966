"""UTF-8 metric and label names (issue 15, point 6): Prometheus 3.x's quoted syntax in text and
OpenMetrics, ``metric_name_validation_scheme`` and ``metric_name_escaping_scheme`` as it
documents them, and what each sink makes of such names.

Unit tests only: the Prometheus installed here is 2.42, which refuses the quoted syntax (its
observed cases are in tests/unit/parse/test_prometheus_242.py). The expected behaviour is that
of Prometheus 3.x's source and docs (the lead's research notes, sections 3.4 and 6).
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from scrape_push.config.errors import ConfigError
from scrape_push.config.source import parse_config
from scrape_push.deadline import Deadline
from scrape_push.delivery import DirectDelivery
from scrape_push.model import Family
from scrape_push.names import escape_name
from scrape_push.parse import ParseError
from scrape_push.runtime import RUNTIME
from scrape_push.scrape import SeriesCache
from scrape_push.sinks.cloudwatch.sink import CloudWatchSink
from scrape_push.sinks.remote_write.config import RemoteWriteConfig
from scrape_push.sinks.remote_write.encode import LabelEncoder, head_labels
from scrape_push.sinks.remote_write.sink import RemoteWriteSink
from scrape_push.targets import build_targets

from tests.support import cloudwatch
from tests.support.context import build_context, discoveries
from tests.support.parsing import parse_exposition
from tests.support.samples import sample
from tests.unit.sinks.cloudwatch.test_sink import FakeCloudWatch
from tests.unit.sinks.graphite.test_sink import sink_for
from tests.unit.sinks.graphite.test_transport import Connector, FakeSocket

TEXT = "text/plain; version=1.0.0"
OM = "application/openmetrics-text; version=1.0.0"

PARSED: list[tuple[str, str, bytes, list[tuple[str, dict[str, str]]] | str]] = [
    # (case, content type, body, the series read, or an error's reason)
    ("quoted name first", TEXT, b'{"my.metric", "label.name"="v"} 1\n', [("my.metric", {"label.name": "v"})]),
    ("quoted name alone", TEXT, b'{"my.metric"} 1\n', [("my.metric", {})]),
    ("quoted name last (text)", TEXT, b'{a="1","my.metric"} 1\n', [("my.metric", {"a": "1"})]),
    ("quoted label after a bare name", TEXT, b'm{"l.n"="v",b="2"} 1\n', [("m", {"b": "2", "l.n": "v"})]),
    ("a legacy name quoted", TEXT, b'{"plain_name"} 1\n', [("plain_name", {})]),
    ("escapes in a quoted name", TEXT, b'{"a\\"b\\\\c\\nd\\qe"} 1\n', [('a"b\\c\nd\\qe', {})]),
    ("unicode", TEXT, '{"温度.℃","ラベル"="値"} 1\n'.encode(), [("温度.℃", {"ラベル": "値"})]),
    ("openmetrics", OM, b'{"om.m","l.n"="v"} 1\n# EOF\n', [("om.m", {"l.n": "v"})]),
    (
        "HELP and TYPE with a quoted name",
        TEXT,
        b'# HELP "my.c" Help.\n# TYPE "my.c" counter\n{"my.c"} 1\n',
        [("my.c", {})],
    ),
    ("two metric names", TEXT, b'{"a.b","c.d"} 1\n', "metric name already set"),
    ("a bare name and a quoted one", TEXT, b'm{"a.b"} 1\n', "metric name already set"),
    ("braces without a name", TEXT, b'{a="1"} 1\n', "metric name not set"),
    ("empty braces", TEXT, b"{} 1\n", "metric name not set"),
    ("empty quoted label name", TEXT, b'{"m",""="v"} 1\n', "empty label name"),
    ("quoted label twice", TEXT, b'{"m","a.b"="1","a.b"="2"} 1\n', "not unique"),
    ("invalid UTF-8 in a quoted name", TEXT, b'{"m\xff"} 1\n', "invalid UTF-8"),
    ("quoted name in an exemplar", OM, b'm_total 1 # {"e.x"} 1\n# EOF\n', "exemplar"),
]


@pytest.mark.parametrize(
    ("content_type", "data", "expected"), [c[1:] for c in PARSED], ids=[c[0] for c in PARSED]
)
def test_quoted_names_as_prometheus_3_parses_them(
    content_type: str, data: bytes, expected: list[tuple[str, dict[str, str]]] | str
) -> None:
    if isinstance(expected, str):
        with pytest.raises(ParseError, match=expected):
            parse_exposition(data, content_type, SeriesCache())
        return
    cold = [(s.name, dict(s.labels)) for s in parse_exposition(data, content_type)]
    cache = SeriesCache()
    warm = [[(s.name, dict(s.labels)) for s in cache.samples(data, content_type, 1)] for _ in range(2)]
    assert cold == warm[0] == warm[1] == expected


def test_a_quoted_family_name_is_the_family_of_its_samples() -> None:
    (got,) = parse_exposition(b'# TYPE "my.c" counter\n# HELP "my.c" Calls.\n{"my.c"} 1\n', TEXT)
    assert got.family == Family("my.c", "counter", "Calls.")


ESCAPED = [
    # (name, scheme, escaped), the examples of Prometheus's docs and prometheus/common
    ("my.dotted.name", "underscores", "my_dotted_name"),
    ("my.dotted.name", "dots", "my_dot_dotted_dot_name"),
    ("my.dotted.name", "values", "U__my_2e_dotted_2e_name"),
    ("my.dotted.name", "allow-utf-8", "my.dotted.name"),
    ("metric.name.with.dots", "dots", "metric_dot_name_dot_with_dot_dots"),
    ("a_b.c", "dots", "a__b_dot_c"),
    ("a_b.c", "values", "U__a__b_2e_c"),
    ("1abc", "underscores", "_abc"),
    ("1abc", "values", "U___31_abc"),
    ("温度", "values", "U___6e29__5ea6_"),
    ("温度", "underscores", "__"),
    ("legacy_ok:1", "dots", "legacy_ok:1"),
    ("legacy_ok", "values", "legacy_ok"),
]


@pytest.mark.parametrize(("name", "scheme", "escaped"), ESCAPED)
def test_escaping_schemes(name: str, scheme: str, escaped: str) -> None:
    assert escape_name(name, scheme) == escaped


def test_a_label_name_loses_its_colon_when_escaped() -> None:
    assert escape_name("a:b.c", "underscores", label=True) == "a_b_c"
    assert escape_name("a:b", "underscores") == "a:b"  # legacy-valid as a metric name


SCHEMES = [
    # (global, job, the job's validation and escaping in effect), Prometheus 3.x's inheritance
    ("", "", ("utf8", "allow-utf-8")),
    ("metric_name_validation_scheme: legacy", "", ("legacy", "underscores")),
    ("metric_name_escaping_scheme: dots", "", ("utf8", "dots")),
    ("metric_name_escaping_scheme: dots", "metric_name_validation_scheme: legacy", ("legacy", "underscores")),
    ("", "metric_name_escaping_scheme: values", ("utf8", "values")),
    ("metric_name_validation_scheme: legacy", "metric_name_validation_scheme: utf8", ("utf8", "allow-utf-8")),
]


@pytest.mark.parametrize(("glob", "job", "expected"), SCHEMES)
def test_validation_and_escaping_schemes_are_inherited_as_in_prometheus(
    glob: str, job: str, expected: tuple[str, str]
) -> None:
    schemes = f"{job}, " if job else ""
    config = parse_config(
        f"global: {{{glob}}}\n"
        f"scrape_configs: [{{job_name: a, {schemes}static_configs: [{{targets: ['h:1']}}]}}]\n"
        "cloudwatch: [{namespace: N}]\n"
    ).config
    (target,) = build_targets(config, None, discoveries()).targets
    asked = re.findall(r"escaping=([^;,]+)", target.negotiation.headers["Accept"])
    assert (("legacy" if target.legacy_names else "utf8"), *set(asked)) == expected


@pytest.mark.parametrize(
    ("document", "where"),
    [
        (
            "global: {metric_name_validation_scheme: legacy, metric_name_escaping_scheme: allow-utf-8}\n",
            "global",
        ),
        (
            "scrape_configs: [{job_name: a, metric_name_validation_scheme: legacy, "
            "metric_name_escaping_scheme: allow-utf-8}]\n",
            "scrape_configs[0]",
        ),
        ("global: {metric_name_validation_scheme: UTF8}\n", "global.metric_name_validation_scheme"),
        ("global: {metric_name_escaping_scheme: hex}\n", "global.metric_name_escaping_scheme"),
    ],
)
def test_invalid_schemes_are_refused_naming_the_key(document: str, where: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(document + "cloudwatch: [{namespace: N}]\n")
    assert where in str(caught.value)


UTF8_SERIES = [
    sample("my.metric", (("instance", "h:1"), ("job", "api"), ("label.name", "v"))),
    sample("my_metric", (("instance", "h:1"), ("job", "api"), ("label_name", "v"))),
]
"""Two series that the ``underscores`` scheme, or a sink's own sanitising, makes one."""


def _remote_write(scheme: str) -> tuple[RemoteWriteSink, list[tuple[str, ...]]]:
    context = replace(build_context(), name_escaping=scheme)
    sink = RemoteWriteSink(RemoteWriteConfig(url="http://127.0.0.1:1/w"), context)
    encoded = [sink.encoding(s) for s in UTF8_SERIES]
    return sink, [tuple(_labels(head_labels(e))) if isinstance(e, bytes) else (e,) for e in encoded]


def _labels(encoded: bytes) -> list[str]:
    """The label names and values of an encoded ``TimeSeries.labels``, in order."""
    out, at = [], 0
    while at < len(encoded):
        length = encoded[at + 1]  # short test labels: one-byte lengths
        body, at = encoded[at + 2 : at + 2 + length], at + 2 + length
        name_length = body[1]
        out += [body[2 : 2 + name_length].decode(), body[4 + name_length :].decode()]
    return out


def test_remote_write_sends_utf8_names_as_they_are_under_allow_utf8() -> None:
    _, encoded = _remote_write("allow-utf-8")
    assert encoded[0] == ("__name__", "my.metric", "instance", "h:1", "job", "api", "label.name", "v")


@pytest.mark.parametrize(
    ("scheme", "name", "label"),
    [
        ("underscores", "my_metric", "label_name"),
        ("dots", "my_dot_metric", "label_dot_name"),
        ("values", "U__my_2e_metric", "U__label_2e_name"),
    ],
)
def test_remote_write_escapes_utf8_names_by_the_scheme(scheme: str, name: str, label: str) -> None:
    _, encoded = _remote_write(scheme)
    assert sorted(zip(encoded[0][::2], encoded[0][1::2], strict=True)) == sorted(
        [("__name__", name), ("instance", "h:1"), ("job", "api"), (label, "v")]
    )
    assert list(encoded[0][::2]) == sorted(encoded[0][::2])  # sorted again after escaping
    assert encoded[1] == ("__name__", "my_metric", "instance", "h:1", "job", "api", "label_name", "v")


def test_a_legacy_remote_write_encoder_still_refuses_utf8_names() -> None:
    assert LabelEncoder().labels("my.metric", ()) == "invalid_metric_name"
    assert LabelEncoder().labels("m", (("a.b", "1"),)) == "invalid_label_name"
    assert LabelEncoder(utf8_names=True).labels("m", (("", "1"),)) == "invalid_label_name"


def test_the_remote_write_sink_takes_the_global_escaping_scheme() -> None:
    from scrape_push.sinks import build_sinks

    loaded = parse_config(
        "global: {metric_name_escaping_scheme: values}\nremote_write: [{url: 'http://h:1/w'}]\n"
    )
    ((sink, _),) = build_sinks(loaded.config, RUNTIME.context(loaded))
    assert isinstance(sink, RemoteWriteSink) and sink.name_escaping == "values"


def test_cloudwatch_carries_utf8_names_and_counts_those_its_sanitising_makes_one() -> None:
    client = FakeCloudWatch()
    now = cloudwatch.wall_ms()
    samples = [
        cloudwatch.sample("temp.℃", 1.0, ts=now),
        cloudwatch.sample("temp._", 2.0, ts=now),  # the same once the non-ASCII character goes
        cloudwatch.sample("ok.dotted", 3.0, ts=now),
    ]
    report = DirectDelivery(CloudWatchSink(cloudwatch.config(), clients=lambda _: client)).push(
        samples, Deadline.after(30)
    )
    assert [d["MetricName"] for d in client.datums] == ["temp._", "ok.dotted"]
    assert report.dropped == {"dimension_collision": 1} and report.adjusted == {"metric_name_non_ascii": 1}


def test_graphite_carries_utf8_names_and_counts_those_its_sanitising_makes_one() -> None:
    sock = FakeSocket()
    sink = sink_for("{address: 'carbon:2003', template: '{__name__}'}", Connector([sock]))
    samples = [
        sample("my.metric", (("job", "a"),), 1.0, 1_700_000_000_000),
        sample("my_metric", (("job", "a"),), 2.0, 1_700_000_000_000),
        sample("温度", (("job", "a"),), 3.0, 1_700_000_000_000),
    ]
    report = DirectDelivery(sink).push(samples, Deadline.after(30))
    assert b"".join(sock.written).decode().splitlines() == [
        "my_metric.job.a 1 1700000000",
        "__.job.a 3 1700000000",
    ]
    assert report.dropped == {"name_collision": 1}
