"""The scrape threads' turn (``turns``) through real scrapes: a huge target's parse, the second
read of a huge body whose last line is invalid, or a gzip bomb inflating from one read of its
socket, does not hold up a small target's scrape, which completes while the huge one is still
being parsed or inflated; and that second read ends at the scrape's deadline."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from scrape_push import fetch
from scrape_push.budget import MemoryBudget
from scrape_push.deadline import Deadline
from scrape_push.scrape import Scraper, ScrapeResult, SeriesCache
from scrape_push.scrape import scraper as scraper_module

from tests.support.context import build_context
from tests.support.http import Response, serve
from tests.unit.scrape.test_series import target

HUGE_SERIES = 100_000  # a parse of hundreds of ms, far beyond one turn's slice
BOMB_BYTES = 60 * 1024 * 1024
"""Inflated from under 64 KiB (deflate's ratio is at most 1032): one read of the socket, tens of
ms of inflating."""
WAIT_SECONDS = 20.0


def scrape_both(
    huge: Response,
    small: Callable[[str], Response],
    *,
    body_size_limit: int,
    budget: MemoryBudget | None = None,
) -> list[ScrapeResult]:
    """One cycle of two targets on real servers, the huge one first: their results."""
    scraper = Scraper(4, build_context().secrets)
    with serve(huge) as huge_server, serve(small) as small_server:
        targets = [
            target(
                url=f"http://{huge_server.address}/metrics",
                timeout=WAIT_SECONDS,
                body_size_limit=body_size_limit,
            ),
            target(url=f"http://{small_server.address}/metrics", timeout=WAIT_SECONDS),
        ]
        results = scraper.scrape_all(targets, Deadline.after(WAIT_SECONDS + 5), budget=budget)
    scraper.close()
    return results


def test_a_small_targets_scrape_completes_while_a_huge_one_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    huge_body = b"".join(b'huge_series{n="%d"} %d\n' % (n, n) for n in range(HUGE_SERIES))
    parsing = threading.Event()
    done: list[str] = []
    read = SeriesCache.read

    def noted(cache: SeriesCache, data: bytes, *args: Any, **kwargs: Any) -> Iterator[Any]:
        name = "huge" if data.startswith(b"huge") else "small"
        for chunk in read(cache, data, *args, **kwargs):
            parsing.set()
            yield chunk
        done.append(name)

    def small(_path: str) -> Response:
        parsing.wait(WAIT_SECONDS)  # answers once the huge body is being parsed
        return Response(b"small_value 1\n")

    monkeypatch.setattr(SeriesCache, "read", noted)
    results = scrape_both(Response(huge_body), small, body_size_limit=2 * len(huge_body))
    assert [r.up for r in results] == [True, True], [r.error for r in results]
    assert results[0].scraped == HUGE_SERIES and results[1].scraped == 1
    assert done == ["small", "huge"]


def test_a_small_targets_scrape_completes_while_a_gzip_bomb_inflates(monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = gzip.compress(b"#" * BOMB_BYTES, compresslevel=9)
    assert len(bomb) < 64 * 1024  # the whole body comes with one read of the socket
    inflating = threading.Event()
    done: list[str] = []
    read_body, gunzip = fetch.read_body, fetch._gunzip

    def noted_read(raw: Iterator[bytes], zipped: bool, *args: Any) -> bytes:
        try:
            return read_body(raw, zipped, *args)
        finally:
            done.append("bomb" if zipped else "small")

    def noted_gunzip(chunks: Iterator[bytes]) -> Iterator[bytes]:
        for piece in gunzip(chunks):
            inflating.set()
            yield piece

    def small(_path: str) -> Response:
        inflating.wait(WAIT_SECONDS)  # answers once the bomb is being inflated
        return Response(b"small_value 1\n")

    monkeypatch.setattr(fetch, "read_body", noted_read)
    monkeypatch.setattr(fetch, "_gunzip", noted_gunzip)
    gzipped = Response(bomb, headers={"Content-Encoding": "gzip"})
    results = scrape_both(gzipped, small, body_size_limit=BOMB_BYTES, budget=MemoryBudget.plan(4096, 4, 2))
    assert [r.up for r in results] == [True, True], [r.error for r in results]
    assert done == ["small", "bomb"]


def test_a_small_targets_scrape_completes_while_a_huge_invalid_body_is_read_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After a parse error, the lines before it are read again (``keys_before``): a huge body's
    second read shares the turn as its first did."""
    huge_body = b"".join(b'huge_series{n="%d"} %d\n' % (n, n) for n in range(HUGE_SERIES)) + b"huge_bad x\n"
    again = threading.Event()
    done: list[str] = []
    read, keys_before = SeriesCache.read, scraper_module.keys_before

    def noted_read(cache: SeriesCache, data: bytes, *args: Any, **kwargs: Any) -> Iterator[Any]:
        yield from read(cache, data, *args, **kwargs)
        if not data.startswith(b"huge"):
            done.append("small")

    def noted_again(data: bytes, *args: Any) -> set[str]:
        again.set()
        try:
            return keys_before(data, *args)
        finally:
            done.append("huge")

    def small(_path: str) -> Response:
        again.wait(WAIT_SECONDS)  # answers once the huge body is read again
        return Response(b"small_value 1\n")

    monkeypatch.setattr(SeriesCache, "read", noted_read)
    monkeypatch.setattr(scraper_module, "keys_before", noted_again)
    results = scrape_both(Response(huge_body), small, body_size_limit=2 * len(huge_body))
    assert [r.up for r in results] == [False, True], [r.error for r in results]
    assert (results[0].error or "").startswith("invalid exposition:")
    assert done == ["small", "huge"]


def test_a_second_read_past_the_deadline_is_a_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A body read again after its parse error, at the scrape's deadline: the scrape timed out
    (as the first read would have), not an internal error."""

    def endless(_data: bytes, _content_type: str | None, _line: int | None, between: Any) -> set[str]:
        while True:  # reads on until ``between`` says the deadline came
            between()

    monkeypatch.setattr(scraper_module, "keys_before", endless)
    scraper = Scraper(1, build_context().secrets)
    with serve(Response(b"ok 1\nbad x\n")) as server:
        result = scraper.scrape_all(
            [target(url=f"http://{server.address}/metrics", timeout=0.3)], Deadline.after(10)
        )[0]
    scraper.close()
    assert not result.up
    assert result.error == "timed out after 0.3s"
