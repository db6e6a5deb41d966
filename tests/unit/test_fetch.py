"""Reading a body: gzip decompressed a bounded piece at a time (a bomb never expands at once)."""

from __future__ import annotations

import gzip
import zlib

import pytest
from scrape_push.fetch import READ_CHUNK_BYTES, _gunzip


def pieces(data: bytes, chunk: int = 4096) -> list[bytes]:
    return list(_gunzip(iter([data[i : i + chunk] for i in range(0, len(data), chunk)])))


def test_a_bomb_comes_out_in_bounded_pieces() -> None:
    bomb = gzip.compress(b"\0" * (20 * 1024 * 1024), 9)
    out = pieces(bomb, chunk=len(bomb))  # the whole bomb arrives in one read
    assert max(len(p) for p in out) <= READ_CHUNK_BYTES
    assert sum(len(p) for p in out) == 20 * 1024 * 1024


def test_concatenated_members_are_read_on() -> None:
    assert b"".join(pieces(gzip.compress(b"a 1\n") + gzip.compress(b"b 2\n"))) == b"a 1\nb 2\n"


@pytest.mark.parametrize("broken", [gzip.compress(b"a 1\n" * 1000)[:-9], b"not gzip at all"])
def test_a_truncated_or_foreign_stream_is_an_error(broken: bytes) -> None:
    with pytest.raises(zlib.error):
        pieces(broken)
