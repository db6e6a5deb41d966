"""Protobuf's wire format, the few pieces a hand-written encoder needs (Remote Write's and OTLP's
messages are written directly, not built with a protobuf library)."""

from __future__ import annotations


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


_SMALL = tuple(varint(n) for n in range(1 << 14))


def length(value: int) -> bytes:
    """``varint`` of a length, the common ones (below 16384) precomputed."""
    return _SMALL[value] if value < 16384 else varint(value)


def field(tag: int, payload: bytes) -> bytes:
    """A length-delimited field: its one-byte tag (field numbers below 16), length, payload."""
    return bytes((tag,)) + length(len(payload)) + payload
