"""The memory budget: own slices nobody can take, a shared rest, one clear line when short."""

from __future__ import annotations

import pytest
from scrape_push.budget import (
    BASELINE_MB,
    DEFAULT_MEMORY_MB,
    MIB,
    BudgetExceeded,
    MemoryBudget,
    memory_of,
)


def test_a_hostile_party_takes_the_shared_rest_but_never_another_slice() -> None:
    budget = MemoryBudget.plan(512, concurrency=4, targets=10)
    pool = budget.scrapes
    hostile, healthy = budget.scrape_account(), budget.scrape_account()
    with pytest.raises(BudgetExceeded):
        hostile.charge(pool.slice + pool.shared + 1, "reading the body")
    hostile.charge(pool.slice + pool.shared, "reading the body")  # all it may ever have
    healthy.charge(pool.slice, "reading the body")  # its own slice is still there
    with pytest.raises(BudgetExceeded):
        healthy.charge(1, "parsing")
    hostile.release()
    healthy.charge(pool.shared, "parsing")  # what the hostile one gave back


def test_one_party_alone_may_use_almost_all_of_its_pool() -> None:
    budget = MemoryBudget.plan(1024, concurrency=16, targets=1)
    account = budget.scrape_account()
    account.charge(budget.scrapes.total, "reading the body")
    assert budget.scrapes.parties == 1


def test_the_message_names_the_budget() -> None:
    budget = MemoryBudget.plan(256, concurrency=2, targets=2)
    account = budget.scrape_account()
    with pytest.raises(BudgetExceeded) as raised:
        account.charge(budget.scrapes.total, "reading the body")
    message = str(raised.value)
    assert message.startswith("memory budget exceeded while reading the body: ")
    assert "shared by 2 concurrent scrapes (function memory 256 MB; see docs/scaling.md)" in message


def test_sizes_come_from_the_context_with_a_default_and_a_floor() -> None:
    class Context:
        memory_limit_in_mb = "1024"

    assert memory_of(Context()) == 1024 and memory_of(object()) is None
    default = MemoryBudget.plan(None, 16, 16)
    assert default.memory_mb == DEFAULT_MEMORY_MB
    assert default.scrapes.total + default.retained.total == (DEFAULT_MEMORY_MB - BASELINE_MB) * MIB
    tiny = MemoryBudget.plan(128, 16, 16)
    assert tiny.scrapes.total + tiny.retained.total > 0
