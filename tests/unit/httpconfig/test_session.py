"""A pooled session's prepared GETs: what ``Session.get`` would send, kept per URL and bounded."""

from __future__ import annotations

import requests
from requests.auth import HTTPBasicAuth
from scrape_push.httpconfig import TLSConfig, new_session

from tests.support.context import build_context

HEADERS = {"Accept": "text/plain", "User-Agent": "scrape-push/test"}


def test_a_prepared_get_is_the_request_session_get_would_send() -> None:
    session = new_session(TLSConfig(), 2, build_context().secrets)
    url = "http://127.0.0.1:9100/metrics?collect[]=cpu&x=a b"
    auth = HTTPBasicAuth("user", "secret")
    ours = session.prepared_get(url, HEADERS, auth)
    theirs = session.prepare_request(requests.Request("GET", url, headers=HEADERS, auth=auth))
    assert (ours.method, ours.url, ours.body) == (theirs.method, theirs.url, theirs.body)
    assert list(ours.headers.items()) == list(theirs.headers.items())
    assert ours.hooks == theirs.hooks


def test_each_request_gets_its_own_headers_and_hooks() -> None:
    session = new_session(TLSConfig(), 2, build_context().secrets)
    first = session.prepared_get("http://h:1/metrics", HEADERS, HTTPBasicAuth("a", "b"))
    first.hooks["response"].append(print)
    second = session.prepared_get("http://h:1/metrics", HEADERS, None)
    assert "Authorization" not in second.headers and second.hooks == {"response": []}


def test_the_urls_kept_prepared_are_bounded_by_the_session_s_hosts() -> None:
    session = new_session(TLSConfig(), 2, build_context().secrets, hosts=3)
    for port in range(10):
        session.prepared_get(f"http://h:{port}/metrics", HEADERS, None)
        assert len(session._prepared) <= 3
