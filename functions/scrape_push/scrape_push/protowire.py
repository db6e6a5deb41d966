"""Protobuf's wire format, the few pieces a hand-written encoder and decoder need (Remote Write's
and OTLP's messages are written directly, and the protobuf exposition is read directly, not with
a protobuf library: docs/parser.md#protobuf)."""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping
from typing import Any, Final


def varint(value: int) -> bytes:
    """Base-128 varint; a negative int64 is its 64-bit two's complement (10 bytes). A value
    that fits neither an int64 nor a uint64 raises ``OverflowError``, never wraps."""
    if not -(2**63) <= value < 2**64:
        raise OverflowError(f"{value} does not fit a 64-bit varint")
    value &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


SMALL_VARINTS = tuple(bytes((n,)) for n in range(128)) + tuple(
    bytes((low | 0x80, high)) for high in range(1, 128) for low in range(128)
)
"""The varints of 0 to 16383, built without ``varint`` (half the time: the parse stage imports
this module at a cold start)."""


def length(value: int) -> bytes:
    """``varint`` of a length, the common ones (below 16384) precomputed."""
    return SMALL_VARINTS[value] if value < 16384 else varint(value)


def field(tag: int, payload: bytes) -> bytes:
    """A length-delimited field: its one-byte tag (field numbers below 16), length, payload."""
    return bytes((tag,)) + length(len(payload)) + payload


# -- reading ----------------------------------------------------------------------------------

VARINT: Final = 0
I64: Final = 1
LEN: Final = 2
I32: Final = 5
_MASK64: Final = (1 << 64) - 1
_MAX_FIELD: Final = (1 << 29) - 1
"""The largest field number protobuf allows."""

_DOUBLE: Final = struct.Struct("<d")


class WireError(ValueError):
    """Bytes that are not a valid protobuf message; ``offset`` is where in the buffer."""

    def __init__(self, reason: str, offset: int) -> None:
        self.reason = reason
        self.offset = offset
        super().__init__(f"byte {offset}: {reason}")


def read_varint(data: bytes, at: int, end: int) -> tuple[int, int]:
    """The varint at ``data[at]`` (a uint64, at most 10 bytes, not past ``end``) and where it
    ends."""
    if at >= end:
        raise WireError("truncated varint", at)
    byte = data[at]
    if byte < 0x80:
        return byte, at + 1
    start, value, shift = at, byte & 0x7F, 7
    at += 1
    while at < end:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            if value > _MASK64:
                raise WireError("varint overflows 64 bits", start)
            return value, at
        shift += 7
        if shift > 63:
            raise WireError("varint longer than 10 bytes", start)
    raise WireError("truncated varint", start)


def signed64(value: int) -> int:
    """An int64 field's value from its varint (two's complement)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def zigzag(value: int) -> int:
    """A sint32/sint64 field's value from its varint."""
    return (value >> 1) ^ -(value & 1)


def read_double(data: bytes, at: int) -> float:
    """The little-endian double at ``data[at]`` (the caller checked the 8 bytes are there)."""
    return float(_DOUBLE.unpack_from(data, at)[0])


def fields(data: bytes, at: int, end: int) -> Iterator[tuple[int, int, int, int, int]]:
    """Each field of the message ``data[at:end]`` as ``(number, wire type, a, b, start)``: for a
    varint ``a`` is its value and ``b`` its end, otherwise ``data[a:b]`` is the payload;
    ``start`` is where the field (its tag) starts. Every length is checked against ``end``;
    groups (deprecated) and unknown wire types raise ``WireError``."""
    while at < end:
        start = at
        tag = data[at]
        if tag < 0x80:
            at += 1
        else:
            tag, at = read_varint(data, at, end)
        number, wire = tag >> 3, tag & 7
        if not 0 < number <= _MAX_FIELD:
            raise WireError(f"invalid field number {number}", start)
        if wire == LEN:
            size = data[at] if at < end else 0x80
            if size < 0x80:
                at += 1
            else:
                size, at = read_varint(data, at, end)
            if size > end - at:
                raise WireError(f"field {number}: length {size} runs past the end of its message", start)
            yield number, LEN, at, at + size, start
            at += size
        elif wire == VARINT:
            value, at = read_varint(data, at, end)
            yield number, VARINT, value, at, start
        elif wire in (I64, I32):
            size = 8 if wire == I64 else 4
            if size > end - at:
                raise WireError(f"field {number}: truncated fixed-size value", start)
            yield number, wire, at, at + size, start
            at += size
        else:
            raise WireError(f"field {number}: wire type {wire} is not supported", start)


def expect(wire: int, wanted: int, what: str, at: int) -> None:
    """Refuse a known field of the wrong wire type (as gogo-protobuf's generated decoders do)."""
    if wire != wanted:
        raise WireError(f"{what}: wrong wire type {wire}", at)


Field = tuple[int, str]
"""A field a decoder reads: its wire type and what errors call it."""


def scalars(
    data: bytes, start: int, end: int, wanted: Mapping[int, Field], into: dict[int, Any]
) -> dict[int, Any]:
    """Add to ``into`` the fields of the message ``data[start:end]`` that ``wanted`` names, by
    number: a varint's value, a double (I64), or a length-delimited field's ``(start, end)``; a
    later occurrence replaces an earlier one, as protobuf merges a message's scalars. A wanted
    field of another wire type raises ``WireError``."""
    for number, wire, a, b, where in fields(data, start, end):
        field_ = wanted.get(number)
        if field_ is not None:
            expect(wire, field_[0], field_[1], where)
            into[number] = read_double(data, a) if wire == I64 else a if wire == VARINT else (a, b)
    return into
