"""A sink's answer to a request, read within bounds: a receiver is as hostile as a target.

``requests`` reads a whole answer into memory unless asked to stream, and its read timeout bounds
each read, not the answer: a receiver answering 200 with an endless body, or one byte a second,
would hold a sender (and the invocation) as long as it liked, or take all its memory. So an
answer is streamed and read to its end only while it stays within ``limit`` bytes and the
attempt's time. An answer read to its end leaves its connection to the pool (urllib3 releases it
at the end of the body); one cut short closes its connection. Its status came first and decides:
a body that breaks off (the receiver closed, or was too slow) ends the reading as the bounds do,
with what came of it.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import requests
import urllib3.exceptions

READ_CHUNK_BYTES = 4096
"""Bytes read at a time: answers are small (Remote Write's success has no body at all)."""

GZIP_WBITS = 16 + zlib.MAX_WBITS


def read_answer(response: requests.Response, limit: int, until: float, clock: Callable[[], float]) -> bytes:
    """At most ``limit`` bytes of ``response``'s body (gunzipped when it says gzip), read before
    ``until`` on ``clock``; the response is closed. Its connection is kept for the next request
    only when the body ended within both bounds."""
    raw = bytearray()
    try:
        while len(raw) <= limit and clock() < until:
            chunk = response.raw.read1(READ_CHUNK_BYTES, decode_content=False)
            if not chunk:
                break
            raw += chunk
    except (urllib3.exceptions.HTTPError, OSError):  # raised as urllib3's, not requests': not theirs
        pass
    finally:
        response.close()
    if response.headers.get("Content-Encoding", "").strip().lower() == "gzip":
        return gunzip(bytes(raw), limit)
    return bytes(raw[:limit])


def gunzip(data: bytes, limit: int) -> bytes:
    """At most ``limit`` bytes of a gzip answer (``b""`` when it is not gzip)."""
    try:
        return zlib.decompressobj(GZIP_WBITS).decompress(data, limit)
    except zlib.error:
        return b""
