"""A local Lightsail API for ``GetInstances``, speaking its real protocol: the AWS JSON 1.1
protocol (``POST /``, ``X-Amz-Target: Lightsail_20161128.GetInstances``,
``Content-Type: application/x-amz-json-1.1``), SigV4-signed for service ``lightsail``, paged by
``pageToken``/``nextPageToken`` (botocore's Lightsail model). The AWS emulator (moto) has no
Lightsail API at all: it answers "Not yet implemented".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

from tests.support.http import QuietHandler, address_of, local_server
from tests.support.sigv4 import Scope, verify

TARGET_PREFIX = "Lightsail_20161128."
JSON_11 = "application/x-amz-json-1.1"


@dataclass
class Lightsail:
    """A running API: ``pages`` are answered in turn, each with a token to the next."""

    server: ThreadingHTTPServer
    scope: Scope
    pages: list[list[dict[str, Any]]]
    calls: list[dict[str, Any]] = field(default_factory=list)
    """Each GetInstances request body."""

    @property
    def url(self) -> str:
        return f"http://{address_of(self.server)}"

    def answer(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        refused = verify(self.scope, "POST", "/", headers, body)
        if refused is not None:
            return 403, {"__type": "UnrecognizedClientException", "message": refused}
        if headers.get("content-type") != JSON_11:
            return 400, {"__type": "SerializationException", "message": "not JSON 1.1"}
        operation = headers.get("x-amz-target", "").removeprefix(TARGET_PREFIX)
        if operation != "GetInstances":
            return 400, {"__type": "InvalidAction", "message": f"no operation {operation}"}
        request = json.loads(body or b"{}")
        self.calls.append(request)
        index = int(request.get("pageToken", "0"))
        page: dict[str, Any] = {"instances": self.pages[index]}
        if index + 1 < len(self.pages):
            page["nextPageToken"] = str(index + 1)
        return 200, page


@contextmanager
def lightsail(scope: Scope, pages: list[list[dict[str, Any]]]) -> Iterator[Lightsail]:
    ref: list[Lightsail] = []

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, answer = ref[0].answer({k.lower(): v for k, v in self.headers.items()}, body)
            self.answer(status, json.dumps(answer).encode(), {"Content-Type": JSON_11})

    with local_server(Handler) as server:
        ref.append(Lightsail(server, scope, pages))
        yield ref[0]
