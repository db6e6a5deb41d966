"""The test receiver's SigV4 check is a real check: it accepts what botocore signs and refuses a
request changed after signing, or signed for another service or Region."""

from __future__ import annotations

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.support.otlp import ACCESS_KEY, SECRET_KEY, sigv4_problem

URL = "https://monitoring.eu-west-1.amazonaws.com/v1/metrics"


def signed(body: bytes, service: str = "monitoring", region: str = "eu-west-1") -> dict[str, str]:
    request = AWSRequest(method="POST", url=URL, data=body, headers={"Content-Encoding": "gzip"})
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), service, region).add_auth(request)
    return {**dict(request.headers.items()), "Host": "monitoring.eu-west-1.amazonaws.com"}


def test_a_botocore_signature_is_valid() -> None:
    assert (
        sigv4_problem(
            "POST", "/v1/metrics", signed(b"\x1f\x8b"), b"\x1f\x8b", region="eu-west-1", service="monitoring"
        )
        is None
    )


def test_a_changed_body_header_service_or_region_is_refused() -> None:
    headers = signed(b"payload")
    check = {"region": "eu-west-1", "service": "monitoring"}
    assert sigv4_problem("POST", "/v1/metrics", headers, b"payloaD", **check) == "signature does not match"
    changed = {**headers, "Content-Encoding": "identity"}
    assert sigv4_problem("POST", "/v1/metrics", changed, b"payload", **check) == "signature does not match"
    other = signed(b"payload", service="aps")
    assert sigv4_problem("POST", "/v1/metrics", other, b"payload", **check) is not None
    assert sigv4_problem("POST", "/v1/metrics", headers, b"payload", region="us-east-1", service="monitoring")
    assert sigv4_problem("POST", "/v1/metrics", {}, b"payload", **check) == "not SigV4: ''"
