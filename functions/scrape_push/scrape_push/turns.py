"""The cycle's one turn at the interpreter: which scrape thread runs Python now.

A cycle's scrapes run on up to ``runtime.max_concurrent_scrapes`` threads so that their waits on
the network overlap; their Python cannot (the GIL). With many of them runnable, every socket
call that lets the GIL go hands it to another thread: a context switch, and that scrape's
parser state and series cache brought back into cold CPU caches. On a fleet of fast targets,
16 threads spent a third more CPU a sample than one did (docs/performance.md, rounds 11-12).

So a scrape takes its cycle's turn before it works and keeps it while its socket has bytes for
it; it gives the turn up only while it waits (``Turn.away``): for a connection, for the next
bytes of the answer, or through the requests path, whose waits are in code of its own. One
scrape thread runs at a time, the others wait for their sockets or for the turn, off the GIL.

The turn is fair. Scrapes waiting for it get it in the order they asked (a lock alone would let
the thread that lets it go take it straight back); and a scrape that has held it for
``TURN_SLICE_SECONDS`` (a huge body, read or parsed) hands it to the first of them at its next
chunk (``Turn.share``) and queues behind the others, so no target holds up another's scrape for
longer than the interpreter's own switch interval would. A wait for the turn ends at the
scrape's deadline (``Aborted``, as the watch's cut would); each cycle has turns of its own, so a
scrape abandoned at a deadline cannot hold up the next cycle.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .guard import Aborted, Guard

# How long a scrape may keep the turn while others wait, at most (between two chunks of its
# body); the interpreter's own switch interval (sys.getswitchinterval()).
TURN_SLICE_SECONDS = 0.005


class Turns:
    """One cycle's turn, shared by its scrapes: held by at most one, handed over in FIFO order."""

    __slots__ = ("_held", "_mutex", "_waiting")

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiting: deque[threading.Lock] = deque()

    def turn(self, guard: Guard) -> Turn:
        """The hold of the scrape under ``guard`` on the turn (not held yet)."""
        return Turn(self, guard.clock, lambda: guard.due)

    def acquire(self, due: float, clock: Callable[[], float]) -> bool:
        """Wait for the turn, behind those waiting already, until ``due``: whether it came."""
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            baton = _baton()
            self._waiting.append(baton)
        return self._await(baton, due, clock)

    def release(self) -> None:
        """Hand the turn to the first scrape waiting, or let it go."""
        with self._mutex:
            if self._waiting:
                self._waiting.popleft().release()
            else:
                self._held = False

    def waiting(self) -> int:
        """How many scrapes wait for the turn (read without the mutex: a hint)."""
        return len(self._waiting)

    def pass_on(self, due: float, clock: Callable[[], float]) -> bool:
        """Hand the held turn to the first scrape waiting and wait behind the rest, until ``due``:
        whether it came back (at once when none waits)."""
        with self._mutex:
            if not self._waiting:
                return True
            baton = _baton()
            self._waiting.popleft().release()
            self._waiting.append(baton)
        return self._await(baton, due, clock)

    def _await(self, baton: threading.Lock, due: float, clock: Callable[[], float]) -> bool:
        if baton.acquire(timeout=max(0.0, due - clock())):
            return True
        with self._mutex:
            if baton in self._waiting:
                self._waiting.remove(baton)
                return False
        baton.acquire()  # handed over while the wait ended: it is held, released already
        return True


def _baton() -> threading.Lock:
    """A waiter's own lock, held until the turn is handed over to it (``release``)."""
    baton = threading.Lock()
    baton.acquire()
    return baton


class Turn:
    """One scrape's hold on its cycle's turn; used by that scrape's thread alone."""

    __slots__ = ("_clock", "_due", "_since", "_turns", "held")

    def __init__(self, turns: Turns | None, clock: Callable[[], float], due: Callable[[], float]) -> None:
        self._turns = turns
        self._clock = clock
        self._due = due
        self._since = 0.0
        self.held = False

    def take(self) -> None:
        """Wait for the turn, unless it is held already; ``Aborted`` at the scrape's deadline."""
        if self.held or self._turns is None:
            return
        if not self._turns.acquire(self._due(), self._clock):
            raise Aborted
        self.held = True
        self._since = self._clock()

    def give(self) -> None:
        """Let the turn go, if it is held."""
        if self.held:
            self.held = False
            assert self._turns is not None
            self._turns.release()

    def share(self) -> None:
        """Between two chunks of work: once the turn has been held for ``TURN_SLICE_SECONDS``
        and another scrape waits, hand it over and wait for it again (``Aborted`` at the
        deadline)."""
        turns = self._turns
        if not self.held or turns is None or not turns.waiting():
            return
        if self._clock() - self._since < TURN_SLICE_SECONDS:
            return
        self.held = False
        if not turns.pass_on(self._due(), self._clock):
            raise Aborted
        self.held = True
        self._since = self._clock()

    @contextmanager
    def away(self) -> Iterator[None]:
        """Give the turn up for the block (a wait), and take it back after it, if it was held."""
        held = self.held
        self.give()
        try:
            yield
        finally:
            if held:
                self.take()


def free() -> Turn:
    """A turn of no cycle, which never waits (a GET outside a cycle's scrapes)."""
    return Turn(None, lambda: 0.0, lambda: 0.0)
