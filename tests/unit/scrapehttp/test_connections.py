"""The idle connections kept between scrapes: per host most recent first, bounded in hosts and
per host, one the target closed while idle never handed out."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from scrape_push.scrapehttp.connections import Connections

A, B, C = ("a", 1), ("b", 1), ("c", 1)


@pytest.fixture
def pairs() -> Iterator[list[tuple[socket.socket, socket.socket]]]:
    made: list[tuple[socket.socket, socket.socket]] = []
    yield made
    for ours, theirs in made:
        ours.close()
        theirs.close()


def pair(made: list[tuple[socket.socket, socket.socket]]) -> socket.socket:
    """Our end of a connected pair (no network); the other end stays open in ``made``."""
    ours, theirs = socket.socketpair()
    made.append((ours, theirs))
    return ours


def test_the_most_recently_kept_connection_is_handed_out_first(
    pairs: list[tuple[socket.socket, socket.socket]],
) -> None:
    kept = Connections(hosts=2, per_host=2)
    first, second = pair(pairs), pair(pairs)
    kept.give(A, first)
    kept.give(A, second)
    assert kept.take(A) is second and kept.take(A) is first and kept.take(A) is None
    assert kept.take(B) is None


def test_past_the_per_host_bound_a_connection_is_closed(
    pairs: list[tuple[socket.socket, socket.socket]],
) -> None:
    kept = Connections(hosts=2, per_host=1)
    first, second = pair(pairs), pair(pairs)
    kept.give(A, first)
    kept.give(A, second)
    assert second.fileno() == -1 and kept.take(A) is first


def test_past_the_host_bound_the_least_recently_used_host_is_let_go(
    pairs: list[tuple[socket.socket, socket.socket]],
) -> None:
    kept = Connections(hosts=2, per_host=2)
    on_a, on_b, on_c = pair(pairs), pair(pairs), pair(pairs)
    kept.give(A, on_a)
    kept.give(B, on_b)
    assert kept.take(A) is on_a  # A is now the most recently used
    kept.give(A, on_a)
    kept.give(C, on_c)  # a third host: B goes
    assert on_b.fileno() == -1 and kept.take(B) is None
    assert kept.take(A) is on_a and kept.take(C) is on_c


def test_a_connection_the_target_closed_while_idle_is_closed_not_handed_out(
    pairs: list[tuple[socket.socket, socket.socket]],
) -> None:
    kept = Connections(hosts=2, per_host=2)
    stale, fresh = pair(pairs), pair(pairs)
    kept.give(A, fresh)
    kept.give(A, stale)
    pairs[0][1].close()  # the target's end of ``stale``
    assert kept.take(A) is fresh and stale.fileno() == -1


def test_a_connection_with_bytes_nobody_asked_for_is_not_handed_out(
    pairs: list[tuple[socket.socket, socket.socket]],
) -> None:
    kept = Connections(hosts=2, per_host=2)
    chatty = pair(pairs)
    kept.give(A, chatty)
    pairs[0][1].sendall(b"HTTP/1.1 200 OK\r\n")
    assert kept.take(A) is None and chatty.fileno() == -1


def test_close_closes_every_idle_connection(pairs: list[tuple[socket.socket, socket.socket]]) -> None:
    kept = Connections(hosts=2, per_host=2)
    socks = [pair(pairs) for _ in range(3)]
    kept.give(A, socks[0])
    kept.give(A, socks[1])
    kept.give(B, socks[2])
    kept.close()
    assert [s.fileno() for s in socks] == [-1] * 3 and kept.take(A) is None
