"""Content negotiation as Prometheus does it: the Accept header of a job's scrape_protocols, and
the format a target's Content-Type selects."""

from __future__ import annotations

import sys
import typing
from collections.abc import Callable

import pytest
from scrape_push.config.source import parse_config
from scrape_push.negotiation import (
    DEFAULT_NEGOTIATION,
    DEFAULT_SCRAPE_PROTOCOLS,
    HEADERS,
    OPENMETRICS,
    PROTO_FIRST_SCRAPE_PROTOCOLS,
    PROTOBUF,
    TEXT,
    FormatError,
    ScrapeProtocol,
    accept_header,
    negotiation,
)
from scrape_push.parse import FORMATS, Histograms
from scrape_push.targets import Target, build_targets

from tests.support.context import discoveries
from tests.unit.config.test_problems import problems

PROTO_FIRST = PROTO_FIRST_SCRAPE_PROTOCOLS


def test_every_protocol_name_has_its_media_type() -> None:
    assert set(typing.get_args(ScrapeProtocol)) == set(HEADERS)


# Prometheus 3.x's own expectations (scrape_test.go TestAcceptHeader).
@pytest.mark.parametrize(
    ("protocols", "escaping", "header"),
    [
        (
            DEFAULT_SCRAPE_PROTOCOLS,
            "allow-utf-8",
            "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
            "application/openmetrics-text;version=0.0.1;q=0.5,"
            "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,"
            "text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
        ),
        (
            PROTO_FIRST,
            "allow-utf-8",
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,"
            "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"
            "application/openmetrics-text;version=0.0.1;q=0.4,"
            "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,"
            "text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
        ),
        (
            DEFAULT_SCRAPE_PROTOCOLS,
            "underscores",
            "application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.6,"
            "application/openmetrics-text;version=0.0.1;q=0.5,"
            "text/plain;version=1.0.0;escaping=underscores;q=0.4,"
            "text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
        ),
        (("PrometheusText0.0.4",), "underscores", "text/plain;version=0.0.4;q=0.6,*/*;q=0.5"),
    ],
)
def test_the_accept_header_is_built_as_prometheus_builds_it(
    protocols: tuple[str, ...], escaping: str, header: str
) -> None:
    assert accept_header(protocols, escaping) == header


def test_a_job_asks_for_what_a_job_of_prometheus_3_asks_for() -> None:
    assert DEFAULT_NEGOTIATION.headers == {
        "Accept": accept_header(DEFAULT_SCRAPE_PROTOCOLS, "allow-utf-8"),
        "Accept-Encoding": "gzip",
    }
    legacy = negotiation(DEFAULT_SCRAPE_PROTOCOLS, escaping="underscores")
    assert legacy.headers["Accept"] == accept_header(DEFAULT_SCRAPE_PROTOCOLS, "underscores")
    assert negotiation(DEFAULT_SCRAPE_PROTOCOLS, compression=False).accept_encoding == "identity"


@pytest.mark.parametrize(
    ("content_type", "media_type"),
    [
        ("text/plain; version=0.0.4; charset=utf-8", TEXT),
        ("text/plain; version=1.0.0; charset=utf-8; escaping=underscores", TEXT),
        ("TEXT/Plain", TEXT),
        ("application/openmetrics-text; version=1.0.0; charset=utf-8", OPENMETRICS),
        ("application/openmetrics-text; version=0.0.1", OPENMETRICS),
        ('application/openmetrics-text; charset="utf-8";', OPENMETRICS),
    ],
)
def test_the_media_type_alone_picks_the_format(content_type: str, media_type: str) -> None:
    assert DEFAULT_NEGOTIATION.media_type(content_type) == media_type


def python_calls(work: Callable[[], object]) -> int:
    """Python-level function calls ``work`` makes (C-level steps, such as a regex's, not counted)."""
    calls = 0

    def count(_frame: object, event: str, _arg: object) -> None:
        nonlocal calls
        calls += event == "call"

    sys.setprofile(count)
    try:
        work()
    finally:
        sys.setprofile(None)
    return calls


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain; version=0.0.4; charset={}",
        'text/plain; version=0.0.4; charset="{}"',
        "text/plain; version=0.0.4; {}=1",
        "text/plain; version=0.0.4; charset={}; extra",
    ],
)
def test_a_content_type_is_read_in_steps_that_do_not_grow_with_its_length(content_type: str) -> None:
    short, long = (content_type.format("u" * n) for n in (5, 5_000))
    assert python_calls(lambda: DEFAULT_NEGOTIATION.media_type(long)) == python_calls(
        lambda: DEFAULT_NEGOTIATION.media_type(short)
    )


UNUSABLE = [
    None,  # no header
    "",  # blank
    "application/json",  # unknown
    "text/html; charset=utf-8",  # unknown
    "application/openmetrics-text; version",  # a parameter without a value: unparsable
    "application/openmetrics-text;;",  # an empty parameter
    "application/openmetrics-text; a=1; a=2",  # a parameter twice
    'application/openmetrics-text; charset="utf-8',  # an unterminated quoted value
    "application/openmetrics-text extra",  # text after the subtype
    "openmetrics/",  # no subtype after the slash
]


@pytest.mark.parametrize("content_type", UNUSABLE)
def test_without_a_fallback_an_unusable_content_type_is_read_as_text_as_in_2_42(
    content_type: str | None,
) -> None:
    assert DEFAULT_NEGOTIATION.media_type(content_type) == TEXT


@pytest.mark.parametrize("content_type", UNUSABLE)
def test_with_a_fallback_an_unusable_content_type_is_read_with_it(content_type: str | None) -> None:
    fallback = negotiation(DEFAULT_SCRAPE_PROTOCOLS, "OpenMetricsText1.0.0")
    assert fallback.fallback == OPENMETRICS
    assert fallback.media_type(content_type) == OPENMETRICS


