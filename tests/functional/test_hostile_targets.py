"""Hostile targets through the real handler: each fails alone, within its deadline and its memory
budget, and says why in one line without leaking a secret."""

from __future__ import annotations

import base64
import gzip
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from scrape_push import scrape
from scrape_push.scrape import SeriesCache

from tests.functional.conftest import Emulated
from tests.functional.test_handler import config, job
from tests.support.context import build_context
from tests.support.http import Endpoint, Response, serve
from tests.support.trickle import SLOW_BODY, SLOW_HEADERS, trickle

TOKEN = "tok-3c1e9f0aZZ"
PASSWORD = "pa55-9d2bQQ"


def by_job(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["job"]: t for t in summary["targets"]}


def cycle_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(("scrape", "sink"))]


def test_an_unexpected_exception_in_one_target_leaves_the_others_untouched(
    emulated: Emulated, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    raised = threading.Event()

    read = SeriesCache.read

    def parse(cache: SeriesCache, data: bytes, *args: Any, **kwargs: Any) -> Any:
        if data.startswith(b"boom"):
            raised.set()
            raise OverflowError("cannot convert float infinity to integer")
        return read(cache, data, *args, **kwargs)

    def healthy(_path: str) -> Response:
        raised.wait(5)  # answers only once the other target has blown up
        return Response(b"healthy_value 7\n")

    monkeypatch.setattr(SeriesCache, "read", parse)
    with serve(Response(b"boom 1\n")) as bad, serve(healthy) as good:
        emulated.put_config(config(job("bad", bad.address), job("good", good.address, timeout="5s")))
        summary = emulated.invoke()
    targets = by_job(summary)
    assert targets["good"]["up"] == 1 and targets["good"]["samples"] == 1
    assert targets["bad"]["up"] == 0
    assert targets["bad"]["error"] == (
        "internal error: OverflowError: cannot convert float infinity to integer"
    )
    assert targets["bad"]["duration_seconds"] > 0  # measured, not made up
    sent = {d["MetricName"] for d in emulated.strict.datums}
    assert "healthy_value" in sent
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert f"scrape of http://{bad.address}/metrics failed: internal error: OverflowError: " in warnings[0]


def test_a_target_trickling_headers_or_body_is_cut_at_its_timeout(emulated: Emulated) -> None:
    with (
        trickle(*SLOW_HEADERS) as slow_headers,
        trickle(*SLOW_BODY) as slow_body,
        serve(Response(b"fine 1\n")) as fine,
    ):
        emulated.put_config(
            config(
                job("headers", slow_headers, timeout="1s"),
                job("body", slow_body, timeout="1s"),
                job("fine", fine.address),
            )
        )
        summary = emulated.invoke(timeout=30)
        threads_after = cycle_threads()
    targets = by_job(summary)
    for name in ("headers", "body"):
        assert targets[name]["up"] == 0
        assert targets[name]["error"] == "timed out after 1s"
        assert targets[name]["duration_seconds"] >= 1.0  # the real duration, not a claim
    assert targets["fine"]["up"] == 1
    assert threads_after == []  # no scrape thread outlives the handler


def test_a_parse_still_running_at_the_deadline_is_abandoned_and_its_cache_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from scrape_push.deadline import Deadline

    from tests.unit.scrape.test_series import target

    release, entered = threading.Event(), threading.Event()
    caches: list[Any] = []

    read = SeriesCache.read

    def stuck_parse(cache: SeriesCache, data: bytes, *args: Any, **kwargs: Any) -> Any:
        caches.append(cache)
        entered.set()
        release.wait(10)
        return read(cache, data, *args, **kwargs)

    monkeypatch.setattr(SeriesCache, "read", stuck_parse)
    scraper = scrape.Scraper(2, build_context().secrets)
    with serve(Response(b"x 1\n")) as endpoint:
        stuck = target(url=f"http://{endpoint.address}/metrics")
        try:
            (result,) = scraper.scrape_all([stuck], Deadline.after(1.0))
        finally:
            release.set()
    assert entered.is_set() and result.up is False
    assert result.error == "abandoned: the scrape did not finish before the invocation deadline"
    assert scraper.series_cache(stuck) is not caches[0]  # a late parse writes into nothing in use


def test_a_body_over_the_memory_budget_fails_alone(emulated: Emulated) -> None:
    huge = b"a 1\n" * (2 * 1024 * 1024)  # 8 MB: within body_size_limit, not within 256 MB
    with serve(Response(huge)) as hostile, serve(Response(b"small 1\n")) as small:
        # time enough to reach the budget on a loaded machine (at 2 s, CI's once timed out first)
        hostile_job = job("hostile", hostile.address, timeout="25s")
        emulated.put_config(config(hostile_job, job("small", small.address)))
        summary = emulated.invoke(memory_mb=256)
    targets = by_job(summary)
    assert targets["small"]["up"] == 1
    assert targets["hostile"]["up"] == 0
    error = targets["hostile"]["error"]
    assert error.startswith("memory budget exceeded while keeping samples for the sinks: ")
    assert "(function memory 256 MB; see docs/scaling.md)" in error


def test_a_gzip_bomb_counts_its_decompressed_size(emulated: Emulated) -> None:
    bomb = gzip.compress(b"# " + b"a" * (200 * 1024 * 1024) + b"\n", 9)  # 200 MB in about 200 KB
    with (
        serve(Response(bomb, headers={"Content-Encoding": "gzip"})) as hostile,
        serve(Response(b"small 1\n", gzip=True)) as small,
    ):
        emulated.put_config(
            config(
                job("bomb", hostile.address, extra="    body_size_limit: 1GB\n"),
                job("small", small.address),
            )
        )
        summary = emulated.invoke(memory_mb=256)
    targets = by_job(summary)
    assert targets["small"]["up"] == 1
    assert targets["bomb"]["error"].startswith("memory budget exceeded while reading the body")


def test_hostile_targets_cannot_starve_a_small_one_and_a_big_one_alone_fits(emulated: Emulated) -> None:
    big = b"".join(b'big{i="%d"} 1\n' % i for i in range(100_000))  # 1.6 MB, 100k samples
    with serve(Response(b"a 1\n" * (1024 * 1024))) as hostile, serve(Response(b"small 1\n")) as small:
        emulated.put_config(
            config(
                job("hostile", hostile.address, timeout="5s"),
                job("hostile2", hostile.address, timeout="5s"),
                job("small", small.address),
            )
        )
        crowded = by_job(emulated.invoke(memory_mb=512))
    with serve(Response(big)) as alone:
        emulated.put_config(config(job("big", alone.address, timeout="5s")))
        (big_alone,) = emulated.invoke(memory_mb=512)["targets"]
    assert crowded["small"]["up"] == 1
    assert {crowded["hostile"]["up"], crowded["hostile2"]["up"]} == {0}
    assert big_alone["up"] == 1 and big_alone["samples"] == 100_000


def echo(endpoint: Endpoint) -> Callable[[str], Response]:
    """Answers with the Authorization header it was sent, inside an invalid exposition."""

    def respond(_path: str) -> Response:
        sent = endpoint.requests[-1].get("Authorization", "")
        return Response(f"you sent {sent} {{ which is not an exposition\n".encode())

    return respond


def test_secrets_echoed_by_a_target_never_leave_the_process(
    emulated: Emulated, capsys: pytest.CaptureFixture[str]
) -> None:
    basic = base64.b64encode(f"scraper:{PASSWORD}".encode()).decode()
    with serve(Response()) as bearer_echo, serve(Response()) as basic_echo:
        bearer_echo.respond, basic_echo.respond = echo(bearer_echo), echo(basic_echo)
        emulated.put_config(
            config(
                job("bearer", bearer_echo.address, extra=f"    authorization: {{credentials: {TOKEN}}}\n"),
                job(
                    "basic",
                    basic_echo.address,
                    extra=f"    basic_auth: {{username: scraper, password: {PASSWORD}}}\n",
                ),
                job(
                    "proxied",
                    "scraped.invalid:9100",
                    extra=f"    proxy_url: http://puser:{PASSWORD}@127.0.0.1:99999\n",
                ),
            )
        )
        summary = emulated.invoke()
        echoed = bearer_echo.requests[0]["Authorization"] + basic_echo.requests[0]["Authorization"]
    shown = json.dumps(summary) + "".join(capsys.readouterr())
    targets = by_job(summary)
    assert TOKEN in echoed and basic in echoed  # the targets really had them to echo
    assert all(t["up"] == 0 for t in targets.values())
    assert targets["bearer"]["error"].startswith("invalid exposition: ")
    assert "Bearer ********" in targets["bearer"]["error"]
    assert "Basic ********" in targets["basic"]["error"]
    assert "<redacted>@127.0.0.1:99999" in targets["proxied"]["error"]
    for secret in (TOKEN, PASSWORD, basic):
        assert secret not in shown


def test_a_long_error_is_one_short_line(emulated: Emulated) -> None:
    with serve(Response(b"x{" + b"y" * 5000 + b"\n\x1b[2J more\n")) as odd:
        emulated.put_config(config(job("odd", odd.address)))
        (result,) = emulated.invoke()["targets"]
    assert len(result["error"]) <= scrape.MAX_ERROR_CHARS and "\n" not in result["error"]
