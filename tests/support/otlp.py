"""A local OTLP/HTTP metrics receiver on 127.0.0.1 that decodes every request with the official
``opentelemetry-proto`` messages and checks SigV4 signatures with its own implementation of the
algorithm (AWS General Reference, "Signature Version 4 signing process"), independent of botocore.

``receive(...)`` answers from a script of ``Reply`` objects, then with 200 and an empty
``ExportMetricsServiceResponse``; ``partial(rejected, message)`` builds a partial-success answer.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from botocore.exceptions import ClientError
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from scrape_push.aws import OutOfTime
from scrape_push.config.source import parse_config
from scrape_push.deadline import Deadline
from scrape_push.labels import merge_labels
from scrape_push.model import Sample
from scrape_push.scrape import SeriesCache
from scrape_push.sinks.otlp.config import OTLPConfig
from scrape_push.sinks.otlp.sink import OTLPSink
from scrape_push.sinks.otlp.starts import StartStore, StartTimes
from scrape_push.statetable import Items

from tests.support import http
from tests.support.context import build_context
from tests.support.http import FakeAdapter, QuietHandler, Reply, serving

PROTOBUF = {"Content-Type": "application/x-protobuf"}
ACCESS_KEY, SECRET_KEY = "testing", "testing"
"""The fake credentials every test runs with (tests/conftest.py)."""


def partial(rejected: int, message: str) -> Reply:
    """A 200 answer whose partial_success refuses ``rejected`` data points."""
    answer = metrics_service_pb2.ExportMetricsServiceResponse()
    answer.partial_success.rejected_data_points = rejected
    answer.partial_success.error_message = message
    return Reply(200, answer.SerializeToString(), PROTOBUF)


def status(code: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    """An error answer carrying a ``google.rpc.Status`` (code 1, message 2), as OTLP/HTTP says."""
    text = message.encode()
    assert len(text) < 128
    body = bytes((0x08, 3, 0x12, len(text))) + text
    return Reply(code, body, {**PROTOBUF, **(headers or {})})


@dataclass
class Received:
    """One request as the receiver got it."""

    path: str
    headers: dict[str, str]
    body: bytes
    """As sent (gzip-compressed when ``Content-Encoding: gzip``)."""

    @property
    def payload(self) -> bytes:
        if self.headers.get("Content-Encoding") == "gzip":
            return gzip.decompress(self.body)
        return self.body

    @property
    def request(self) -> metrics_service_pb2.ExportMetricsServiceRequest:
        decoded = metrics_service_pb2.ExportMetricsServiceRequest()
        decoded.ParseFromString(self.payload)
        return decoded

    def as_dict(self) -> dict[str, Any]:
        return MessageToDict(self.request)

    def signature_problem(self, region: str, service: str) -> str | None:
        """Why the request's SigV4 signature is not valid for ``region`` and ``service`` with
        the test credentials (``None``: valid)."""
        return sigv4_problem("POST", self.path, self.headers, self.body, region=region, service=service)


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    script: list[Reply]
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1/metrics"

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> Reply:
        with self.lock:
            self.received.append(Received(path, headers, body))
            return self.script.pop(0) if self.script else Reply(200, b"", PROTOBUF)

    def points(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, Any]]:
        """Every data point received: ``{(metric name, resource + point attributes): point}``."""
        return {key: point for r in self.received for key, point in points_of(r.request)}


def points_of(request: Any) -> Iterator[tuple[tuple[str, tuple[tuple[str, str], ...]], dict[str, Any]]]:
    for resource in request.resource_metrics:
        base = tuple((a.key, a.value.string_value) for a in resource.resource.attributes)
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                data = getattr(metric, metric.WhichOneof("data"))
                for point in data.data_points:
                    attrs = getattr(point, "attributes", ())
                    labels = base + tuple((a.key, a.value.string_value) for a in attrs)
                    yield (metric.name, labels), MessageToDict(point)


@contextmanager
def receive(*script: Reply) -> Iterator[Receiver]:
    """Serve on 127.0.0.1 until the block exits; answer ``script`` in order, then 200."""
    ref: list[Receiver] = []

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            reply = ref[0].answer(self.path, dict(self.headers.items()), body)
            self.answer(reply.status, reply.body, reply.headers)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    ref.append(Receiver(server, list(script)))
    with serving(server):
        yield ref[0]


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sigv4_problem(
    method: str, path: str, headers: dict[str, str], body: bytes, *, region: str, service: str
) -> str | None:
    """Check an ``Authorization: AWS4-HMAC-SHA256 ...`` header against the request."""
    lower = {k.lower(): v for k, v in headers.items()}
    authorization = lower.get("authorization", "")
    scheme, _, rest = authorization.partition(" ")
    if scheme != "AWS4-HMAC-SHA256":
        return f"not SigV4: {authorization[:40]!r}"
    parts = dict(item.strip().split("=", 1) for item in rest.split(","))
    access, date, found_region, found_service, terminator = parts["Credential"].split("/")
    if (access, found_region, found_service, terminator) != (ACCESS_KEY, region, service, "aws4_request"):
        return f"credential scope {parts['Credential']!r}"
    stamp = lower.get("x-amz-date", "")
    if not stamp.startswith(date):
        return f"x-amz-date {stamp!r} is not of {date}"
    signed = parts["SignedHeaders"].split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        return f"host and x-amz-date must be signed, got {signed}"
    canonical_headers = "".join(f"{name}:{' '.join(lower[name].split())}\n" for name in signed)
    target = urlsplit(path)
    query = "&".join(sorted(target.query.split("&"))) if target.query else ""
    canonical = "\n".join(
        [
            method,
            quote(target.path or "/", safe="/~"),
            query,
            canonical_headers,
            parts["SignedHeaders"],
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{SECRET_KEY}".encode(), date), region), service), "aws4_request")
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(expected, parts["Signature"]) else "signature does not match"


def fake_session(*script: Reply | Exception) -> tuple[requests.Session, FakeAdapter]:
    """A session over a fake adapter whose default answer is an OTLP full success."""
    return http.fake_session(*script, default=Reply(200, b"", PROTOBUF))


def otlp_config(entry: str) -> OTLPConfig:
    """One ``otlp`` entry (YAML flow mapping) decoded and resolved as the function does."""
    document = f"scrape_configs: []\notlp: [{entry}]\n"
    return parse_config(document).config.sinks_of(OTLPConfig)[0]


def decoded(body: bytes) -> metrics_service_pb2.ExportMetricsServiceRequest:
    """An uncompressed export request, decoded by opentelemetry-proto."""
    request = metrics_service_pb2.ExportMetricsServiceRequest()
    request.ParseFromString(body)
    return request


def scraped(
    exposition: str,
    time_ms: int,
    *,
    content_type: str = "application/openmetrics-text; version=1.0.0",
    job: str = "api",
    instance: str = "10.0.0.1:8080",
) -> list[Sample]:
    """An exposition's samples as the scrape stage hands them to sinks: the target's ``job``
    and ``instance`` attached, every sample stamped with the scrape's time."""
    target = (("instance", instance), ("job", job))
    return [
        s._replace(labels=merge_labels(s.labels, target, False), timestamp_ms=time_ms)
        for s in SeriesCache().samples(exposition.encode(), content_type, time_ms)
    ]


