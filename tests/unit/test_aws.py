"""AWS calls bounded by their deadline: budgets, per-attempt timeouts and the retry veto (no
network: tests/functional/test_aws_deadlines.py makes real calls to endpoints that never answer)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from scrape_push import aws
from scrape_push.deadline import Deadline

CLIENTS = aws.AwsClients()
"""The runtime's clients (one set for the module: what is tested is how they are chosen)."""


@pytest.mark.parametrize("budget", aws.BUDGETS_SECONDS)
def test_an_attempt_fits_its_budget_and_never_takes_more_than_the_defaults(budget: float) -> None:
    bounds = aws.bounds_for(budget)
    assert 0 < bounds.connect_timeout < bounds.read_timeout
    assert bounds.attempt_seconds <= (budget / 2 if budget >= aws.RETRY_ROOM_SECONDS else budget)
    assert bounds.connect_timeout <= aws.CONNECT_TIMEOUT_SECONDS
    assert bounds.read_timeout <= aws.READ_TIMEOUT_SECONDS


def test_without_a_deadline_calls_keep_botocores_defaults() -> None:
    assert CLIENTS.budget_for(None) is None
    assert aws.bounds_for(None) == aws.CallBounds(None, aws.CONNECT_TIMEOUT_SECONDS, aws.READ_TIMEOUT_SECONDS)


@pytest.mark.parametrize(
    ("left", "budget"), [(1.0, 1.0), (1.9, 1.0), (5.0, 4.0), (31.0, 16.0), (600.0, 32.0)]
)
def test_the_budget_is_the_largest_that_fits_the_time_left(left: float, budget: float) -> None:
    assert CLIENTS.budget_for(Deadline.after(left + 0.05)) == budget


def test_a_call_with_less_than_half_a_second_left_is_not_made() -> None:
    with pytest.raises(aws.OutOfTime, match="not attempted"):
        CLIENTS.client("cloudwatch", deadline=Deadline.after(0.4))


def test_the_invocations_deadline_bounds_calls_without_one_and_shortens_those_with_one() -> None:
    with CLIENTS.calls_within(Deadline.after(2.5)):
        assert CLIENTS.budget_for(None) == 2.0
        assert CLIENTS.budget_for(Deadline.after(60.0)) == 2.0
        assert CLIENTS.budget_for(Deadline.after(1.5)) == 1.0
        assert CLIENTS.budget_for(Deadline.after(0.75)) == 0.5
    assert CLIENTS.budget_for(None) is None


def test_clients_are_shared_per_service_region_and_budget() -> None:
    first = CLIENTS.client("s3", deadline=Deadline.after(5.0))
    assert CLIENTS.client("s3", deadline=Deadline.after(6.0)) is first
    assert CLIENTS.client("s3", deadline=Deadline.after(9.0)) is not first
    assert CLIENTS.client("s3", "eu-west-1", deadline=Deadline.after(5.0)) is not first
    assert first.meta.config.read_timeout == aws.bounds_for(4.0).read_timeout


def context_until(seconds: float) -> dict[str, object]:
    return {"context": {"scrape_push_until": time.monotonic() + seconds}}


def test_a_retry_is_made_only_when_its_backoff_and_a_whole_attempt_still_fit() -> None:
    # 1 s of backoff at most after the first attempt, then an attempt of 2 s
    assert aws._veto_retry(2.0, attempts=1, request_dict=context_until(10.0)) is None
    assert aws._veto_retry(2.0, attempts=1, request_dict=context_until(2.5)) is False
    # after the second attempt botocore may wait 2 s
    assert aws._veto_retry(2.0, attempts=2, request_dict=context_until(3.5)) is False


def test_an_answer_asking_to_retry_later_counts_its_extra_wait() -> None:
    answer = SimpleNamespace(headers={"x-amz-retry-after": "5000"})
    assert aws._veto_retry(2.0, attempts=1, request_dict=context_until(4.0)) is None
    assert aws._veto_retry(2.0, attempts=1, request_dict=context_until(4.0), response=(answer, {})) is False


def test_a_call_without_a_budget_leaves_retries_to_botocore() -> None:
    assert aws._veto_retry(2.0, attempts=2, request_dict={"context": {}}) is None


def test_clients_with_other_credentials_are_bounded_by_the_same_invocation() -> None:
    own = CLIENTS.with_credentials("AKIAOTHER", "other-secret", None)
    assert own.session().get_credentials().access_key == "AKIAOTHER"
    assert own.scope is None
    with CLIENTS.calls_within(Deadline.after(2.5)):
        assert own.scope is CLIENTS.scope is not None
        assert own.budget_for(None) == 2.0


def test_an_endpoint_gets_clients_of_its_own() -> None:
    elsewhere = CLIENTS.client("ecs", "eu-west-1", endpoint="http://127.0.0.1:4566")
    assert elsewhere.meta.endpoint_url == "http://127.0.0.1:4566"
    assert CLIENTS.client("ecs", "eu-west-1", endpoint="http://127.0.0.1:4566") is elsewhere
    assert CLIENTS.client("ecs", "eu-west-1") is not elsewhere
