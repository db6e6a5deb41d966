from __future__ import annotations

import pytest
from scrape_push.config.errors import FieldError
from scrape_push.config.values import format_duration, parse_duration, parse_size

DURATIONS = {
    "0": 0.0,
    "15s": 15.0,
    "1m30s": 90.0,
    "500ms": 0.5,
    "1h": 3600.0,
    "2d": 172800.0,
    "1w": 604800.0,
    "1y": 31536000.0,
    "1h2m3s4ms": 3723.004,
}


@pytest.mark.parametrize("text,seconds", DURATIONS.items())
def test_durations_follow_prometheus_format(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "10", "1.5s", "s", "1m1h", "-1s", " 1s", "1 s"])
def test_invalid_durations_are_rejected(text: str) -> None:
    with pytest.raises(FieldError, match="not a valid duration string"):
        parse_duration(text)


def test_format_duration_round_trips() -> None:
    for seconds in (0.5, 10.0, 90.0, 3723.004):
        assert parse_duration(format_duration(seconds)) == pytest.approx(seconds)


SIZES = {"0B": 0, "512B": 512, "1KB": 1024, "10MB": 10 * 1024**2, "2GB": 2 * 1024**3}


@pytest.mark.parametrize("text,size", SIZES.items())
def test_sizes_are_base_1024(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["10", "10mb", "1.5MB", "MB", "10 MB"])
def test_invalid_sizes_are_rejected(text: str) -> None:
    with pytest.raises(FieldError):
        parse_size(text)


def test_proxy_url_password_is_masked_when_shown() -> None:
    from scrape_push.config.values import format_proxy_url, parse_proxy_url

    url = parse_proxy_url("http://scraper:hunter2@proxy.internal:3128")
    assert format_proxy_url(url) == "http://scraper:<secret>@proxy.internal:3128"
    assert format_proxy_url("http://proxy:3128") == "http://proxy:3128"
    with pytest.raises(FieldError, match="must be an http:// or https:// URL"):
        parse_proxy_url("socks5://proxy:1080")
