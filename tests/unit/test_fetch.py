"""Reading a body: gzip decompressed a bounded piece at a time (a bomb never expands at once), by
zlib-ng's inflater, which must take and refuse exactly what the standard library's zlib does."""

from __future__ import annotations

import gzip
import zlib

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scrape_push.fetch import READ_CHUNK_BYTES, InflateError, _gunzip


def pieces(data: bytes, chunk: int = 4096) -> list[bytes]:
    return list(_gunzip(iter([data[i : i + chunk] for i in range(0, len(data), chunk)])))


def test_a_bomb_comes_out_in_bounded_pieces() -> None:
    bomb = gzip.compress(b"\0" * (20 * 1024 * 1024), 9)
    out = pieces(bomb, chunk=len(bomb))  # the whole bomb arrives in one read
    assert max(len(p) for p in out) <= READ_CHUNK_BYTES
    assert sum(len(p) for p in out) == 20 * 1024 * 1024


def test_concatenated_members_are_read_on() -> None:
    assert b"".join(pieces(gzip.compress(b"a 1\n") + gzip.compress(b"b 2\n"))) == b"a 1\nb 2\n"


@pytest.mark.parametrize("broken", [gzip.compress(b"a 1\n" * 1000)[:-9], b"not gzip at all", b""])
def test_a_truncated_or_foreign_stream_is_an_error(broken: bytes) -> None:
    with pytest.raises(InflateError):
        pieces(broken)


def reference(data: bytes) -> tuple[bytes, bool]:
    """What the standard library's zlib makes of ``data`` read as ``_gunzip`` reads it (members
    one after another; no byte at all is no member, an error): the bytes it gives, and whether
    it took the whole stream."""
    out, rest = b"", data
    while True:
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += decoder.decompress(rest)
        except zlib.error:
            return out, False
        if not decoder.eof:
            return out, False
        rest = decoder.unused_data
        if not rest:
            return out, True


def under_test(data: bytes, chunk: int) -> tuple[bytes, bool]:
    got = bytearray()
    try:
        for piece in _gunzip(iter([data[i : i + chunk] for i in range(0, len(data), chunk)])):
            got += piece
    except InflateError:
        return bytes(got), False
    return bytes(got), True


BODY = b"".join(b'm_%d{le="%d"} %d\n' % (i % 7, i, i * 3) for i in range(3000))
MEMBER = gzip.compress(BODY, 6)


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """A gzip stream with its bytes flipped, cut, or followed by more members or garbage."""
    data = bytearray(MEMBER)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(data) - 1))
        data[at] ^= draw(st.integers(1, 255))
    if draw(st.booleans()):
        del data[draw(st.integers(0, len(data))) :]
    tail = draw(st.sampled_from([b"", gzip.compress(b"x 1\n"), b"\x1f\x8b", b"garbage"]))
    return bytes(data) + tail


@pytest.mark.native  # run again on the arm64 build, whose zlib-ng wheel is the one Lambda loads
@settings(max_examples=300, deadline=None)
@given(data=damaged(), chunk=st.sampled_from([1, 7, 4096, 65536]))
@example(data=MEMBER[:-4], chunk=4096)  # the trailer's size cut off
@example(data=MEMBER + b"\x1f\x8b", chunk=1)  # a second member's magic and nothing more
@example(data=MEMBER[:10] + bytes([MEMBER[10] ^ 0xFF]) + MEMBER[11:], chunk=65536)
def test_zlib_ng_takes_and_refuses_what_zlib_does(data: bytes, chunk: int) -> None:
    got, whole = under_test(data, chunk)
    expected, expected_whole = reference(data)
    assert whole == expected_whole
    if whole:
        assert got == expected
    else:  # what came out before the fault is the same bytes, cut anywhere in the last piece
        assert expected.startswith(got) or got.startswith(expected)
