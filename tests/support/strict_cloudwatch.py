"""A strict PutMetricData checker: the documented limits that the emulator does not enforce.

Install it on the boto3 session the handler uses before its CloudWatch client is created;
every PutMetricData request is then checked (parameters before serialisation, body size
after), every violation recorded, and ``requests`` keeps what was sent.
"""

from __future__ import annotations

import gzip
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

MAX_DATUMS = 1000
MAX_BODY_BYTES = 1024 * 1024
MAX_DIMENSIONS = 30
MAX_NAME = 255
MAX_DIMENSION_VALUE = 1024
MAX_VALUES = 150
MAX_ABS = 2.0**360
MIN_ABS = 2.0**-360
"""Value, and each member of Values and Counts: within -2^360..2^360, NaN and infinities not
supported; older references also reject non-zero magnitudes below 2^-360."""
UNITS = {
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
}
_ASCII_PRINTABLE = re.compile(r"^[\x20-\x7e]+$")


@dataclass
class StrictCloudWatch:
    """Records every PutMetricData call and every limit it breaks."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    body_sizes: list[int] = field(default_factory=list)

    def install(self, session: Any) -> None:
        session.events.register("provide-client-params.cloudwatch.PutMetricData", self._check_params)
        session.events.register("before-send.cloudwatch.PutMetricData", self._check_body)

    @property
    def datums(self) -> list[dict[str, Any]]:
        return [d for r in self.requests for d in r["MetricData"]]

    def _fail(self, message: str) -> None:
        self.violations.append(message)

    def _check_params(self, params: dict[str, Any], **_: Any) -> None:
        self.requests.append(params)
        namespace = params.get("Namespace", "")
        if not 1 <= len(namespace) <= MAX_NAME or namespace.startswith(("AWS/", ":")):
            self._fail(f"bad namespace {namespace!r}")
        data = params.get("MetricData", [])
        if not 1 <= len(data) <= MAX_DATUMS:
            self._fail(f"{len(data)} datums in one request (1..{MAX_DATUMS} allowed)")
        now = datetime.now(UTC)
        for index, datum in enumerate(data):
            self._check_datum(f"MetricData[{index}]", datum, now)

    def _check_datum(self, where: str, datum: dict[str, Any], now: datetime) -> None:
        name = datum.get("MetricName", "")
        if not 1 <= len(name) <= MAX_NAME:
            self._fail(f"{where}: metric name length {len(name)}")
        dims = datum.get("Dimensions", [])
        if len(dims) > MAX_DIMENSIONS:
            self._fail(f"{where}: {len(dims)} dimensions")
        if len({d["Name"] for d in dims}) != len(dims):
            self._fail(f"{where}: duplicate dimension names")
        for d in dims:
            self._check_dimension(where, d["Name"], d["Value"])
        self._check_values(where, datum)
        stamp = datum.get("Timestamp")
        if isinstance(stamp, datetime) and not (
            now - timedelta(days=14) <= stamp <= now + timedelta(hours=2)
        ):
            self._fail(f"{where}: timestamp {stamp.isoformat()} outside -14d..+2h")
        if datum.get("StorageResolution", 60) not in (1, 60):
            self._fail(f"{where}: StorageResolution {datum['StorageResolution']}")
        if "Unit" in datum and datum["Unit"] not in UNITS:
            self._fail(f"{where}: unit {datum['Unit']!r}")

    def _check_values(self, where: str, datum: dict[str, Any]) -> None:
        if "Value" in datum and "Values" in datum:
            self._fail(f"{where}: both Value and Values")
        for value in [datum["Value"]] if "Value" in datum else datum.get("Values", []):
            if not _in_range(value):
                self._fail(f"{where}: value {value!r} not accepted")
        if len(datum.get("Values", [])) > MAX_VALUES:
            self._fail(f"{where}: {len(datum['Values'])} values (max {MAX_VALUES})")
        if "Counts" in datum and len(datum["Counts"]) != len(datum.get("Values", [])):
            self._fail(f"{where}: Counts and Values differ in length")
        for count in datum.get("Counts", []):
            if not _in_range(count) or count < 0:
                self._fail(f"{where}: count {count!r} not accepted")
        if "StatisticValues" in datum and ("Value" in datum or "Values" in datum):
            self._fail(f"{where}: StatisticValues with Value or Values")

    def _check_dimension(self, where: str, name: str, value: str) -> None:
        if (
            not 1 <= len(name) <= MAX_NAME
            or not _ASCII_PRINTABLE.match(name)
            or name.startswith(":")
            or not name.strip()
        ):
            self._fail(f"{where}: dimension name {name!r}")
        if (
            not 1 <= len(value) <= MAX_DIMENSION_VALUE
            or not _ASCII_PRINTABLE.match(value)
            or not value.strip()
        ):
            self._fail(f"{where}: dimension {name} value {value!r}")

    def _check_body(self, request: Any, **_: Any) -> None:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        encoding = request.headers.get("Content-Encoding")  # botocore keeps header values as bytes
        if (encoding.decode() if isinstance(encoding, bytes) else encoding) == "gzip":
            body = gzip.decompress(body)
        self.body_sizes.append(len(body))
        if len(body) > MAX_BODY_BYTES:
            self._fail(f"request body of {len(body)} bytes (max {MAX_BODY_BYTES})")


def _in_range(number: float) -> bool:
    """A number CloudWatch stores: finite, 0 or of a magnitude within 2^-360..2^360."""
    return math.isfinite(number) and (number == 0 or MIN_ABS <= abs(number) <= MAX_ABS)
