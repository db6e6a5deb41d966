from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from scrape_push.pipeline import FREEZE_MIN_SURVIVORS, FreezeGate, gc_paused


@pytest.fixture(autouse=True)
def nothing_frozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_a_new_warm_state_is_frozen_instead_of_scanned() -> None:
    gate = FreezeGate()
    with gc_paused(gate):
        assert not gc.isenabled()
        kept = [[index] for index in range(2 * FREEZE_MIN_SURVIVORS)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(kept) and gate.frozen
    assert gc.get_count()[0] < FREEZE_MIN_SURVIVORS  # nothing left for a young collection to walk


def test_what_a_warm_invocation_keeps_is_left_to_the_collector() -> None:
    gate = FreezeGate()
    with gc_paused(gate):
        kept = [[index] for index in range(10)]
    assert kept and gc.get_freeze_count() == 0 and not gate.frozen


def test_only_one_state_is_frozen_at_a_time() -> None:
    gate = FreezeGate()
    with gc_paused(gate):
        first = [[index] for index in range(2 * FREEZE_MIN_SURVIVORS)]
    frozen = gc.get_freeze_count()
    with gc_paused(gate):
        second = [[index] for index in range(2 * FREEZE_MIN_SURVIVORS)]
    assert first and second and gc.get_freeze_count() == frozen


def test_a_cycle_on_its_own_freezes_nothing() -> None:
    with gc_paused():
        kept = [[index] for index in range(2 * FREEZE_MIN_SURVIVORS)]
    assert kept and gc.get_freeze_count() == 0 and gc.isenabled()


def test_a_warm_invocation_never_walks_the_frozen_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """``gc.get_freeze_count`` walks every frozen object (20 ms for a 100,000-series state)."""
    gate = FreezeGate()
    with gc_paused(gate):
        kept = [[index] for index in range(2 * FREEZE_MIN_SURVIVORS)]
    walks: list[int] = []
    monkeypatch.setattr(gc, "get_freeze_count", lambda: walks.append(1) or 1)
    with gc_paused(gate):
        more = [[index] for index in range(10)]
    assert kept and more and walks == []


def test_a_warm_state_is_frozen_though_the_imports_are_frozen_already() -> None:
    """``app.py`` freezes what the imports made before the first invocation: the gate, not the
    freeze count, says whether the warm state is frozen."""
    imports = [[index] for index in range(100)]
    gc.freeze()
    gate = FreezeGate()
    with gc_paused(gate):
        kept = [[index] for index in range(2 * FREEZE_MIN_SURVIVORS)]
    assert imports and kept and gate.frozen
    assert gc.get_freeze_count() >= len(imports) + len(kept)
