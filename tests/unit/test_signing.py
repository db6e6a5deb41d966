"""SigV4 as AWS documents it: the published test vectors (AWS General Reference, "Signature
Version 4 test suite", and the IAM User Guide's example), and the same signature as botocore's
``SigV4Auth`` on any request (differential)."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given
from hypothesis import strategies as st
from scrape_push.signing import Keys, sign

SUITE_KEYS = Keys("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
SUITE_TIME = datetime.datetime(2015, 8, 30, 12, 36, tzinfo=datetime.UTC)
HOST = "https://example.amazonaws.com"
FORM = "application/x-www-form-urlencoded"

VECTORS = {
    "get-vanilla": (
        "GET",
        "/",
        {},
        b"",
        "host;x-amz-date",
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    ),
    "get-vanilla-query-order-key-case": (
        "GET",
        "/?Param2=value2&Param1=value1",
        {},
        b"",
        "host;x-amz-date",
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
    ),
    "post-vanilla": (
        "POST",
        "/",
        {},
        b"",
        "host;x-amz-date",
        "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
    ),
    "post-vanilla-query": (
        "POST",
        "/?Param1=value1",
        {},
        b"",
        "host;x-amz-date",
        "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
    ),
    "post-header-key-case": (
        "POST",
        "/",
        {"MY-HEADER1": "value1"},
        b"",
        "host;my-header1;x-amz-date",
        "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
    ),
    "post-header-value-case": (
        "POST",
        "/",
        {"My-Header1": "VALUE1"},
        b"",
        "host;my-header1;x-amz-date",
        "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
    ),
    "post-x-www-form-urlencoded": (
        "POST",
        "/",
        {"Content-Type": FORM},
        b"Param1=value1",
        "content-type;host;x-amz-date",
        "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
    ),
}


@pytest.mark.parametrize("vector", VECTORS.values(), ids=VECTORS.keys())
def test_the_signature_test_suite(vector: tuple[str, str, dict[str, str], bytes, str, str]) -> None:
    method, target, headers, body, signed, signature = vector
    added = sign(
        method,
        HOST + target,
        headers,
        body,
        keys=SUITE_KEYS,
        region="us-east-1",
        service="service",
        now=SUITE_TIME,
    )
    assert added == {
        "X-Amz-Date": "20150830T123600Z",
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        f"SignedHeaders={signed}, Signature={signature}",
    }


def test_the_iam_user_guides_example() -> None:
    added = sign(
        "GET",
        "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
        {"Content-Type": FORM + "; charset=utf-8"},
        b"",
        keys=SUITE_KEYS,
        region="us-east-1",
        service="iam",
        now=SUITE_TIME,
    )
    assert added["Authorization"].endswith(
        "SignedHeaders=content-type;host;x-amz-date, "
        "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
    )


def test_temporary_credentials_send_and_sign_their_token() -> None:
    added = sign(
        "POST",
        HOST + "/",
        {},
        b"",
        keys=Keys("AK", "SK", "the-token"),
        region="r",
        service="s",
        now=SUITE_TIME,
    )
    assert added["X-Amz-Security-Token"] == "the-token"
    assert "SignedHeaders=host;x-amz-date;x-amz-security-token," in added["Authorization"]


def test_keys_never_show_the_secret() -> None:
    assert "SK-secret" not in f"{Keys('AK', 'SK-secret', 'tok')!r} {Keys('AK', 'SK-secret')}"


SEGMENTS = st.sampled_from(["a", "b.c", ".", "..", "", "%2F", "~x", "a%20b", "é", "x:y", "*"])
QUERIES = st.lists(
    st.tuples(
        st.sampled_from(["a", "B", "x-y", "%2B", "k"]), st.sampled_from(["", "1", "v%20w", "=", "%3D"])
    ),
    max_size=4,
)
HEADERS = st.dictionaries(
    st.sampled_from(
        ["Content-Type", "X-Custom", "User-Agent", "Expect", "X-Amz-Date", "Authorization", "Accept", "Host"]
    ),
    st.sampled_from(["text/plain", "  a   b  ", "1", "example.amazonaws.com:8443", "old"]),
    max_size=5,
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str], bytes, str | None]:
    """A request as a sink or a scrape may sign it: method, URL, headers, body, session token."""
    host = draw(
        st.sampled_from(["https://example.amazonaws.com", "http://127.0.0.1:8080", "https://h.example:443"])
    )
    url = host + "/" + "/".join(draw(st.lists(SEGMENTS, max_size=5))) + draw(st.sampled_from(["", "/"]))
    query = draw(QUERIES)
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query)
    method = draw(st.sampled_from(["GET", "POST", "put"]))
    return method, url, draw(HEADERS), draw(st.binary(max_size=32)), draw(st.sampled_from([None, "tok en"]))


@given(requests())
def test_every_request_is_signed_as_botocore_signs_it(
    request: tuple[str, str, dict[str, str], bytes, str | None],
) -> None:
    method, url, headers, body, token = request
    keys = Keys("AK", "SK", token)
    ours = sign(method, url, headers, body, keys=keys, region="eu-west-1", service="aps", now=SUITE_TIME)
    theirs = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    with mock.patch("botocore.auth.get_current_datetime", lambda *a, **k: SUITE_TIME.replace(tzinfo=None)):
        SigV4Auth(Credentials("AK", "SK", token), "aps", "eu-west-1").add_auth(theirs)
    assert ours["Authorization"] == theirs.headers["Authorization"]
    assert ours.get("X-Amz-Security-Token") == theirs.headers.get("X-Amz-Security-Token")
