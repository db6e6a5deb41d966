"""The scrape threads' turn (``turns``) through real scrapes: a huge target's parse does not hold
up a small target's scrape, which completes while the huge one is still being parsed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from scrape_push.deadline import Deadline
from scrape_push.scrape import Scraper, SeriesCache

from tests.support.context import build_context
from tests.support.http import Response, serve
from tests.unit.scrape.test_series import target

HUGE_SERIES = 100_000  # a parse of hundreds of ms, far beyond one turn's slice
WAIT_SECONDS = 20.0


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
    scraper = Scraper(4, build_context().secrets)
    with serve(Response(huge_body)) as huge_server, serve(small) as small_server:
        huge = target(
            url=f"http://{huge_server.address}/metrics",
            timeout=WAIT_SECONDS,
            body_size_limit=2 * len(huge_body),
        )
        tiny = target(url=f"http://{small_server.address}/metrics", timeout=WAIT_SECONDS)
        results = scraper.scrape_all([huge, tiny], Deadline.after(WAIT_SECONDS + 5))
    scraper.close()
    assert [r.up for r in results] == [True, True], [r.error for r in results]
    assert results[0].scraped == HUGE_SERIES and results[1].scraped == 1
    assert done == ["small", "huge"]
