"""Remote Write 1.0's ``Histogram`` messages (``prompb/types.proto``, field numbers from the
Prometheus file) built at run time with the protobuf library, to decode what the sink writes by
hand: devtools/remote_write_proto predates native histograms."""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_OPTIONAL, _REPEATED = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED


def _message(file: Any, name: str, fields: list[tuple[str, int, int, int, str]]) -> None:
    message = file.message_type.add(name=name)
    for field_name, number, kind, label, type_name in fields:
        added = message.field.add(name=field_name, number=number, type=kind, label=label)
        if type_name:
            added.type_name = type_name


def _classes() -> dict[str, Any]:
    file = descriptor_pb2.FileDescriptorProto(name="prompb_histograms.proto", package="h", syntax="proto2")
    _message(
        file,
        "Label",
        [("name", 1, _F.TYPE_STRING, _OPTIONAL, ""), ("value", 2, _F.TYPE_STRING, _OPTIONAL, "")],
    )
    _message(
        file,
        "BucketSpan",
        [("offset", 1, _F.TYPE_SINT32, _OPTIONAL, ""), ("length", 2, _F.TYPE_UINT32, _OPTIONAL, "")],
    )
    _message(
        file,
        "Histogram",
        [
            ("count_int", 1, _F.TYPE_UINT64, _OPTIONAL, ""),
            ("count_float", 2, _F.TYPE_DOUBLE, _OPTIONAL, ""),
            ("sum", 3, _F.TYPE_DOUBLE, _OPTIONAL, ""),
            ("schema", 4, _F.TYPE_SINT32, _OPTIONAL, ""),
            ("zero_threshold", 5, _F.TYPE_DOUBLE, _OPTIONAL, ""),
            ("zero_count_int", 6, _F.TYPE_UINT64, _OPTIONAL, ""),
            ("zero_count_float", 7, _F.TYPE_DOUBLE, _OPTIONAL, ""),
            ("negative_spans", 8, _F.TYPE_MESSAGE, _REPEATED, ".h.BucketSpan"),
            ("negative_deltas", 9, _F.TYPE_SINT64, _REPEATED, ""),
            ("negative_counts", 10, _F.TYPE_DOUBLE, _REPEATED, ""),
            ("positive_spans", 11, _F.TYPE_MESSAGE, _REPEATED, ".h.BucketSpan"),
            ("positive_deltas", 12, _F.TYPE_SINT64, _REPEATED, ""),
            ("positive_counts", 13, _F.TYPE_DOUBLE, _REPEATED, ""),
            ("reset_hint", 14, _F.TYPE_INT32, _OPTIONAL, ""),
            ("timestamp", 15, _F.TYPE_INT64, _OPTIONAL, ""),
        ],
    )
    _message(
        file,
        "TimeSeries",
        [
            ("labels", 1, _F.TYPE_MESSAGE, _REPEATED, ".h.Label"),
            ("histograms", 4, _F.TYPE_MESSAGE, _REPEATED, ".h.Histogram"),
        ],
    )
    _message(file, "WriteRequest", [("timeseries", 1, _F.TYPE_MESSAGE, _REPEATED, ".h.TimeSeries")])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"h.{name}"))
        for name in ("Histogram", "WriteRequest")
    }


CLASSES = _classes()
Histogram = CLASSES["Histogram"]
WriteRequest = CLASSES["WriteRequest"]
