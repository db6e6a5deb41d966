"""Content negotiation as Prometheus does it: the Accept header of a job's scrape_protocols, and
the format a target's Content-Type selects."""

from __future__ import annotations

import typing

import pytest
from scrape_push.negotiation import (
    DEFAULT_NEGOTIATION,
    DEFAULT_SCRAPE_PROTOCOLS,
    HEADERS,
    OPENMETRICS,
    PROTOBUF,
    TEXT,
    FormatError,
    ScrapeProtocol,
    accept_header,
    negotiation,
)
from scrape_push.parse import FORMATS

from tests.unit.config.test_problems import problems

PROTO_FIRST = ("PrometheusProto", *DEFAULT_SCRAPE_PROTOCOLS)


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


def test_a_job_asks_for_what_a_legacy_names_job_of_prometheus_3_asks_for() -> None:
    assert DEFAULT_NEGOTIATION.headers == {
        "Accept": accept_header(DEFAULT_SCRAPE_PROTOCOLS, "underscores"),
        "Accept-Encoding": "gzip",
    }
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
