"""Stand-ins for the durable sink's collaborators: an in-memory S3 bucket and a scripted kind.

The real S3 (moto server) and real receivers are exercised in tests/integration/durability;
these keep the ordering and accounting rules fast to check case by case.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from scrape_push.deadline import Deadline
from scrape_push.model import Sample, SeriesRef
from scrape_push.sinks.base import Prepared, Request, Result, SinkReport

from tests.support.samples import sample


def _error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "S3"
    )


@dataclass
class MemoryS3:
    """The S3 calls the backlog store makes, on a dict; ``down`` makes every call fail,
    ``failing`` the calls named in it."""

    objects: dict[str, bytes] = field(default_factory=dict)
    down: bool = False
    failing: set[str] = field(default_factory=set)
    page_size: int = 1000
    puts: int = 0

    def _check(self, call: str) -> None:
        if self.down or call in self.failing:
            raise _error("ServiceUnavailable", 503)

    def list_objects_v2(self, Bucket: str, Prefix: str, ContinuationToken: str = "") -> dict[str, Any]:
        self._check("list_objects_v2")
        keys = sorted(k for k in self.objects if k.startswith(Prefix) and k > ContinuationToken)
        page = keys[: self.page_size]
        result: dict[str, Any] = {
            "Contents": [{"Key": k, "Size": len(self.objects[k])} for k in page],
            "IsTruncated": len(keys) > len(page),
        }
        if result["IsTruncated"]:
            result["NextContinuationToken"] = page[-1]
        return result

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        self._check("get_object")
        return {"Body": io.BytesIO(self.objects[Key])}

    def put_object(self, Bucket: str, Key: str, Body: bytes, **_: Any) -> dict[str, Any]:
        self._check("put_object")
        self.puts += 1
        self.objects[Key] = Body
        return {}

    def delete_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        self._check("delete_object")
        self.objects.pop(Key, None)
        return {}

    def keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self.objects if k.startswith(prefix))


@dataclass
class ScriptedSink:
    """A sink whose requests are one sample each (body: the sample's name) and whose
    destination is scripted: ``down`` fails the first request and skips the rest, ``refuse``
    rejects those bodies, ``accept`` limits how many requests succeed before it goes down."""

    name: str = "fake/dest"
    kind: str = "fake"
    default_max_age: float = 3600.0
    down: bool = False
    refuse: set[bytes] = field(default_factory=set)
    accept: int | None = None
    delivered: list[bytes] = field(default_factory=list)

    def prepare(self, samples: Sequence[Sample], report: SinkReport) -> Prepared:
        return Prepared([Request(1, body=s.name.encode(), chain=i % 2) for i, s in enumerate(samples)])

    def load(self, body: bytes, samples: int, chain: int) -> Request:
        return Request(samples, body=body, chain=chain)

    def deliver(self, requests: Sequence[Request], deadline: Deadline, report: SinkReport) -> list[Result]:
        results: list[Result] = []
        for request in requests:
            body = request.body()
            if self.down or (self.accept is not None and self.accept <= 0):
                results.append(Result("failed", "HTTP 503: down"))
                results += [Result("skipped", "not sent")] * (len(requests) - len(results))
                return results
            if body in self.refuse:
                results.append(Result("rejected", "HTTP 400: out of order"))
                continue
            self.delivered.append(body)
            if self.accept is not None:
                self.accept -= 1
            results.append(Result("sent"))
        return results

    def forget(self, refs: Iterable[SeriesRef]) -> None:
        """Nothing kept per series."""

    def close(self) -> None:
        """Nothing held."""


def samples(*names: str) -> list[Sample]:
    return [sample(name, (), 1.0, 0) for name in names]
