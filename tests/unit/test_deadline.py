from __future__ import annotations

from scrape_push.deadline import SAFETY_MARGIN_SECONDS, Deadline


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_deadline_counts_down_and_bounds_waits() -> None:
    clock = FakeClock()
    deadline = Deadline.after(10.0, clock)
    assert deadline.remaining() == 10.0
    assert deadline.bound(3.0) == 3.0
    clock.now += 8.0
    assert deadline.bound(3.0) == 2.0
    assert not deadline.expired()
    clock.now += 5.0
    assert deadline.remaining() == 0.0
    assert deadline.expired()


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def test_deadline_from_lambda_context_keeps_a_safety_margin() -> None:
    remaining = Deadline.from_context(Context()).remaining()
    assert 30.0 - SAFETY_MARGIN_SECONDS - 1.0 < remaining <= 30.0 - SAFETY_MARGIN_SECONDS
