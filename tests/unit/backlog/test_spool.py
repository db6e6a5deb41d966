"""The backlog item format: what is written is read back exactly; anything else is refused."""

from __future__ import annotations

import pytest
from scrape_push.backlog.spool import MAGIC, Entry, Item, SpoolError, dump, load

ITEM = Item(
    "remote_write/amp",
    "remote_write",
    1_800_000_000_000,
    1_800_000_060_000,
    "failed",
    (Entry(b"\x00\x01binary\n", 2000, 0), Entry(b"", 0, -1), Entry(b"x" * 70_000, 17, 3)),
    "HTTP 503: unavailable",
)


def test_an_item_survives_dump_and_load() -> None:
    assert load(dump(ITEM)) == ITEM
    assert ITEM.samples == 2017


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"PK\x03\x04zip", "not a scrape-push backlog item"),
        (MAGIC + b'{"version": 1', "truncated header"),
        (dump(ITEM)[:-1], "truncated body"),
        (dump(ITEM).replace(b'"version":1', b'"version":9'), "format version 9 is not 1"),
        (MAGIC + b'{"version": 1, "sink": "s"}\n', "malformed header: 'requests'"),
        (MAGIC + b"[not json\n", "malformed header"),
    ],
    ids=["foreign", "no-header-end", "short-body", "newer-version", "missing-field", "bad-json"],
)
def test_what_is_not_an_item_is_refused_with_the_reason(blob: bytes, message: str) -> None:
    with pytest.raises(SpoolError, match=message.replace("(", r"\(")):
        load(blob)
