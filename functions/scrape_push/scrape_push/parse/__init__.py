"""The parse stage: exposition bytes in, ``Sample`` objects out.

Contract for every implementation behind this module:

* ``parse_exposition(data, content_type)`` returns the samples in exposition order, each with
  its full series name (``x_total``, ``x_bucket``), its exposed labels sorted and without empty
  values, its own timestamp in ms or ``None``, and its family's metadata;
* invalid input raises ``ParseError`` naming the line and the reason; nothing is returned
  for a partially valid exposition.

This first implementation wraps prometheus_client's parsers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

from ..model import Exemplar, Family, Sample, sort_labels

OPENMETRICS = "application/openmetrics-text"


class ParseError(ValueError):
    """The exposition is invalid; ``line`` is 1-based when known."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        self.reason = reason
        self.line = line
        super().__init__(f"line {line}: {reason}" if line else reason)


def is_openmetrics(content_type: str | None) -> bool:
    """Whether a response ``Content-Type`` selects the OpenMetrics parser (else text 0.0.4)."""
    return bool(content_type) and content_type.split(";", 1)[0].strip().lower() == OPENMETRICS  # type: ignore[union-attr]


def parse_exposition(data: bytes, content_type: str | None = None) -> list[Sample]:
    """Parse a scrape body; see the module docstring for the contract."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ParseError(f"invalid UTF-8 at byte {exc.start}", line) from None
    parser = parse_openmetrics if is_openmetrics(content_type) else parse_text
    try:
        return list(_samples(parser(text)))
    except ParseError:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise ParseError(_locate(str(exc), text)) from None


def _samples(families: Iterable[Any]) -> Iterable[Sample]:
    for fam in families:
        family = Family(name=fam.name, type=fam.type, help=fam.documentation or "", unit=fam.unit or "")
        for s in fam.samples:
            exemplar = None
            if s.exemplar is not None:
                exemplar = Exemplar(
                    sort_labels(s.exemplar.labels), float(s.exemplar.value), _ms(s.exemplar.timestamp)
                )
            yield Sample(s.name, sort_labels(s.labels), float(s.value), _ms(s.timestamp), family, exemplar)


def _ms(timestamp: object) -> int | None:
    if timestamp is None:
        return None
    seconds = float(timestamp)  # type: ignore[arg-type]
    return round(seconds * 1000)


def _locate(message: str, text: str) -> str:
    """prometheus_client quotes the bad line but not its number; find it for the user."""
    for marker in ("Invalid line: ", "Invalid sample: "):
        if message.startswith(marker):
            bad = message[len(marker) :].strip()
            for number, line in enumerate(text.split("\n"), 1):
                if line.strip() == bad:
                    return f"line {number}: invalid line {bad[:120]!r}"
    return message[:300]