def test_a_usable_content_type_wins_over_the_fallback() -> None:
    fallback = negotiation(DEFAULT_SCRAPE_PROTOCOLS, "OpenMetricsText1.0.0")
    assert fallback.media_type("text/plain; version=0.0.4") == TEXT


@pytest.mark.parametrize(
    ("content_type", "fallback"),
    [
        (
            "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
            None,
        ),
        ("", "PrometheusProto"),
    ],
)
def test_a_protobuf_answer_is_read_as_protobuf(content_type: str, fallback: str | None) -> None:
    assert negotiation(PROTO_FIRST, fallback).media_type(content_type) == PROTOBUF


def test_a_media_type_no_format_is_registered_for_is_refused_in_one_clear_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(FORMATS, PROTOBUF)
    content_type = "application/vnd.google.protobuf; encoding=delimited"
    with pytest.raises(FormatError) as caught:
        negotiation(PROTO_FIRST).media_type(content_type)
    assert str(caught.value) == f"no parser for {PROTOBUF} (Content-Type {content_type!r})"


def test_a_content_type_is_quoted_short_in_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(FORMATS, PROTOBUF)
    with pytest.raises(FormatError) as caught:
        DEFAULT_NEGOTIATION.media_type("application/vnd.google.protobuf; x=" + "y" * 10_000)
    assert len(str(caught.value)) < 250


def test_a_long_content_type_is_parsed_to_its_end() -> None:
    many = "application/openmetrics-text" + "".join(f"; p{i}=v" for i in range(50_000))
    assert DEFAULT_NEGOTIATION.media_type(many) == OPENMETRICS
    assert DEFAULT_NEGOTIATION.media_type(many + "; p7=again") == TEXT


def test_scrape_protocols_follow_prometheus_rules() -> None:
    text = (
        "global: {scrape_protocols: []}\n"
        "scrape_configs:\n"
        "  - job_name: a\n"
        "    scrape_protocols: [PrometheusProto, PrometheusText0.0.4, PrometheusProto]\n"
        "  - job_name: b\n"
        "    scrape_protocols: [OpenMetricsText2.0.0]\n"
        "    fallback_scrape_protocol: text\n"
    )
    names = "'PrometheusProto', 'PrometheusText0.0.4', 'PrometheusText1.0.0', 'OpenMetricsText0.0.1', "
    names += "'OpenMetricsText1.0.0'"
    assert problems(text) == [
        "global.scrape_protocols: scrape_protocols cannot be empty (line 1)",
        "scrape_configs[0].scrape_protocols: duplicated protocol in scrape_protocols, got "
        "[PrometheusProto PrometheusText0.0.4 PrometheusProto] (line 4)",
        f"scrape_configs[1].scrape_protocols[0]: must be one of {names}, got 'OpenMetricsText2.0.0' (line 6)",
        f"scrape_configs[1].fallback_scrape_protocol: must be one of {names}, got 'text' (line 7)",
    ]


def _targets(text: str) -> dict[str, Target]:
    return {t.job: t for t in build_targets(parse_config(text).config, None, discoveries()).targets}


def test_native_histograms_ask_for_protobuf_first_per_job_or_globally_as_in_prometheus_3() -> None:
    job = "  - job_name: {0}\n    static_configs: [{{targets: ['h:1']}}]\n"
    text = (
        "global: {scrape_native_histograms: true}\n"
        "scrape_configs:\n"
        + job.format("inherits")
        + job.format("disabled")
        + "    scrape_native_histograms: false\n"
        + job.format("listed")
        + "    scrape_protocols: [PrometheusText0.0.4]\n"
    )
    targets = _targets(text)
    assert targets["inherits"].negotiation.accept == accept_header(PROTO_FIRST_SCRAPE_PROTOCOLS)
    assert targets["inherits"].negotiation.histograms == Histograms(native=True)
    assert targets["disabled"].negotiation.accept == DEFAULT_NEGOTIATION.accept
    assert targets["disabled"].negotiation.histograms == Histograms()
    assert targets["listed"].negotiation.accept == accept_header(["PrometheusText0.0.4"])
    assert targets["listed"].negotiation.histograms == Histograms(native=True)
    alone = _targets("scrape_configs:\n" + job.format("a") + "    scrape_native_histograms: true\n")
    assert alone["a"].negotiation.accept.startswith("application/vnd.google.protobuf;")


def test_classic_parts_and_bucket_limits_reach_the_target() -> None:
    job = (
        "  - job_name: {0}\n    static_configs: [{{targets: ['h:1']}}]\n    scrape_native_histograms: true\n"
    )
    text = (
        "global: {always_scrape_classic_histograms: true}\n"
        "scrape_configs:\n"
        + job.format("inherits")
        + job.format("old_name")
        + "    always_scrape_classic_histograms: false\n    scrape_classic_histograms: true\n"
        + job.format("limited")
        + "    always_scrape_classic_histograms: false\n"
        + "    native_histogram_bucket_limit: 160\n    native_histogram_min_bucket_factor: 1.1\n"
    )
    targets = _targets(text)
    assert targets["inherits"].negotiation.histograms == Histograms(native=True, classic=True)
    assert targets["old_name"].negotiation.histograms == Histograms(native=True, classic=True)
    assert targets["limited"].negotiation.histograms == Histograms(native=True)
    limits = targets["limited"].limits
    assert (limits.native_histogram_bucket_limit, limits.native_histogram_min_bucket_factor) == (160, 1.1)
    assert problems("scrape_configs: [{job_name: a, native_histogram_bucket_limit: -1}]\n") == [
        "scrape_configs[0].native_histogram_bucket_limit: must not be negative (0 means no limit) (line 1)"
    ]
