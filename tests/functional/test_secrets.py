"""No secret leaves the process: a Remote Write receiver that echoes the Authorization header in
its error body, through the real handler with a backlog; the summary, every log line and the
stored ``rejected/`` item are checked for every form of the secret."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer

import pytest

from tests.functional.conftest import Emulated
from tests.functional.test_handler import job
from tests.support.http import QuietHandler, Response, serve, serving

BUCKET = "scrape-push-backlog"
TOKEN = "rw-token-51f0c2XX"
PASSWORD = "rw-pass-8e77aaYY"


@contextmanager
def echoing_receiver() -> Iterator[str]:
    """A receiver refusing every write with HTTP 400 and the Authorization header it got."""

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            sent = self.headers.get("Authorization", "")
            self.answer(400, f"bad request; you sent Authorization: {sent}".encode(), {})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with serving(server):
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v1/write"


@pytest.fixture
def backlog(emulated: Emulated, state_table: str, monkeypatch: pytest.MonkeyPatch) -> str:
    emulated.client("s3").create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("BACKLOG_BUCKET", BUCKET)
    return BUCKET


def stored(emulated: Emulated, prefix: str) -> bytes:
    s3 = emulated.client("s3")
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return b"".join(s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed)


def test_credentials_echoed_by_a_receiver_are_scrubbed_everywhere(
    emulated: Emulated, backlog: str, capsys: pytest.CaptureFixture[str]
) -> None:
    basic = base64.b64encode(f"writer:{PASSWORD}".encode()).decode()
    with (
        serve(Response(b"value 1\n")) as target,
        echoing_receiver() as bearer_url,
        echoing_receiver() as basic_url,
    ):
        emulated.put_config(
            "scrape_configs:\n"
            + job("app", target.address)
            + "remote_write:\n"
            + f"  - {{url: '{bearer_url}', name: bearer, authorization: {{credentials: {TOKEN}}}}}\n"
            + f"  - {{url: '{basic_url}', name: basic,"
            + f" basic_auth: {{username: writer, password: {PASSWORD}}}}}\n"
        )
        summary = emulated.invoke()
    logged = "".join(capsys.readouterr())
    reports = {r["name"]: r for r in summary["sinks"]}
    assert reports["remote_write/bearer"]["rejected"] > 0 and reports["remote_write/basic"]["rejected"] > 0
    assert "you sent Authorization: Bearer ********" in reports["remote_write/bearer"]["errors"][0]
    assert "you sent Authorization: Basic ********" in reports["remote_write/basic"]["errors"][0]
    items = stored(emulated, "rejected/")
    assert b"you sent Authorization: Bearer ********" in items  # the item is kept, scrubbed
    everything = json.dumps(summary) + logged + items.decode("latin1")
    for secret in (TOKEN, PASSWORD, basic):
        assert secret not in everything