@dataclass
class MemoryTable:
    """The DynamoDB calls ``statetable.Items`` makes, on a dict, with their conditions;
    ``down`` makes every call fail, ``unprocessed`` leaves that many keys of the next
    BatchGetItem unprocessed, ``race`` runs before each PutItem (another writer)."""

    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    down: bool = False
    unprocessed: int = 0
    unprocessed_writes: int = 0
    """Items of the next BatchWriteItem left unprocessed."""
    calls: list[str] = field(default_factory=list)
    race: Callable[[], None] | None = None
    slow: Callable[[], None] | None = None
    """Runs in every call (a test's clock moving on: a slow table)."""

    def __call__(self, deadline: Deadline) -> MemoryTable:
        """The ClientFor a sink is given: like ``aws.AwsClients``, no call with under 0.5 s left."""
        if deadline.remaining() < 0.5:
            raise OutOfTime(seconds=deadline.remaining())
        return self

    def _check(self, call: str) -> None:
        self.calls.append(call)
        if self.slow is not None:
            self.slow()
        if self.down:
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, call
            )

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self._check("batch_get_item")
        ((table, request),) = RequestItems.items()
        keys = request["Keys"]
        left, keys = keys[: self.unprocessed], keys[self.unprocessed :]
        self.unprocessed = 0
        found = [self.items[k["pk"]["S"]] for k in keys if k["pk"]["S"] in self.items]
        answer: dict[str, Any] = {"Responses": {table: found}}
        if left:
            answer["UnprocessedKeys"] = {table: {"Keys": left}}
        return answer

    def put_item(
        self, TableName: str, Item: dict[str, Any], ConditionExpression: str | None = None, **kwargs: Any
    ) -> None:
        if self.race is not None:
            race, self.race = self.race, None
            race()
        self._check("put_item")
        key = Item["pk"]["S"]
        held = self.items.get(key)
        if ConditionExpression is None:
            ok = True
        elif ConditionExpression.startswith("attribute_not_exists"):
            ok = held is None
        else:
            ok = held is not None and held["version"] == kwargs["ExpressionAttributeValues"][":read"]
        if not ok:
            raise ClientError(
                {"Error": {"Code": "ConditionalCheckFailedException", "Message": "no"}}, "PutItem"
            )
        self.items[key] = Item

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self._check("batch_write_item")
        ((table, requests),) = RequestItems.items()
        items = checked_batch_write(requests)
        left, items = items[: self.unprocessed_writes], items[self.unprocessed_writes :]
        self.unprocessed_writes = 0
        for item in items:
            self.items[item["pk"]["S"]] = item
        return {"UnprocessedItems": {table: [{"PutRequest": {"Item": i}} for i in left]} if left else {}}


