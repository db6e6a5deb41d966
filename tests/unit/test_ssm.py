"""SSM reads without boto3 (``ssm.ParameterStore``), against a scripted adapter: the requests
sent, paging, caching, retries inside the deadline, errors as botocore words them, limits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from botocore.exceptions import NoCredentialsError
from scrape_push import ssm
from scrape_push.aws import AwsClients
from scrape_push.deadline import Deadline
from scrape_push.ssm import ParameterStore, SSMError

from tests.support.http import FakeAdapter, Reply, fake_session

ENDPOINT = "https://ssm.us-east-1.amazonaws.com/"


def ok(answer: dict[str, object]) -> Reply:
    return Reply(200, json.dumps(answer).encode(), {"Content-Type": "application/x-amz-json-1.1"})


def value(text: str) -> Reply:
    return ok({"Parameter": {"Name": "/p", "Type": "SecureString", "Value": text}})


def error(status: int, code: str, message: str = "no") -> Reply:
    return Reply(status, json.dumps({"__type": code, "message": message}).encode())


def store(
    *script: Reply | Exception, clients: AwsClients | None = None
) -> tuple[ParameterStore, FakeAdapter, list[float]]:
    session, adapter = fake_session(*script)
    waits: list[float] = []
    made = ParameterStore(clients or AwsClients(), session=session, sleep=waits.append, rng=lambda: 0.5)
    return made, adapter, waits


def sent_json(adapter: FakeAdapter, index: int = 0) -> dict[str, object]:
    body = adapter.sent[index].body
    assert isinstance(body, bytes)
    found: dict[str, object] = json.loads(body)
    return found


def test_a_parameter_is_one_signed_post_to_ssms_json_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "the-token")
    parameters, adapter, _ = store(value("text"))
    assert parameters.parameter("/p", max_age=0) == "text"
    (request,) = adapter.sent
    assert (request.method, request.url) == ("POST", ENDPOINT)
    assert request.headers["X-Amz-Target"] == "AmazonSSM.GetParameter"
    assert request.headers["Content-Type"] == "application/x-amz-json-1.1"
    assert request.headers["X-Amz-Security-Token"] == "the-token"
    authorization = request.headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=testing/")
    signed = "content-type;host;x-amz-date;x-amz-security-token;x-amz-target"
    assert f"/us-east-1/ssm/aws4_request, SignedHeaders={signed}, Signature=" in authorization
    assert sent_json(adapter) == {"Name": "/p", "WithDecryption": True}


def test_a_value_is_read_again_only_once_max_age_has_passed() -> None:
    parameters, adapter, _ = store(value("a"), value("b"))
    assert [parameters.parameter("/p", max_age=60) for _ in range(3)] == ["a", "a", "a"]
    assert len(adapter.sent) == 1
    uncached, adapter, _ = store(value("a"), value("b"))
    assert [uncached.parameter("/p", max_age=0) for _ in range(2)] == ["a", "b"]
    assert len(adapter.sent) == 2


def page(names: list[str], token: str | None = None) -> Reply:
    answer: dict[str, object] = {"Parameters": [{"Name": n, "Value": f"value of {n}"} for n in names]}
    return ok({**answer, "NextToken": token} if token else answer)


def test_a_path_is_read_page_after_page_recursively() -> None:
    parameters, adapter, _ = store(page(["/c/b", "/c/a"], "t1"), page(["/c/d/e"]))
    assert parameters.path("/c/", max_age=0) == [
        ("/c/a", "value of /c/a"),
        ("/c/b", "value of /c/b"),
        ("/c/d/e", "value of /c/d/e"),
    ]
    first, second = sent_json(adapter, 0), sent_json(adapter, 1)
    assert first == {"Path": "/c/", "Recursive": True, "WithDecryption": True, "MaxResults": 10}
    assert second == {**first, "NextToken": "t1"}
    assert [r.headers["X-Amz-Target"] for r in adapter.sent] == ["AmazonSSM.GetParametersByPath"] * 2


def test_a_next_token_given_twice_ends_the_read() -> None:
    parameters, adapter, _ = store(page(["/c/a"], "t1"), page(["/c/b"], "t2"), page(["/c/c"], "t1"), page([]))
    with pytest.raises(SSMError, match="NextToken it gave before"):
        parameters.path("/c/", max_age=0)
    assert len(adapter.sent) == 3


def test_throttling_and_5xx_are_retried_with_botocores_backoff() -> None:
    parameters, adapter, waits = store(
        error(400, "ThrottlingException", "Rate exceeded"), error(503, "X"), value("v")
    )
    assert parameters.parameter("/p", max_age=0) == "v"
    assert len(adapter.sent) == 3
    assert waits == [0.5 * 1, 0.5 * 2]  # a random share of 2**(attempt-1) seconds


def test_after_the_last_attempt_the_error_reads_as_botocores() -> None:
    parameters, adapter, _ = store(*[error(500, "InternalServerError", "oops")] * 4)
    with pytest.raises(SSMError) as raised:
        parameters.parameter("/p", max_age=0)
    assert str(raised.value) == (
        "An error occurred (InternalServerError) when calling the GetParameter operation: oops"
    )
    assert len(adapter.sent) == ssm.aws.MAX_ATTEMPTS


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (error(400, "ParameterNotFound", ""), "ParameterNotFound"),
        (
            error(400, "AccessDeniedException", "User is not authorized to perform: ssm:GetParameter"),
            "AccessDeniedException",
        ),
        (
            error(400, "com.amazonaws.kms#KMSAccessDeniedException", "kms:Decrypt denied"),
            "KMSAccessDeniedException",
        ),
        (
            Reply(
                403,
                b"<html>denied</html>",
                {"x-amzn-ErrorType": "UnrecognizedClientException:http://internal"},
            ),
            "UnrecognizedClientException",
        ),
    ],
)
def test_an_error_answer_is_not_retried_and_names_its_code(reply: Reply, code: str) -> None:
    parameters, adapter, _ = store(reply)
    with pytest.raises(SSMError) as raised:
        parameters.parameter("/p", max_age=0)
    assert raised.value.code == code
    assert str(raised.value).startswith(
        f"An error occurred ({code}) when calling the GetParameter operation: "
    )
    assert len(adapter.sent) == 1


def test_network_failures_are_retried_then_name_the_endpoint() -> None:
    failures = [requests.ConnectionError("refused")] * 3
    parameters, adapter, _ = store(*failures)
    with pytest.raises(SSMError, match=f'Could not connect to the endpoint URL: "{ENDPOINT}"'):
        parameters.parameter("/p", max_age=0)
    assert len(adapter.sent) == 3


def test_attempts_fit_the_invocations_deadline() -> None:
    clients = AwsClients()
    parameters, adapter, waits = store(error(400, "ThrottlingException"), value("v"), clients=clients)
    with clients.calls_within(Deadline.after(1.2)), pytest.raises(SSMError, match="ThrottlingException"):
        parameters.parameter("/p", max_age=0)  # a budget of 1 s: no room for a second attempt
    assert len(adapter.sent) == 1 and waits == []
    (connect, read) = adapter.timeouts[0]  # type: ignore[misc]
    assert connect + read <= 1.0


def test_too_little_time_left_makes_no_request() -> None:
    clients = AwsClients()
    parameters, adapter, _ = store(value("v"), clients=clients)
    with clients.calls_within(Deadline.after(0.2)), pytest.raises(SSMError, match="not attempted") as raised:
        parameters.parameter("/p", max_age=0)
    assert raised.value.code == "OutOfTime" and adapter.sent == []


def test_an_answer_past_the_size_limit_is_not_read_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ssm, "MAX_ANSWER_BYTES", 100_000)
    parameters, adapter, _ = store(Reply(200, b" " * 10_000_000))
    with pytest.raises(SSMError, match="over 100000 bytes"):
        parameters.parameter("/p", max_age=0)
    assert len(adapter.sent) == 1
    assert adapter.last_body.taken <= 100_000 + ssm._CHUNK_BYTES


@pytest.mark.parametrize("body", [b"not json", b"[1]", b'{"Parameter": {"Value": 3}}'])
def test_an_answer_that_is_no_ssm_answer_is_an_error(body: bytes) -> None:
    parameters, _, _ = store(Reply(200, body))
    with pytest.raises(SSMError) as raised:
        parameters.parameter("/p", max_age=0)
    assert raised.value.code == "InvalidAnswer"


def test_without_credentials_in_the_environment_botocores_chain_gives_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    shared = tmp_path / "credentials"
    shared.write_text("[default]\naws_access_key_id = AKIDFROMFILE\naws_secret_access_key = s\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(shared))
    parameters, adapter, _ = store(value("v"))
    assert parameters.parameter("/p", max_age=0) == "v"
    assert "Credential=AKIDFROMFILE/" in adapter.sent[0].headers["Authorization"]


def test_without_any_credentials_botocores_error_is_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setattr("botocore.credentials.InstanceMetadataProvider.load", lambda self: None)
    monkeypatch.setattr("botocore.credentials.ContainerProvider.load", lambda self: None)
    parameters, adapter, _ = store(value("v"))
    with pytest.raises(NoCredentialsError):
        parameters.parameter("/p", max_age=0)
    assert adapter.sent == []


def test_the_endpoint_is_the_environments_for_ssm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", "http://127.0.0.1:5000")
    parameters, adapter, _ = store(value("v"))
    parameters.parameter("/p", max_age=0)
    assert adapter.sent[0].url == "http://127.0.0.1:5000/"
