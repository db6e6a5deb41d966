"""The cycle's turn (``turns``): one holder, handed over in the order asked, shared after a slice,
and no wait for it past the scrape's deadline."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from scrape_push.guard import Aborted
from scrape_push.turns import TURN_SLICE_SECONDS, Turn, Turns, free

WAIT_SECONDS = 10.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def turn(turns: Turns, clock: Callable[[], float], due: float = 1e9) -> Turn:
    return Turn(turns, clock, lambda: due)


def until(condition: Callable[[], bool]) -> None:
    """Wait for another thread to reach ``condition`` (it blocks there), within WAIT_SECONDS."""
    reached = threading.Event()
    for _ in range(int(WAIT_SECONDS * 1000)):
        if condition():
            return
        reached.wait(0.001)
    raise AssertionError("the other thread never got there")


def queue(turns: Turns, name: str, order: list[str], clock: Callable[[], float]) -> threading.Thread:
    """A thread that waits for the turn (queued when this returns), notes ``name``, gives it."""

    def run() -> None:
        mine = turn(turns, clock)
        mine.take()
        order.append(name)
        mine.give()

    before = turns.waiting()
    thread = threading.Thread(target=run)
    thread.start()
    until(lambda: turns.waiting() > before)
    return thread


def test_waiters_get_the_turn_in_the_order_they_asked_and_the_giver_cannot_barge_back() -> None:
    turns, clock, order = Turns(), Clock(), []
    holder = turn(turns, clock)
    holder.take()
    threads = [queue(turns, name, order, clock) for name in ("a", "b", "c")]
    holder.give()
    holder.take()  # behind the three
    order.append("holder")
    holder.give()
    for thread in threads:
        thread.join(WAIT_SECONDS)
    assert order == ["a", "b", "c", "holder"]
    assert turns.waiting() == 0


def test_the_turn_is_shared_only_after_a_slice_and_only_with_a_waiter() -> None:
    turns, clock, order = Turns(), Clock(), []
    holder = turn(turns, clock)
    holder.take()
    holder.share()  # nobody waits: kept
    waiter = queue(turns, "waiter", order, clock)
    clock.now += TURN_SLICE_SECONDS / 2
    holder.share()  # within its slice: kept
    assert order == [] and holder.held
    clock.now += TURN_SLICE_SECONDS
    holder.share()  # handed over, and back once the waiter gave it
    order.append("holder")
    waiter.join(WAIT_SECONDS)
    assert order == ["waiter", "holder"] and holder.held
    holder.give()
    assert not holder.held


def test_a_wait_for_the_turn_ends_at_the_deadline_and_leaves_the_queue() -> None:
    turns = Turns()
    holder = turn(turns, Clock())
    holder.take()
    late = turn(turns, lambda: 5.0, due=5.0)  # its deadline has come
    with pytest.raises(Aborted):
        late.take()
    assert not late.held and turns.waiting() == 0
    holder.give()
    again = turn(turns, Clock())
    again.take()  # the turn was let go, not handed to the scrape that stopped waiting
    assert again.held


def test_away_gives_the_turn_for_the_block_and_takes_it_back() -> None:
    turns, clock, order = Turns(), Clock(), []
    holder = turn(turns, clock)
    holder.take()
    waiter = queue(turns, "waiter", order, clock)
    with holder.away():
        waiter.join(WAIT_SECONDS)
        assert order == ["waiter"] and not holder.held
    assert holder.held
    holder.give()


def test_a_turn_of_no_cycle_never_waits() -> None:
    loose = free()
    loose.take()
    loose.share()
    with loose.away():
        pass
    loose.give()
    assert not loose.held
