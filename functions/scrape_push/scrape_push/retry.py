"""Waiting before a sink's next attempt: exponential backoff with jitter, or the server's
``Retry-After`` (RFC 9110, section 10.2.3: delay-seconds or an HTTP date)."""

from __future__ import annotations

import email.utils
from collections.abc import Callable


def retry_after(header: str | None, now: float, ceiling: float) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (at most ``ceiling``), ``None`` without a
    valid one. ``now`` is the wall clock, for a date."""
    text = (header or "").strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return min(float(text), ceiling)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a date without a zone is no valid one
        return None
    return min(max(0.0, when.timestamp() - now), ceiling)


def backoff(attempt: int, low: float, high: float, rng: Callable[[], float]) -> float:
    """The wait before retry ``attempt`` (1-based): ``low * 2**(attempt - 1)`` capped at
    ``high``, drawn from the upper half of that range (jitter keeps senders apart)."""
    ceiling = min(high, low * 2.0 ** min(attempt - 1, 64))
    return ceiling / 2 + rng() * ceiling / 2
