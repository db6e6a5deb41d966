"""The hand-written wire format: what it writes decodes with opentelemetry-proto; what it reads
from a receiver is read correctly, and hostile bytes never crash or hang it."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from scrape_push.sinks.otlp import encode

from tests.support.otlp import decoded


def test_a_partial_success_answer_is_read() -> None:
    answer = metrics_service_pb2.ExportMetricsServiceResponse()
    answer.partial_success.rejected_data_points = 3
    answer.partial_success.error_message = "3 points too old"
    assert encode.partial_success(answer.SerializeToString()) == (3, "3 points too old")
    assert encode.partial_success(b"") == (0, "")
    warning = metrics_service_pb2.ExportMetricsServiceResponse()
    warning.partial_success.error_message = "slow down"
    assert encode.partial_success(warning.SerializeToString()) == (0, "slow down")


def test_a_negative_rejected_count_is_no_rejection() -> None:
    answer = metrics_service_pb2.ExportMetricsServiceResponse()
    answer.partial_success.rejected_data_points = -5
    assert encode.partial_success(answer.SerializeToString()) == (0, "")


def test_unknown_fields_are_skipped() -> None:
    partial = bytes((0x08, 2)) + bytes((0x1D,)) + b"\x00\x00\x00\x00" + bytes((0x12, 2)) + b"hi"
    body = bytes((0x11,)) + bytes(8) + bytes((0x0A, len(partial))) + partial
    assert encode.partial_success(body) == (2, "hi")


@pytest.mark.parametrize(
    "body",
    [
        b"\x0a\x05ab",  # length past the end
        b"\x0a",  # no length
        b"\x08" + b"\xff" * 11,  # overlong varint
        b"\x0b",  # group wire type
        b"\x00\x00",  # field number 0
        b"\x11\x00\x00",  # truncated fixed64
    ],
)
def test_malformed_answers_raise_value_error(body: bytes) -> None:
    with pytest.raises(ValueError):
        encode.partial_success(body)


@given(st.binary(max_size=512))
def test_any_bytes_are_read_or_refused_with_value_error(body: bytes) -> None:
    for read in (encode.partial_success, encode.status_message, encode.count_points):
        with contextlib.suppress(ValueError):
            read(body)


def test_reading_is_linear_in_the_answer() -> None:
    body = b"\x0a\x00" * 200_000  # 200,000 empty partial_success fields
    assert encode.partial_success(body) == (0, "")


def test_a_status_message_is_read() -> None:
    assert encode.status_message(b"\x08\x03\x12\x07invalid") == "invalid"
    assert encode.status_message(b"\x08\x03") == ""


def test_points_are_counted_in_a_request_this_module_wrote() -> None:
    attrs = encode.attributes(encode.NUMBER_ATTRIBUTES, [("a", "1")])
    points = [encode.number_point(attrs, None, 1_000_000, float(v), b"") for v in range(3)]
    header = encode.metric_header("g", "help", "s", "gauge")
    metric = encode.metric(header, encode.GAUGE, b"", points)
    scope = encode.scope_metrics(encode.scope("x", "1", []), "", [metric])
    body = encode.resource_metrics(
        encode.attributes(encode.RESOURCE_ATTRIBUTES, [("service.name", "j")]), [scope]
    )
    assert encode.count_points(body) == 3
    request = decoded(body)
    (metric_message,) = request.resource_metrics[0].scope_metrics[0].metrics
    assert [p.as_double for p in metric_message.gauge.data_points] == [0.0, 1.0, 2.0]
    assert metric_message.unit == "s" and metric_message.description == "help"


def test_a_label_that_is_not_utf8_cannot_be_encoded() -> None:
    with pytest.raises(UnicodeEncodeError):
        encode.key_value("a", "\ud800")
