"""The Watch: each scrape cut at its own deadline, and the waiter woken only when that matters."""

from __future__ import annotations

import threading
import time
from typing import Any

from scrape_push.guard import Guard, Watch
from scrape_push.reach import Reach

TOTAL = 100


class Cut(Guard):
    """A guard that tells when the watch cut it."""

    def __init__(self, due: float) -> None:
        super().__init__(due, Reach("http://127.0.0.1:9/metrics"), proxied=False)
        self.cut = threading.Event()

    def abort(self) -> None:
        super().abort()
        self.cut.set()


def waiting(watch: Watch, total: int, stop: float) -> tuple[threading.Thread, threading.Semaphore, list[Any]]:
    """The waiter in a thread of its own, and a semaphore released each time it goes to sleep."""
    asleep, result = threading.Semaphore(0), []
    wait = watch._changed.wait

    def counted(timeout: float | None = None) -> bool:
        asleep.release()
        return wait(timeout)

    watch._changed.wait = counted  # type: ignore[method-assign]
    thread = threading.Thread(target=lambda: result.append(watch.until(total, stop)), daemon=True)
    thread.start()
    return thread, asleep, result


def test_a_fleet_of_quick_scrapes_does_not_wake_the_waiter_until_the_last_is_done() -> None:
    watch = Watch()
    notified = []
    notify = watch._changed.notify_all

    def counted() -> None:
        notified.append(1)
        notify()

    now = time.monotonic()
    thread, asleep, result = waiting(watch, TOTAL + 1, now + 60)
    assert asleep.acquire(timeout=10)
    first = Cut(now + 30)
    watch.started(first)  # earlier than the waiter's stop: it wakes to wait for this one
    assert asleep.acquire(timeout=10)
    watch._changed.notify_all = counted  # type: ignore[method-assign]
    for number in range(TOTAL):  # each due after the first's, done before it
        guard = Cut(now + 31 + number)
        watch.started(guard)
        watch.done(guard)
    assert notified == []  # each woke the waiter twice before
    watch.done(first)
    thread.join(10)
    assert not thread.is_alive() and result == [set()]
    assert notified == [1]


def test_a_scrape_due_before_the_waiter_would_wake_is_still_cut_at_its_deadline() -> None:
    watch = Watch()
    now = time.monotonic()
    late = Cut(now + 60)
    watch.started(late)
    thread, asleep, _ = waiting(watch, 2, now + 120)
    assert asleep.acquire(timeout=10)
    early = Cut(time.monotonic() - 1)  # due already; the waiter sleeps until the first one's
    watch.started(early)
    assert early.cut.wait(10)
    assert not late.cut.is_set()
    watch.done(early)
    watch.done(late)
    thread.join(10)
    assert not thread.is_alive()