def checked_batch_write(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items of a BatchWriteItem's puts, as DynamoDB checks them (moto is lenient): 1 to 25
    requests, no key twice, each item at most 400 KB (DynamoDB API reference, BatchWriteItem)."""
    from scrape_push.statetable import MAX_BATCH_WRITE_ITEMS, MAX_ITEM_BYTES, item_bytes

    items = [request["PutRequest"]["Item"] for request in requests]
    assert 1 <= len(items) <= MAX_BATCH_WRITE_ITEMS
    assert len({item["pk"]["S"] for item in items}) == len(items)
    assert all(item_bytes(item) <= MAX_ITEM_BYTES for item in items)
    return items


class Clock:
    """A settable wall clock (seconds)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def build_sink(
    entry: str = "{endpoint: 'https://collector.example/v1/metrics'}",
    *script: Reply | Exception,
    table: MemoryTable | None = None,
    clock: Callable[[], float] = time.time,
    concurrency: int = 1,
    sleep: Callable[[float], None] = lambda _: None,
) -> tuple[OTLPSink, FakeAdapter]:
    """An OTLP sink over a fake adapter, with its start times in ``table`` (none: no state table)."""
    session, adapter = fake_session(*script)
    sink = OTLPSink(
        otlp_config(entry),
        build_context(concurrency),
        session=session,
        sleep=sleep,
        rng=lambda: 0.5,
        clock=clock,
    )
    if table is not None:
        sink.starts = StartTimes(sink.name, StartStore(Items(table, "state")), clock)
    return sink, adapter
